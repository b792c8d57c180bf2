"""The project's own 404 and 403 pages with DEBUG on too.

With DEBUG on (`make demo`), Django answers a missing or forbidden page with its English
technical page, which lists the site's URL patterns: what unit staff would see opening
another unit's record. Those answers are a user's, not a developer's, so they get the
Vietnamese pages (templates 404.html, 403.html) whatever DEBUG says; a crash (500) keeps
Django's debug page.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import Resolver404, resolve
from django.views import defaults


class ErrorPagesMiddleware:
    """Answer Http404 and PermissionDenied with the project's pages when DEBUG is on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG:
            # A path no URL pattern matches fails before any view, where process_exception
            # never sees it.
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exception:
                return defaults.page_not_found(request, exception)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG:
            return None
        if isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return defaults.permission_denied(request, exception)
        return None
