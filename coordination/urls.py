from django.urls import path

from coordination import views

app_name = "coordination"

urlpatterns = [
    path("files/<path:path>", views.agreement_scan, name="agreement-scan"),
    path("records/", views.records_index, name="records"),
    path("records/outstanding/", views.outstanding, name="outstanding"),
    path("records/report/", views.report, name="report"),
    path("records/<slug:kind>/", views.record_list, name="record-list"),
    path("records/<slug:kind>/export/", views.record_export, name="record-export"),
    path("records/<slug:kind>/<int:pk>/", views.record_detail, name="record-detail"),
]
