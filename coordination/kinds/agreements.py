"""Agreements (quy chế, chương trình phối hợp) and their parties."""

import datetime

import django_filters
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import AgreementKind, AgreementStatus, PartyRole
from coordination.filters import RecordFilterSet, UnitRole, YearFilter, sort_filter
from coordination.models import (
    Agreement,
    AgreementParty,
    FollowUp,
    Indicator,
    Meeting,
    Signatory,
    Task,
)
from coordination.resources import YEAR, Column, Link, RecordResource, text
from coordination.tables import (
    Cell,
    ListColumn,
    RelatedColumn,
    RelatedTable,
    last_change_cell,
    show_date,
    unit_name,
)
from coordination.widgets import (
    AgreementWidget,
    ChoiceWidget,
    CodeWidget,
    DateWidget,
    IntegerWidget,
    ManyWidget,
    UnitWidget,
)


class AgreementResource(RecordResource):
    number = Column(
        "number",
        CodeWidget(max_length=100),
        required=True,
        aliases=("Số", "Số hiệu", "Số văn bản", "Ký hiệu"),
    )
    title = text("title", max_length=500, required=True, aliases=("Tên văn bản", "Nội dung"))
    kind = Column("kind", ChoiceWidget(AgreementKind), required=True, aliases=("Loại văn bản",))
    signed_on = Column("signed_on", DateWidget(), aliases=("Ngày ban hành",))
    start_year = Column("start_year", IntegerWidget(**YEAR), required=True, aliases=("Từ năm",))
    end_year = Column("end_year", IntegerWidget(**YEAR), required=True, aliases=("Đến năm",))
    status = Column("status", ChoiceWidget(AgreementStatus), aliases=("Hiệu lực",))
    lead_units = Column(
        "lead_units",
        ManyWidget(UnitWidget()),
        link=Link(AgreementParty, "agreement", "unit", {"role": PartyRole.LEAD}),
        header=_("Lead units"),
        aliases=("Cơ quan chủ trì",),
        help_text=_("The units that lead the agreement, one per line or separated by “;”."),
    )
    party_units = Column(
        "party_units",
        ManyWidget(UnitWidget()),
        link=Link(AgreementParty, "agreement", "unit", {"role": PartyRole.PARTY}),
        header=_("Other parties"),
        aliases=("Đơn vị tham gia", "Các bên tham gia", "Đơn vị phối hợp"),
        help_text=_("The other units that signed, one per line or separated by “;”."),
    )
    parent = Column("parent", AgreementWidget(), aliases=("Thuộc quy chế",))
    supersedes = Column("supersedes", AgreementWidget())
    notes = text("notes", multiline=True, aliases=("Ghi chú",))

    # The model's `parties` are written in two columns, by role.
    unit_columns = {"parties": ("lead_units", "party_units")}

    @classmethod
    def row_problems(cls, values: dict) -> list[tuple[str, str]]:
        both = set(values.get("lead_units", ())) & set(values.get("party_units", ()))
        if not both:
            return []
        message = _("%(units)s cannot be both a lead unit and another party.") % {
            "units": ", ".join(unit.full_name for unit in both)
        }
        return [("party_units", message)]

    EXAMPLE = {
        "number": "01/QCPH-UBND-MTTQ",
        "title": "Quy chế phối hợp công tác giữa UBND huyện và Ban Thường trực UBMTTQVN huyện",
        "kind": "Quy chế phối hợp",
        "signed_on": datetime.date(2021, 8, 10),
        "start_year": 2021,
        "end_year": 2026,
        "status": "Còn hiệu lực",
        "lead_units": "Ủy ban nhân dân huyện Hàm Tân",
        "party_units": "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
    }

    class Meta:
        model = Agreement
        import_id_fields = ["number"]


class AgreementFilterSet(RecordFilterSet):
    """Agreements in force in a year, by party, kind and status."""

    search_fields = [
        "number",
        "title",
        "party_links__unit__full_name",
        "party_links__unit__short_name",
    ]
    unit_paths = {UnitRole.ANY: ["parties"]}

    year = YearFilter(method="filter_year", label=_("Year in force"))
    kind = django_filters.ChoiceFilter(
        choices=AgreementKind.choices, label=_("Kind"), empty_label=_("All")
    )
    status = django_filters.ChoiceFilter(
        choices=AgreementStatus.choices, label=_("Status"), empty_label=_("All")
    )
    sort = sort_filter(
        ("number", "number", _("Number")),
        ("signed_on", "signed_on", _("Signed on")),
        ("start_year", "year", _("Start year")),
        ("status", "status", _("Status")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Agreement
        fields = ["q", "year", "unit", "predecessors", "kind", "status", "sort"]

    def filter_year(self, queryset, name, value):
        return queryset.in_year(value)


def agreement_list():
    """Agreements with their parties' units, for lists that show who signed."""
    # One query for every party of the page instead of one per agreement row.
    return Agreement.objects.prefetch_related(
        Prefetch("party_links", queryset=AgreementParty.objects.select_related("unit"))
    )


def _years(record, today) -> str:
    if record.start_year == record.end_year:
        return str(record.start_year)
    return f"{record.start_year}–{record.end_year}"


def _of_agreement(record) -> dict:
    return {"agreement": record.pk}


KIND = registry.RecordKind(
    name="agreements",
    model=Agreement,
    resource=AgreementResource,
    owning_units=("parties",),
    named_by=("number",),
    filterset=AgreementFilterSet,
    selector=agreement_list,
    table=(
        ListColumn(
            _("number"),
            lambda r, t: Cell(
                r.number, reverse("coordination:record-detail", args=["agreements", r.pk])
            ),
            "number",
        ),
        ListColumn(_("title"), lambda r, t: r.title),
        ListColumn(_("kind"), lambda r, t: r.get_kind_display(), None, "label"),
        ListColumn(_("years"), _years, "year"),
        ListColumn(_("signed on"), lambda r, t: show_date(r.signed_on), "signed_on", "date"),
        ListColumn(_("status"), lambda r, t: r.get_status_display(), "status", "label"),
        ListColumn(
            _("parties"),
            lambda r, t: ", ".join(unit_name(link.unit) for link in r.party_links.all()),
        ),
        ListColumn(_("last changed"), last_change_cell, "updated"),
    ),
    sections=(
        (None, ("number", "title", "kind", "status")),
        (_("Validity"), ("signed_on", "start_year", "end_year", "parent", "supersedes")),
        (_("Document"), ("scan", "notes")),
    ),
    also_shown=("parties",),
    related=(
        RelatedTable(
            _("parties"),
            lambda r: AgreementParty.objects.filter(agreement=r).order_by(
                "role", "unit__full_name"
            ),
            columns=(
                RelatedColumn(_("unit"), "unit"),
                RelatedColumn(_("role"), text=lambda row: row.get_role_display()),
            ),
        ),
        RelatedTable(
            _("signatories"),
            lambda r: (
                Signatory.objects.filter(agreement=r)
                .select_related("person")
                .order_by("-signed_on", "-pk")
            ),
            "signatories",
            _of_agreement,
        ),
        RelatedTable(
            _("tasks"),
            lambda r: Task.objects.filter(agreement=r).order_by("-year", "-pk"),
            "tasks",
            _of_agreement,
        ),
        RelatedTable(
            _("meetings"),
            lambda r: Meeting.objects.filter(agreements=r).order_by("-held_on", "-pk"),
            "meetings",
            _of_agreement,
        ),
        RelatedTable(
            _("follow-up items"),
            lambda r: FollowUp.objects.filter(agreement=r).order_by("-year", "-pk"),
            "followups",
            _of_agreement,
        ),
        RelatedTable(
            _("indicators"),
            lambda r: Indicator.objects.filter(agreement=r).order_by("-year", "pk"),
            "indicators",
            _of_agreement,
        ),
    ),
    summary=(
        RelatedColumn(_("number"), "", lambda row: row.number),
        RelatedColumn(_("title"), text=lambda row: row.title),
        RelatedColumn(_("years"), text=lambda row: _years(row, None)),
    ),
)
