"""Units (đơn vị): the People's Committees, Councils, the Front and the organisations."""

import django_filters
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import UnitKind, UnitLevel
from coordination.filters import FlagFilter, RecordFilterSet, UnitRole, sort_filter
from coordination.models import Unit
from coordination.resources import Column, RecordResource, text
from coordination.tables import ListColumn, link_first, show_date, unit_name
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


class UnitFilterSet(RecordFilterSet):
    """Units by kind, level and whether they still exist; `unit` is the unit itself (and,
    with `predecessors`, the units dissolved into it)."""

    search_fields = ["full_name", "short_name", "locality"]
    unit_paths = {UnitRole.ANY: ["pk"]}

    kind = django_filters.ChoiceFilter(
        choices=UnitKind.choices, label=_("Kind"), empty_label=_("All")
    )
    level = django_filters.ChoiceFilter(
        choices=UnitLevel.choices, label=_("Level"), empty_label=_("All")
    )
    active = FlagFilter(field_name="is_active", label=_("Active"))
    sort = sort_filter(
        ("full_name", "name", _("Name")),
        ("locality", "locality", _("Locality")),
        ("level", "level", _("Level")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Unit
        fields = ["q", "unit", "predecessors", "kind", "level", "active", "sort"]


def _dissolved(record, today) -> str:
    if record.is_active:
        return ""
    successor = f" → {unit_name(record.successor)}" if record.successor_id else ""
    return f"{show_date(record.dissolved_on)}{successor}"


KIND = registry.RecordKind(
    name="units",
    model=Unit,
    resource=UnitResource,
    owning_units=("pk",),
    named_by=("full_name",),
    filterset=UnitFilterSet,
    selector=lambda: Unit.objects.select_related("parent", "successor"),
    table=(
        ListColumn(_("full name"), link_first("units"), "name"),
        ListColumn(_("short name"), lambda r, t: r.short_name),
        ListColumn(_("kind"), lambda r, t: r.get_kind_display(), None, "label"),
        ListColumn(_("level"), lambda r, t: r.get_level_display(), "level"),
        ListColumn(_("locality"), lambda r, t: r.locality, "locality"),
        ListColumn(_("dissolved"), _dissolved),
    ),
    sections=(
        (None, ("full_name", "short_name", "kind", "level", "locality", "parent")),
        (_("Status"), ("is_active", "dissolved_on", "successor")),
    ),
)
