"""Signatories: who signed an agreement for which unit."""

import datetime

from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.filters import (
    RecordFilterSet,
    UnitRole,
    YearFilter,
    agreement_filter,
    sort_filter,
)
from coordination.models import Signatory
from coordination.resources import Column, RecordResource, text
from coordination.tables import Cell, ListColumn, RelatedColumn, show_date, unit_name
from coordination.widgets import AgreementWidget, DateWidget, PersonWidget, UnitWidget


class SignatoryResource(RecordResource):
    agreement = Column("agreement", AgreementWidget(), required=True, aliases=("Số văn bản",))
    unit = Column("unit", UnitWidget(), required=True, aliases=("Đơn vị",))
    person = Column("person", PersonWidget(), required=True, aliases=("Người ký", "Họ tên"))
    position = text("position", max_length=255, aliases=("Chức vụ",))
    signed_on = Column("signed_on", DateWidget())

    EXAMPLE = {
        "agreement": "01/QCPH-UBND-MTTQ",
        "person": "Hà Lê Thanh Chung",
        "unit": "Ủy ban nhân dân huyện Hàm Tân",
        "position": "Chủ tịch UBND huyện",
        "signed_on": datetime.date(2021, 8, 10),
    }

    class Meta:
        model = Signatory
        import_id_fields = ["agreement", "person"]


class SignatoryFilterSet(RecordFilterSet):
    """Who signed which agreement, by unit, agreement and year signed."""

    search_fields = [
        "person__full_name",
        "position",
        "agreement__number",
        "unit__full_name",
        "unit__short_name",
    ]
    unit_paths = {UnitRole.ANY: ["unit"]}

    year = YearFilter(field_name="signed_on", lookup_expr="year", label=_("Year signed"))
    agreement = agreement_filter()
    sort = sort_filter(
        ("signed_on", "signed_on", _("Signed on")),
        ("person__full_name", "name", _("Name")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Signatory
        fields = ["q", "year", "unit", "predecessors", "agreement", "sort"]


KIND = registry.RecordKind(
    name="signatories",
    model=Signatory,
    resource=SignatoryResource,
    owning_units=("unit",),
    involved_units=("unit", "agreement__parties"),
    read_only_note=_(
        "View only: your unit is a party to the agreement; the signatory's unit "
        "(%(owners)s) updates this record."
    ),
    filterset=SignatoryFilterSet,
    selector=lambda: Signatory.objects.select_related("person", "unit", "agreement"),
    table=(
        ListColumn(_("person"), lambda r, t: Cell(str(r.person), KIND.detail_url(r)), "name"),
        ListColumn(_("position"), lambda r, t: r.position),
        ListColumn(_("unit"), lambda r, t: unit_name(r.unit)),
        ListColumn(_("agreement"), lambda r, t: r.agreement.number),
        ListColumn(_("signed on"), lambda r, t: show_date(r.signed_on), "signed_on", "date"),
    ),
    sections=((None, ("agreement", "person", "unit", "position", "signed_on")),),
    summary=(
        RelatedColumn(_("person"), "", lambda row: row.person.full_name),
        RelatedColumn(_("position"), text=lambda row: row.position),
        RelatedColumn(_("unit"), "unit"),
        RelatedColumn(_("signed on"), text=lambda row: show_date(row.signed_on), css="date"),
    ),
)
