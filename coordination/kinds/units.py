"""Units (đơn vị): the People's Committees, Councils, the Front and the organisations."""

from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import UnitKind, UnitLevel
from coordination.models import Unit
from coordination.resources import Column, RecordResource, text
from coordination.widgets import BooleanWidget, ChoiceWidget, DateWidget, UnitWidget


class UnitResource(RecordResource):
    full_name = text(
        "full_name", max_length=255, required=True, aliases=("Tên đơn vị", "Đơn vị", "Tên")
    )
    short_name = text("short_name", max_length=100, aliases=("Tên gọi tắt", "Viết tắt"))
    kind = Column("kind", ChoiceWidget(UnitKind), required=True, aliases=("Loại đơn vị",))
    level = Column("level", ChoiceWidget(UnitLevel), required=True, aliases=("Cấp hành chính",))
    locality = text("locality", max_length=150, required=True, aliases=("Địa phương", "Địa bàn"))
    parent = Column("parent", UnitWidget(), aliases=("Cấp trên",))
    is_active = Column("is_active", BooleanWidget(default=True), aliases=("Hoạt động",))
    dissolved_on = Column("dissolved_on", DateWidget(), aliases=("Ngày giải thể, sáp nhập",))
    successor = Column("successor", UnitWidget(), aliases=("Đơn vị tiếp nhận",))

    EXAMPLE = {
        "full_name": "Ủy ban nhân dân huyện Hàm Tân",
        "short_name": "UBND huyện",
        "kind": "Ủy ban nhân dân",
        "level": "Huyện",
        "locality": "huyện Hàm Tân, tỉnh Bình Thuận",
        "is_active": "Có",
    }

    class Meta:
        model = Unit
        import_id_fields = ["locality", "full_name"]


KIND = registry.RecordKind(
    name="units",
    model=Unit,
    resource=UnitResource,
    owning_units=("pk",),
    named_by=("full_name",),
    sections=(
        (None, ("full_name", "short_name", "kind", "level", "locality", "parent")),
        (_("Status"), ("is_active", "dissolved_on", "successor")),
    ),
)
