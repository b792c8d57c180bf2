"""The admin site: Vietnamese headings, models grouped in the order people work, and URL
parameters checked the same way on every admin page."""

import functools

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView
from django.core.exceptions import BadRequest, FieldDoesNotExist, ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from coordination.admin.filters import CheckedChangeList
from coordination.filters import check_value, validate_search
from coordination.reminders import landing_url


class CheckedParametersMixin:
    """What a URL can carry to any admin of the site, checked before the database sees it
    (`coordination.filters.check_value`, `validate_search`): a hostile value answers as an
    invalid or missing one does, never with a server error.

    - the list's lookups and search: `CheckedChangeList` (redirect to `?e=1`);
    - the autocomplete's term: 400;
    - an object id in the path (change, delete, history): "doesn't exist", as Django says
      for any id it cannot find; `?_to_field=` empty means the primary key;
    - the add page's initial values (`?agreement=…`): one that names no possible record is
      left out, as the autocomplete widget would look it up;
    - the records a list's action is posted for (`_selected_action`): 400 unless each is a
      possible id (the list's checkboxes never send anything else).
    """

    def get_changelist(self, request, **kwargs):
        return CheckedChangeList

    def get_search_results(self, request, queryset, search_term):
        try:
            check_value(search_term)
            validate_search(search_term)
        except ValidationError as error:
            raise IncorrectLookupParameters(error) from error
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request, object_id, from_field=None):
        try:
            check_value(object_id)
        except ValidationError:
            return None
        return super().get_object(request, object_id, from_field or None)

    def response_action(self, request, queryset):
        pk = self.opts.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                check_value(value, pk)
        except ValidationError as error:
            raise BadRequest(error) from error
        return super().response_action(request, queryset)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                model_field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            try:
                for item in value if isinstance(value, list) else [value]:
                    check_value(item, model_field)
            except ValidationError:
                del initial[name]
        return initial


class LandingLoginView(LoginView):
    """The admin's login, landing where the user's role works (`reminders.landing_url`)
    when no page of the site was asked for."""

    def get_default_redirect_url(self):
        return landing_url(self.request.user)


class CoordinationAdminSite(admin.AdminSite):
    site_header = _("Coordination records")
    site_title = _("Coordination records")
    index_title = _("Coordination work management")
    # "View site" in the header opens the read-only pages for auditors (coordination.urls).
    site_url = "/records/"
    # Lists of long Vietnamese texts need the width more than a second menu.
    enable_nav_sidebar = False

    # The index lists these sections first, in this order, then the other apps (users...).
    sections = [
        (_("Units and people"), ["unit", "person"]),
        (_("Coordination agreements"), ["agreement", "signatory", "indicator"]),
        (_("Meetings"), ["meeting"]),
        (_("Tasks"), ["task"]),
        (_("Follow-up items"), ["followup"]),
        (_("Reports"), ["issuedreport", "reporttemplate"]),
    ]

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model's admin, ours or another app's (users, login attempts), reads its
        URL parameters through `CheckedParametersMixin`."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, CheckedParametersMixin):
            admin_class = type(
                admin_class.__name__,
                (CheckedParametersMixin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        """Django's admin login, but a login without `next` lands on the user's page, not
        always on the admin's index (Django fills `next` with the index itself)."""
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(landing_url(request.user))
        from django.contrib.admin.forms import AdminAuthenticationForm

        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            **(extra_context or {}),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = ""
        request.current_app = self.name
        return LandingLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
        )(request)

    def autocomplete_view(self, request):
        try:
            return super().autocomplete_view(request)
        except IncorrectLookupParameters as error:
            raise BadRequest(error) from error

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label:
            return app_list
        grouped = []
        for app in app_list:
            if app["app_label"] != "coordination":
                continue
            by_name = {model["object_name"].lower(): model for model in app["models"]}
            for title, names in self.sections:
                models = [by_name[name] for name in names if name in by_name]
                if models:
                    grouped.append({**app, "name": title, "models": models})
        return grouped + [app for app in app_list if app["app_label"] != "coordination"]


@functools.cache
def coordination_site() -> CoordinationAdminSite:
    """The admin site (`CoordinationAdminConfig.default_site`): one instance, however often
    Django asks for it.

    Django builds `admin.site` by importing this module, which runs the package's `__init__`
    first; the modules it imports register their pages on `admin.site`, which then builds
    itself from within. Named by its class, the site would be built twice and the pages would
    land on the one Django throws away.
    """
    return CoordinationAdminSite()
