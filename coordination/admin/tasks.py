"""Admin page of tasks, with the bulk action marking them done."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from coordination import scoping, services
from coordination.admin.actions import report_result
from coordination.admin.base import HistoryAdmin, RecordAdmin, days_overdue, unit_column
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
    # The columns a person needs at 1366 px, none behind a sideways scroll: the agreement's
    # number goes under the task's content.
    list_display = [
        "task",
        "year",
        unit_column("lead_unit", _("lead unit")),
        "due_date",
        "status",
        "progress",
        days_overdue,
    ]
    list_filter = [
        YearLinks,
        UnitLinks,
        UnitRoleLinks,
        OutstandingLinks,
        OverdueLinks,
        choice_links("status", _("status"), TaskStatus.choices),
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

    @admin.display(description=_("task"), ordering="content")
    def task(self, obj):
        return format_html('{}<span class="under">{}</span>', obj, obj.agreement.number)

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
