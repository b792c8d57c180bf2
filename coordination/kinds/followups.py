"""Follow-up items (kiến nghị, kết luận, hạn chế) tracked until resolved."""

import datetime

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import FollowUpKind, FollowUpStatus
from coordination.filters import DeadlineFilterSet, UnitRole, YesNoFilter, sort_filter
from coordination.models import FollowUp
from coordination.models.followups import THREAD_FIELDS
from coordination.resources import (
    DUE_DATE_ALIASES,
    STATUS_ALIASES,
    YEAR,
    Column,
    RecordResource,
    text,
)
from coordination.tables import (
    Cell,
    ListColumn,
    RelatedColumn,
    RelatedTable,
    last_change_cell,
    link_first,
    overdue_cell,
    show_date,
    unit_name,
)
from coordination.widgets import (
    AgreementWidget,
    ChoiceWidget,
    DateWidget,
    IntegerWidget,
    ManyWidget,
    MeetingWidget,
    RecordIdWidget,
    UnitWidget,
)

COMPUTED = _(
    "Computed by the system from the items carried over from and repeated; an import does "
    "not read this column."
)


class FollowUpResource(RecordResource):
    kind = Column(
        "kind",
        ChoiceWidget(
            FollowUpKind,
            words={
                FollowUpKind.LIMITATION: ("Tồn tại", "Hạn chế", "Tồn tại, hạn chế"),
                FollowUpKind.VOTER_PETITION: ("Ý kiến cử tri", "Kiến nghị của cử tri"),
                FollowUpKind.SUPERVISION_RECOMMENDATION: ("Kiến nghị sau giám sát",),
                FollowUpKind.COMPLAINT: ("Khiếu nại", "Tố cáo", "Khiếu nại, tố cáo"),
            },
        ),
        required=True,
        aliases=("Loại nội dung", "Phân loại"),
    )
    year = Column("year", IntegerWidget(**YEAR), required=True)
    content = text(
        "content",
        multiline=True,
        required=True,
        aliases=("Nội dung kiến nghị", "Ý kiến, kiến nghị", "Nội dung tồn tại", "Kiến nghị"),
    )
    responsible_unit = Column(
        "responsible_unit",
        UnitWidget(),
        required=True,
        aliases=(
            "Đơn vị giải quyết",
            "Cơ quan giải quyết",
            "Đơn vị thực hiện",
            "Đơn vị",
            "Đơn vị chủ trì giải quyết",
        ),
    )
    co_responsible_units = Column(
        "co_responsible_units",
        ManyWidget(UnitWidget()),
        aliases=(
            "Đơn vị phối hợp",
            "Cơ quan phối hợp giải quyết",
            "Cơ quan phối hợp",
            "Phối hợp giải quyết",
            "Đơn vị cùng chịu trách nhiệm",
        ),
    )
    agreement = Column("agreement", AgreementWidget(), aliases=("Số văn bản", "Văn bản"))
    meeting = Column("meeting", MeetingWidget(), aliases=("Hội nghị",))
    raised_on = Column("raised_on", DateWidget(), aliases=("Ngày tiếp nhận", "Ngày kiến nghị"))
    source_reference = text("source_reference", max_length=255, aliases=("Nguồn", "Căn cứ"))
    due_date = Column("due_date", DateWidget(), aliases=DUE_DATE_ALIASES)
    status = Column(
        "status",
        ChoiceWidget(
            FollowUpStatus,
            words={
                FollowUpStatus.OPEN: ("Chưa thực hiện", "Chưa xử lý"),
                FollowUpStatus.IN_PROGRESS: ("Đang giải quyết", "Đang xử lý"),
                FollowUpStatus.RESOLVED: ("Hoàn thành", "Đã xong", "Đã xử lý", "Đã thực hiện"),
                FollowUpStatus.CARRIED_OVER: ("Chuyển tiếp", "Chuyển sang năm sau"),
                FollowUpStatus.CLOSED: ("Đóng", "Kết thúc"),
            },
        ),
        aliases=STATUS_ALIASES,
    )
    resolution = text("resolution", multiline=True, aliases=("Kết quả", "Kết quả xử lý"))
    resolved_on = Column("resolved_on", DateWidget(), aliases=("Ngày hoàn thành",))
    carried_over_from = Column(
        "carried_over_from",
        RecordIdWidget(),
        header=_("Carried over from record no."),
        help_text=_("The record number of last year's item this one continues."),
    )
    repeats = Column(
        "repeats",
        RecordIdWidget(),
        header=_("Repeats record no."),
        aliases=("Tái kiến nghị từ mã", "Lặp lại từ mã"),
        help_text=_(
            "The record number of an earlier item this one raises again (a voter petition "
            "raised again, a limitation that recurs)."
        ),
    )
    task = Column(
        "task",
        RecordIdWidget(),
        header=_("Carried out by task no."),
        aliases=("Nhiệm vụ thực hiện (mã)",),
        help_text=_("The record number of the task that carries this item out."),
    )
    # The thread, computed from the two links above: exported, never imported as truth.
    first_raised_year = Column(
        "first_raised_year", IntegerWidget(), readonly=True, help_text=COMPUTED
    )
    times_carried = Column("times_carried", IntegerWidget(), readonly=True, help_text=COMPUTED)
    times_raised = Column("times_raised", IntegerWidget(), readonly=True, help_text=COMPUTED)

    EXAMPLE = {
        "kind": "Kiến nghị cử tri",
        "year": 2024,
        "content": "Cử tri kiến nghị sửa chữa tuyến đường liên xã",
        "responsible_unit": "Ủy ban nhân dân huyện Hàm Tân",
        "raised_on": datetime.date(2024, 7, 5),
        "source_reference": "Báo cáo tổng hợp ý kiến cử tri kỳ họp giữa năm 2024",
        "due_date": datetime.date(2024, 12, 31),
        "status": "Chưa giải quyết",
    }

    class Meta:
        model = FollowUp
        import_id_fields = ["year", "responsible_unit", "kind", "content"]

    @classmethod
    def row_problems(cls, values: dict) -> list[tuple[str, str]]:
        message = FollowUp.co_responsible_problem(
            values.get("responsible_unit"), values.get("co_responsible_units")
        )
        return [("co_responsible_units", message)] if message else []


#: Items raised more than once: carried over, or repeating an earlier item.
RAISED_AGAIN = Q(times_raised__gt=1)


class FollowUpFilterSet(DeadlineFilterSet):
    """Follow-up items by year, responsible unit, kind, status, deadline and agreement."""

    search_fields = [
        "content",
        "resolution",
        "source_reference",
        "responsible_unit__full_name",
        "responsible_unit__short_name",
    ]
    unit_paths = {
        UnitRole.ANY: ["responsible_unit", "co_responsible_units"],
        UnitRole.LEAD: ["responsible_unit"],
        UnitRole.CO_RESPONSIBLE: ["co_responsible_units"],
    }

    unit_role = django_filters.ChoiceFilter(
        choices=UnitRole.FOLLOWUP_CHOICES, method="noop", label=_("Unit's role"), empty_label=None
    )

    kind = django_filters.ChoiceFilter(
        choices=FollowUpKind.choices, label=_("Kind"), empty_label=_("All")
    )
    status = django_filters.ChoiceFilter(
        choices=FollowUpStatus.choices, label=_("Status"), empty_label=_("All")
    )
    raised_again = YesNoFilter(
        method="filter_raised_again", label=_("Raised more than once (carried over, repeated)")
    )
    sort = sort_filter(
        ("year", "year", _("Year")),
        ("due_date", "due_date", _("Due date")),
        ("responsible_unit__full_name", "unit", _("Unit")),
        ("status", "status", _("Status")),
        ("first_raised_year", "first_raised", _("First raised in")),
        ("times_raised", "raised", _("Times raised")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = FollowUp
        fields = [
            "q",
            "year",
            "unit",
            "unit_role",
            "predecessors",
            "kind",
            "status",
            "raised_again",
            *DeadlineFilterSet.deadline_fields,
            "sort",
        ]

    def filter_raised_again(self, queryset, name, value):
        return queryset.filter(RAISED_AGAIN if value == "yes" else ~RAISED_AGAIN)


def count_cell(count: int, usual: int) -> Cell:
    """A number of the thread, left blank when it is the usual one (never carried, raised once)."""
    return Cell("" if count == usual else str(count), css="number")


def followup_list():
    """Follow-up items with the unit, agreement and meeting every list shows."""
    return FollowUp.objects.select_related("responsible_unit", "agreement", "meeting")


KIND = registry.RecordKind(
    name="followups",
    model=FollowUp,
    resource=FollowUpResource,
    owning_units=("responsible_unit",),
    # Co-responsible units' staff read the item; only the responsible unit's change it.
    involved_units=("responsible_unit", "co_responsible_units"),
    filterset=FollowUpFilterSet,
    selector=followup_list,
    table=(
        ListColumn(_("content"), link_first("followups")),
        ListColumn(_("kind"), lambda r, t: r.get_kind_display(), None, "label"),
        ListColumn(_("year"), lambda r, t: str(r.year), "year", "number"),
        ListColumn(
            _("first raised in"), lambda r, t: str(r.first_raised_year), "first_raised", "number"
        ),
        ListColumn(_("times carried over"), lambda r, t: count_cell(r.times_carried, 0)),
        ListColumn(_("times raised"), lambda r, t: count_cell(r.times_raised, 1), "raised"),
        ListColumn(_("responsible unit"), lambda r, t: unit_name(r.responsible_unit), "unit"),
        ListColumn(_("due date"), lambda r, t: show_date(r.due_date), "due_date", "date"),
        ListColumn(_("status"), lambda r, t: r.get_status_display(), "status", "label"),
        ListColumn(_("days overdue"), overdue_cell, None, "number"),
        ListColumn(_("last changed"), last_change_cell, "updated"),
    ),
    read_only_note=_(
        "View only: your unit only shares responsibility for this item; the responsible "
        "unit (%(owners)s) updates it."
    ),
    # The tables and reports count an item under its responsible unit only.
    report_unit="responsible_unit",
    report_unit_params={"unit_role": "lead"},
    report_counts=(
        registry.ReportCount(
            "raised_again",
            _("Outstanding, raised more than once"),
            FollowUp.deadline_rules.outstanding_q() & RAISED_AGAIN,
            {"outstanding": "yes", "raised_again": "yes"},
        ),
    ),
    sections=(
        (None, ("kind", "year", "content", "responsible_unit", "co_responsible_units")),
        (
            _("Source"),
            (
                "agreement",
                "meeting",
                "raised_on",
                "source_reference",
                "carried_over_from",
                "repeats",
            ),
        ),
        (_("Handling"), ("due_date", "status", "resolution", "resolved_on", "task")),
    ),
    also_shown=THREAD_FIELDS,
    related=(
        RelatedTable(
            _("carried over to"),
            lambda r: FollowUp.objects.filter(carried_over_from=r).order_by("-year", "-pk"),
            "followups",
        ),
    ),
    summary=(
        RelatedColumn(_("content"), ""),
        RelatedColumn(_("kind"), text=lambda row: row.get_kind_display()),
        RelatedColumn(_("year"), text=lambda row: str(row.year), css="number"),
        RelatedColumn(_("responsible unit"), "responsible_unit"),
        RelatedColumn(_("due date"), text=lambda row: show_date(row.due_date), css="date"),
        RelatedColumn(_("status"), text=lambda row: row.get_status_display()),
    ),
)
