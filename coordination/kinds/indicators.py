"""Indicators (chỉ tiêu): yearly targets of an agreement and their results."""

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import IndicatorComparison
from coordination.filters import (
    RecordFilterSet,
    UnitRole,
    YearFilter,
    agreement_filter,
    sort_filter,
)
from coordination.models import Indicator
from coordination.resources import YEAR, Column, RecordResource, text
from coordination.tables import ListColumn, RelatedColumn, link_first, unit_name, yes_no
from coordination.widgets import (
    AgreementWidget,
    ChoiceWidget,
    DecimalWidget,
    IntegerWidget,
    UnitWidget,
)


class IndicatorResource(RecordResource):
    agreement = Column("agreement", AgreementWidget(), required=True, aliases=("Số văn bản",))
    year = Column("year", IntegerWidget(**YEAR), required=True)
    unit = Column("unit", UnitWidget(), required=True, aliases=("Đơn vị thực hiện",))
    name = text("name", max_length=300, required=True, header=_("Indicator name"))
    measure = text("measure", max_length=50, aliases=("ĐVT",))
    comparison = Column("comparison", ChoiceWidget(IndicatorComparison))
    target = Column(
        "target", DecimalWidget(), required=True, header=_("Target value"), aliases=("Chỉ tiêu",)
    )
    actual = Column("actual", DecimalWidget(), aliases=("Kết quả", "Thực hiện"))
    note = text("note", multiline=True, aliases=("Ghi chú",))

    EXAMPLE = {
        "agreement": "01/QCPH-UBND-MTTQ",
        "year": 2024,
        "unit": "Ủy ban nhân dân huyện Hàm Tân",
        "name": "Tỷ lệ hòa giải thành",
        "measure": "%",
        "comparison": "Từ chỉ tiêu trở lên",
        "target": 98,
        "actual": 98.5,
    }

    class Meta:
        model = Indicator
        import_id_fields = ["agreement", "year", "unit", "name"]


class IndicatorFilterSet(RecordFilterSet):
    """An agreement's targets by year, unit and agreement."""

    search_fields = ["name", "note", "agreement__number", "unit__full_name", "unit__short_name"]
    unit_paths = {UnitRole.ANY: ["unit"]}

    year = YearFilter(field_name="year")
    agreement = agreement_filter()
    sort = sort_filter(
        ("year", "year", _("Year")),
        ("unit__full_name", "unit", _("Unit")),
        ("name", "name", _("Name")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Indicator
        fields = ["q", "year", "unit", "predecessors", "agreement", "sort"]


def _number(value) -> str:
    return "" if value is None else formats.number_format(value, use_l10n=True)


KIND = registry.RecordKind(
    name="indicators",
    model=Indicator,
    resource=IndicatorResource,
    owning_units=("unit",),
    filterset=IndicatorFilterSet,
    selector=lambda: Indicator.objects.select_related("agreement", "unit"),
    table=(
        ListColumn(_("indicator"), link_first("indicators"), "name"),
        ListColumn(_("agreement"), lambda r, t: r.agreement.number),
        ListColumn(_("year"), lambda r, t: str(r.year), "year", "number"),
        ListColumn(_("unit"), lambda r, t: unit_name(r.unit), "unit"),
        ListColumn(_("measure"), lambda r, t: r.measure),
        ListColumn(_("target"), lambda r, t: _number(r.target), None, "number"),
        ListColumn(_("actual"), lambda r, t: _number(r.actual), None, "number"),
        ListColumn(_("met"), lambda r, t: yes_no(r.is_met)),
    ),
    summary=(
        RelatedColumn(_("indicator"), ""),
        RelatedColumn(_("year"), text=lambda row: str(row.year), css="number"),
        RelatedColumn(_("unit"), "unit"),
        RelatedColumn(_("target"), text=lambda row: _number(row.target), css="number"),
        RelatedColumn(_("actual"), text=lambda row: _number(row.actual), css="number"),
        RelatedColumn(_("met"), text=lambda row: yes_no(row.is_met)),
    ),
    sections=(
        (
            None,
            (
                "agreement",
                "year",
                "unit",
                "name",
                "measure",
                "comparison",
                "target",
                "actual",
                "note",
            ),
        ),
    ),
)
