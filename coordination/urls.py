from django.urls import path

from coordination import views

app_name = "coordination"

urlpatterns = [
    path("files/<path:path>", views.agreement_scan, name="agreement-scan"),
]
