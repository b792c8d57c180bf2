"""Signatories: who signed an agreement for which unit."""

import datetime

from coordination import registry
from coordination.models import Signatory
from coordination.resources import Column, RecordResource, text
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


KIND = registry.RecordKind(
    name="signatories",
    model=Signatory,
    resource=SignatoryResource,
    owning_units=("unit",),
    involved_units=("unit", "agreement__parties"),
    sections=((None, ("agreement", "person", "unit", "position", "signed_on")),),
)
