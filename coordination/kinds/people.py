"""People: the signatories, chairs and assignees named by the other kinds."""

from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.models import Person
from coordination.resources import Column, RecordResource, text
from coordination.widgets import BooleanWidget, UnitWidget


class PersonResource(RecordResource):
    full_name = text(
        "full_name", max_length=150, required=True, header=_("Full name"), aliases=("Họ tên",)
    )
    position = text("position", max_length=255, aliases=("Chức vụ",))
    unit = Column("unit", UnitWidget(), required=True, aliases=("Cơ quan", "Đơn vị công tác"))
    is_active = Column("is_active", BooleanWidget(default=True))

    EXAMPLE = {
        "full_name": "Hà Lê Thanh Chung",
        "position": "Chủ tịch UBND huyện",
        "unit": "Ủy ban nhân dân huyện Hàm Tân",
        "is_active": "Có",
    }

    class Meta:
        model = Person
        import_id_fields = ["full_name", "unit"]


KIND = registry.RecordKind(
    name="people",
    model=Person,
    resource=PersonResource,
    owning_units=("unit",),
    named_by=("full_name",),
    sections=((None, ("full_name", "position", "unit", "is_active")),),
)
