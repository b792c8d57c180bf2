"""Admin page of meetings, with the follow-up items they raised inline."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from coordination.admin.base import RecordAdmin, ScopedInline
from coordination.admin.filters import UnitLinks, choice_links
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.choices import MeetingKind
from coordination.models import FollowUp, Meeting


class FollowUpInline(ScopedInline):
    model = FollowUp
    fk_name = "meeting"
    extra = 0
    show_change_link = True
    autocomplete_fields = ["responsible_unit"]
    fields = ["kind", "year", "content", "responsible_unit", "due_date", "status", "resolved_on"]


@admin.register(Meeting)
class MeetingAdmin(SpreadsheetAdminMixin, RecordAdmin):
    list_display = ["title", "kind", "held_on", "venue", "period_from_year", "period_to_year"]
    list_filter = [
        UnitLinks,
        choice_links("kind", _("kind"), MeetingKind.choices),
    ]
    date_hierarchy = "held_on"
    autocomplete_fields = ["agreements", "co_chairs", "attending_units"]
    inlines = [FollowUpInline]
