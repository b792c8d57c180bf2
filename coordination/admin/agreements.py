"""Admin pages of agreements (with their parties, signatories, tasks and indicators inline),
signatories and indicators."""

from django.contrib import admin
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from coordination import programme
from coordination.admin.base import HistoryAdmin, RecordAdmin, ScopedInline
from coordination.admin.filters import AgreementYearLinks, UnitLinks, choice_links
from coordination.admin.programme import next_year_view
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.choices import AgreementKind, AgreementStatus
from coordination.models import Agreement, AgreementParty, Indicator, Signatory, Task


class AgreementPartyInline(ScopedInline):
    model = AgreementParty
    extra = 0
    autocomplete_fields = ["unit"]
    fields = ["unit", "role"]


class SignatoryInline(ScopedInline):
    model = Signatory
    extra = 0
    autocomplete_fields = ["person", "unit"]
    fields = ["person", "unit", "position", "signed_on"]


class TaskInline(ScopedInline):
    model = Task
    extra = 0
    show_change_link = True
    autocomplete_fields = ["lead_unit"]
    fields = ["year", "content", "lead_unit", "due_date", "status", "progress", "completed_on"]


class IndicatorInline(ScopedInline):
    model = Indicator
    extra = 0
    autocomplete_fields = ["unit"]
    fields = ["year", "unit", "name", "measure", "comparison", "target", "actual"]


@admin.register(Agreement)
class AgreementAdmin(SpreadsheetAdminMixin, HistoryAdmin, RecordAdmin):
    list_display = [
        "number",
        "title",
        "kind",
        "period",
        "signed_on",
        "status",
        "party_names",
    ]
    list_display_links = ["number", "title"]
    list_filter = [
        AgreementYearLinks,
        UnitLinks,
        choice_links("kind", _("kind"), AgreementKind.choices),
        choice_links("status", _("status"), AgreementStatus.choices),
    ]
    date_hierarchy = "signed_on"
    autocomplete_fields = ["parent", "supersedes"]
    inlines = [AgreementPartyInline, SignatoryInline, TaskInline, IndicatorInline]
    # Adds the button “Next year's programme” to the change page.
    change_form_template = "admin/coordination/agreement/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/next-year/",
                self.admin_site.admin_view(
                    lambda request, object_id: next_year_view(self, request, object_id)
                ),
                name="coordination_agreement_next_year",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_draft_next_year"] = obj is not None and programme.may_draft(request.user, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("years"), ordering="start_year")
    def period(self, obj):
        if obj.start_year == obj.end_year:
            return str(obj.start_year)
        return f"{obj.start_year}–{obj.end_year}"

    @admin.display(description=_("parties"))
    def party_names(self, obj):
        return format_html_join(
            ", ",
            "{}",
            ((link.unit.short_name or link.unit.full_name,) for link in obj.party_links.all()),
        )


@admin.register(Signatory)
class SignatoryAdmin(SpreadsheetAdminMixin, RecordAdmin):
    list_display = ["person", "position", "unit", "agreement", "signed_on"]
    list_filter = [UnitLinks]
    date_hierarchy = "signed_on"
    autocomplete_fields = ["agreement", "person", "unit"]


@admin.register(Indicator)
class IndicatorAdmin(SpreadsheetAdminMixin, RecordAdmin):
    list_display = ["name", "agreement", "year", "unit", "measure", "target", "actual", "met"]
    list_filter = ["year", UnitLinks]
    autocomplete_fields = ["agreement", "unit"]

    @admin.display(description=_("met"), boolean=True)
    def met(self, obj):
        return obj.is_met
