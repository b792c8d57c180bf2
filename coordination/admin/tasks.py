"""Admin page of tasks, with the bulk action marking them done."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from coordination import scoping, services
from coordination.admin.actions import report_result
from coordination.admin.base import HistoryAdmin, RecordAdmin, days_overdue
from coordination.admin.filters import (
    OutstandingLinks,
    OverdueLinks,
    UnitLinks,
    UnitRoleLinks,
    YearLinks,
    choice_links,
)
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.choices import TaskStatus
from coordination.models import Task


@admin.register(Task)
class TaskAdmin(SpreadsheetAdminMixin, HistoryAdmin, RecordAdmin):
    list_display = [
        "__str__",
        "year",
        "agreement_number",
        "lead_unit",
        "due_date",
        "status",
        "progress",
        days_overdue,
    ]
    list_filter = [
        YearLinks,
        OutstandingLinks,
        OverdueLinks,
        choice_links("status", _("status"), TaskStatus.choices),
        UnitLinks,
        UnitRoleLinks,
        "agreement__kind",
    ]
    # No date hierarchy: on a large table it costs two full scans on every page (MIN/MAX
    # and the distinct years of the due date); year links and due_after/due_before remain.
    autocomplete_fields = [
        "agreement",
        "lead_unit",
        "coordinating_units",
        "assignee",
        "meeting",
        "repeats",
        "carried_over_from",
    ]
    actions = ["mark_done"]

    @admin.display(description=_("agreement number"), ordering="agreement__number")
    def agreement_number(self, obj):
        return obj.agreement.number

    @admin.action(description=_("Mark selected tasks done (today)"), permissions=["change"])
    def mark_done(self, request, queryset):
        result = services.task_mark_done(
            tasks=scoping.changeable_by(queryset, request.user), user=request.user
        )
        report_result(
            self,
            request,
            result,
            lambda n: ngettext("%(n)d task marked done.", "%(n)d tasks marked done.", n) % {"n": n},
            lambda n: (
                ngettext(
                    "%(n)d task was already done or cancelled and was left unchanged.",
                    "%(n)d tasks were already done or cancelled and were left unchanged.",
                    n,
                )
                % {"n": n}
            ),
        )
