from django.urls import path

from coordination import job_views, report_views, views

app_name = "coordination"

urlpatterns = [
    path("", views.home, name="home"),
    path("files/<path:path>", views.agreement_scan, name="agreement-scan"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<int:pk>/", job_views.job_page, name="job"),
    path("jobs/<int:pk>/status/", job_views.job_status, name="job-status"),
    path("jobs/<int:pk>/download/", job_views.job_download, name="job-download"),
    path("records/", views.records_index, name="records"),
    path("records/outstanding/", views.outstanding, name="outstanding"),
    path("records/my-work/", views.my_work, name="my-work"),
    path("records/my-work/reminders/", views.reminder_preference, name="reminder-preference"),
    path("records/report/", report_views.report, name="report"),
    path("records/report/issued/", report_views.issued_report_list, name="issued-reports"),
    path("records/report/issued/<int:pk>/", report_views.issued_report, name="issued-report"),
    path("records/<slug:kind>/", views.record_list, name="record-list"),
    path("records/<slug:kind>/export/", views.record_export, name="record-export"),
    path("records/<slug:kind>/<int:pk>/", views.record_detail, name="record-detail"),
]
