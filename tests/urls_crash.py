"""The project's URLs plus one view that crashes, for the error page test."""

from django.urls import path

from config.urls import urlpatterns as project_urls


def crash(request):
    raise RuntimeError("boom: SECRET_KEY and settings must never reach the page")


urlpatterns = [path("crash/", crash), *project_urls]
