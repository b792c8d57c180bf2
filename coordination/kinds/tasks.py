"""Tasks (nhiệm vụ phối hợp): yearly work with a lead unit and a deadline."""

import datetime

import django_filters
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import TaskStatus
from coordination.filters import DeadlineFilterSet, UnitRole, sort_filter
from coordination.models import FollowUp, Task
from coordination.resources import (
    DUE_DATE_ALIASES,
    STATUS_ALIASES,
    YEAR,
    Column,
    RecordResource,
    text,
)
from coordination.tables import (
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
    BooleanWidget,
    ChoiceWidget,
    DateWidget,
    IntegerWidget,
    ManyWidget,
    MeetingWidget,
    PersonWidget,
    RecordIdWidget,
    UnitWidget,
)


class TaskResource(RecordResource):
    agreement = Column(
        "agreement",
        AgreementWidget(),
        required=True,
        aliases=("Số văn bản", "Chương trình phối hợp", "Văn bản"),
    )
    year = Column("year", IntegerWidget(**YEAR), required=True)
    content = text(
        "content",
        multiline=True,
        required=True,
        aliases=("Nội dung nhiệm vụ", "Nhiệm vụ", "Nội dung công việc", "Tên nhiệm vụ"),
    )
    lead_unit = Column(
        "lead_unit",
        UnitWidget(),
        required=True,
        aliases=("Chủ trì", "Cơ quan chủ trì", "Đơn vị thực hiện"),
    )
    coordinating_units = Column(
        "coordinating_units", ManyWidget(UnitWidget()), aliases=("Phối hợp", "Cơ quan phối hợp")
    )
    assignee = Column("assignee", PersonWidget(), aliases=("Người thực hiện", "Cán bộ phụ trách"))
    start_date = Column("start_date", DateWidget(), aliases=("Ngày giao", "Bắt đầu"))
    due_date = Column("due_date", DateWidget(), aliases=DUE_DATE_ALIASES)
    status = Column(
        "status",
        ChoiceWidget(
            TaskStatus,
            words={
                TaskStatus.NOT_STARTED: ("Chưa triển khai", "Chưa làm"),
                TaskStatus.IN_PROGRESS: ("Đang triển khai", "Đang làm", "Đang tiến hành"),
                TaskStatus.DONE: ("Hoàn thành", "Đã xong", "Xong", "Đã thực hiện"),
                TaskStatus.CARRIED_OVER: (
                    "Chuyển năm sau",
                    "Chuyển sang năm sau",
                    "Chuyển tiếp",
                    "Chuyển kỳ sau",
                ),
                TaskStatus.CANCELLED: ("Hủy", "Hủy bỏ", "Không thực hiện"),
            },
        ),
        aliases=STATUS_ALIASES,
    )
    progress = Column(
        "progress", IntegerWidget(minimum=0, maximum=100), aliases=("Tiến độ", "Tỷ lệ (%)")
    )
    completed_on = Column("completed_on", DateWidget())
    result = text("result", multiline=True, aliases=("Kết quả thực hiện",))
    meeting = Column("meeting", MeetingWidget(), aliases=("Hội nghị",))
    recurring = Column(
        "recurring",
        BooleanWidget(default=False),
        aliases=("Lặp lại hằng năm", "Hằng năm", "Thường xuyên"),
    )
    repeats = Column(
        "repeats",
        RecordIdWidget(),
        header=_("Repeated from record no."),
        help_text=_("The record number of last year's recurring task this one repeats."),
    )
    carried_over_from = Column(
        "carried_over_from",
        RecordIdWidget(),
        header=_("Carried over from record no."),
        help_text=_("The record number of last year's open task this one continues."),
    )

    EXAMPLE = {
        "agreement": "01/QCPH-UBND-MTTQ",
        "year": 2024,
        "content": "Tuyên truyền, vận động xây dựng nông thôn mới nâng cao",
        "lead_unit": "Ủy ban nhân dân huyện Hàm Tân",
        "coordinating_units": "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
        "start_date": datetime.date(2024, 1, 15),
        "due_date": datetime.date(2024, 12, 31),
        "status": "Đang thực hiện",
        "progress": 50,
    }

    class Meta:
        model = Task
        import_id_fields = ["agreement", "year", "content"]


class TaskFilterSet(DeadlineFilterSet):
    """Tasks by year, unit (lead, coordinating or either), status, deadline and agreement."""

    search_fields = [
        "content",
        "result",
        "agreement__number",
        "lead_unit__full_name",
        "lead_unit__short_name",
    ]
    unit_paths = {
        UnitRole.ANY: ["lead_unit", "coordinating_units"],
        UnitRole.LEAD: ["lead_unit"],
        UnitRole.COORDINATING: ["coordinating_units"],
    }

    unit_role = django_filters.ChoiceFilter(
        choices=UnitRole.CHOICES, method="noop", label=_("Unit's role"), empty_label=None
    )
    status = django_filters.ChoiceFilter(
        choices=TaskStatus.choices, label=_("Status"), empty_label=_("All")
    )
    sort = sort_filter(
        ("year", "year", _("Year")),
        ("due_date", "due_date", _("Due date")),
        ("lead_unit__full_name", "unit", _("Unit")),
        ("status", "status", _("Status")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Task
        fields = [
            "q",
            "year",
            "unit",
            "unit_role",
            "predecessors",
            "status",
            *DeadlineFilterSet.deadline_fields,
            "sort",
        ]


def task_list():
    """Tasks with the agreement, lead unit and assignee every list shows."""
    return Task.objects.select_related("agreement", "lead_unit", "assignee")


KIND = registry.RecordKind(
    name="tasks",
    model=Task,
    resource=TaskResource,
    owning_units=("lead_unit",),
    involved_units=("lead_unit", "coordinating_units"),
    filterset=TaskFilterSet,
    selector=task_list,
    table=(
        ListColumn(_("content"), link_first("tasks")),
        ListColumn(_("year"), lambda r, t: str(r.year), "year", "number"),
        ListColumn(_("agreement"), lambda r, t: r.agreement.number),
        ListColumn(_("lead unit"), lambda r, t: unit_name(r.lead_unit), "unit"),
        ListColumn(_("due date"), lambda r, t: show_date(r.due_date), "due_date", "date"),
        ListColumn(_("status"), lambda r, t: r.get_status_display(), "status", "label"),
        ListColumn(_("progress (%)"), lambda r, t: str(r.progress), None, "number"),
        ListColumn(_("days overdue"), overdue_cell, None, "number"),
        ListColumn(_("last changed"), last_change_cell, "updated"),
    ),
    read_only_note=_(
        "View only: your unit only coordinates this task; the lead unit (%(owners)s) updates it."
    ),
    report_unit="lead_unit",
    report_unit_params={"unit_role": "lead"},
    sections=(
        (None, ("agreement", "year", "content", "recurring")),
        (_("Responsibility"), ("lead_unit", "coordinating_units", "assignee", "meeting")),
        (
            _("Progress"),
            ("start_date", "due_date", "status", "progress", "completed_on", "result"),
        ),
        (_("Source"), ("repeats", "carried_over_from")),
    ),
    related=(
        RelatedTable(
            _("follow-up items carried out by this task"),
            lambda r: FollowUp.objects.filter(task=r).order_by("-year", "-pk"),
            "followups",
        ),
        RelatedTable(
            _("carried over to"),
            lambda r: Task.objects.filter(carried_over_from=r).order_by("-year", "-pk"),
            "tasks",
        ),
    ),
    summary=(
        RelatedColumn(_("content"), ""),
        RelatedColumn(_("year"), text=lambda row: str(row.year), css="number"),
        RelatedColumn(_("lead unit"), "lead_unit"),
        RelatedColumn(_("due date"), text=lambda row: show_date(row.due_date), css="date"),
        RelatedColumn(_("status"), text=lambda row: row.get_status_display()),
    ),
)
