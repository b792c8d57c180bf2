"""The admin site: Vietnamese headings and models grouped in the order people work."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


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
    ]

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
