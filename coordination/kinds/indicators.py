"""Indicators (chỉ tiêu): yearly targets of an agreement and their results."""

from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import IndicatorComparison
from coordination.models import Indicator
from coordination.resources import YEAR, Column, RecordResource, text
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


KIND = registry.RecordKind(
    name="indicators",
    model=Indicator,
    resource=IndicatorResource,
    owning_units=("unit",),
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
