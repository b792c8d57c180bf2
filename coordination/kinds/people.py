"""People: the signatories, chairs and assignees named by the other kinds."""

from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.filters import FlagFilter, RecordFilterSet, UnitRole, sort_filter
from coordination.models import Person
from coordination.resources import Column, RecordResource, text
from coordination.tables import ListColumn, link_first, unit_name, yes_no
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


class PersonFilterSet(RecordFilterSet):
    """People by unit and whether they still hold their position."""

    search_fields = ["full_name", "position", "unit__full_name", "unit__short_name"]
    unit_paths = {UnitRole.ANY: ["unit"]}

    active = FlagFilter(field_name="is_active", label=_("Active"))
    sort = sort_filter(
        ("full_name", "name", _("Name")),
        ("unit__full_name", "unit", _("Unit")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Person
        fields = ["q", "unit", "predecessors", "active", "sort"]


KIND = registry.RecordKind(
    name="people",
    model=Person,
    resource=PersonResource,
    owning_units=("unit",),
    named_by=("full_name",),
    filterset=PersonFilterSet,
    selector=lambda: Person.objects.select_related("unit"),
    table=(
        ListColumn(_("full name"), link_first("people"), "name"),
        ListColumn(_("position"), lambda r, t: r.position),
        ListColumn(_("unit"), lambda r, t: unit_name(r.unit), "unit"),
        ListColumn(_("active"), lambda r, t: yes_no(r.is_active)),
    ),
    sections=((None, ("full_name", "position", "unit", "is_active")),),
)
