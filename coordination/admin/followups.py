"""Admin page of follow-up items, with the bulk actions resolving and carrying them over."""

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
from coordination.choices import FollowUpKind, FollowUpStatus
from coordination.concurrency import VersionedForm
from coordination.models import FollowUp
from coordination.models.followups import THREAD_FIELDS


class FollowUpForm(VersionedForm):
    def clean(self):
        cleaned = super().clean()
        message = FollowUp.co_responsible_problem(
            cleaned.get("responsible_unit"), cleaned.get("co_responsible_units")
        )
        if message and "co_responsible_units" in self.fields:
            self.add_error("co_responsible_units", message)
        return cleaned


@admin.register(FollowUp)
class FollowUpAdmin(SpreadsheetAdminMixin, HistoryAdmin, RecordAdmin):
    form = FollowUpForm
    list_display = [
        "item",
        "kind",
        "year",
        unit_column("responsible_unit", _("responsible unit")),
        "due_date",
        "status",
        days_overdue,
        "resolved_on",
    ]
    # The columns that fit 1366 px: the item's thread (first raised, times carried) goes
    # under its content, as the báo cáo writes it.
    list_filter = [
        YearLinks,
        UnitLinks,
        UnitRoleLinks,
        OutstandingLinks,
        OverdueLinks,
        choice_links("kind", _("kind"), FollowUpKind.choices),
        choice_links("status", _("status"), FollowUpStatus.choices),
    ]
    # No date hierarchy: on a large table it costs two full scans on every page (MIN/MAX
    # and the distinct years of the due date); year links and due_after/due_before remain.
    autocomplete_fields = [
        "responsible_unit",
        "co_responsible_units",
        "agreement",
        "meeting",
        "carried_over_from",
        "repeats",
        "task",
    ]
    # The thread, computed from the links: shown, never edited.
    readonly_fields = [*RecordAdmin.readonly_fields, *THREAD_FIELDS]
    actions = ["resolve", "carry_over"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        *sections, record = fieldsets
        return [*sections, (_("Raised over the years"), {"fields": THREAD_FIELDS}), record]

    @admin.display(description=_("content"), ordering="content")
    def item(self, obj):
        thread = []
        if obj.first_raised_year and obj.first_raised_year != obj.year:
            thread.append(_("first raised in %(year)s") % {"year": obj.first_raised_year})
        if obj.times_carried:
            thread.append(
                ngettext("carried over %(n)d time", "carried over %(n)d times", obj.times_carried)
                % {"n": obj.times_carried}
            )
        if not thread:
            return str(obj)
        return format_html('{}<span class="under">{}</span>', obj, ", ".join(thread))

    @admin.action(description=_("Mark selected items resolved (today)"), permissions=["change"])
    def resolve(self, request, queryset):
        result = services.followup_resolve(
            followups=scoping.changeable_by(queryset, request.user), user=request.user
        )
        report_result(
            self,
            request,
            result,
            lambda n: (
                ngettext("%(n)d item marked resolved.", "%(n)d items marked resolved.", n)
                % {"n": n}
            ),
            lambda n: (
                ngettext(
                    "%(n)d item left unchanged: not outstanding, or raised after today.",
                    "%(n)d items left unchanged: not outstanding, or raised after today.",
                    n,
                )
                % {"n": n}
            ),
        )

    @admin.action(description=_("Carry selected items over to next year"), permissions=["change"])
    def carry_over(self, request, queryset):
        result = services.followup_carry_over(
            followups=scoping.changeable_by(queryset, request.user), user=request.user
        )
        report_result(
            self,
            request,
            result,
            lambda n: (
                ngettext(
                    "%(n)d item carried over to next year.",
                    "%(n)d items carried over to next year.",
                    n,
                )
                % {"n": n}
            ),
            lambda n: (
                ngettext(
                    "%(n)d item left unchanged: not outstanding, or already carried over.",
                    "%(n)d items left unchanged: not outstanding, or already carried over.",
                    n,
                )
                % {"n": n}
            ),
        )
