"""Meetings (hội nghị) that review agreements and raise follow-up items."""

import datetime

import django_filters
from django.utils.translation import gettext_lazy as _

from coordination import registry
from coordination.choices import MeetingKind
from coordination.filters import (
    RecordFilterSet,
    UnitRole,
    YearFilter,
    agreement_filter,
    sort_filter,
)
from coordination.models import FollowUp, Meeting, Task
from coordination.resources import YEAR, Column, RecordResource, text
from coordination.tables import ListColumn, RelatedColumn, RelatedTable, link_first, show_date
from coordination.widgets import (
    AgreementWidget,
    ChoiceWidget,
    DateWidget,
    IntegerWidget,
    ManyWidget,
    PersonWidget,
    UnitWidget,
)


class MeetingResource(RecordResource):
    title = text("title", max_length=300, required=True, aliases=("Tên hội nghị", "Hội nghị"))
    kind = Column("kind", ChoiceWidget(MeetingKind), required=True, aliases=("Hình thức",))
    held_on = Column(
        "held_on", DateWidget(), required=True, aliases=("Ngày", "Thời gian", "Ngày họp")
    )
    venue = text("venue", max_length=255, aliases=("Địa điểm tổ chức",))
    agreements = Column("agreements", ManyWidget(AgreementWidget()), aliases=("Văn bản",))
    period_from_year = Column("period_from_year", IntegerWidget(**YEAR))
    period_to_year = Column("period_to_year", IntegerWidget(**YEAR))
    co_chairs = Column("co_chairs", ManyWidget(PersonWidget()), aliases=("Chủ trì",))
    attending_units = Column(
        "attending_units", ManyWidget(UnitWidget()), aliases=("Thành phần", "Đơn vị tham dự")
    )
    summary = text("summary", multiline=True, aliases=("Nội dung",))
    conclusions = text("conclusions", multiline=True, aliases=("Kết luận hội nghị",))
    source_url = text("source_url", max_length=500, aliases=("Nguồn", "Link"))

    EXAMPLE = {
        "title": "Hội nghị tổng kết Quy chế phối hợp năm 2023",
        "kind": "Tổng kết",
        "held_on": datetime.date(2024, 3, 13),
        "venue": "Hội trường UBND huyện",
        "agreements": "01/QCPH-UBND-MTTQ",
        "period_from_year": 2023,
        "period_to_year": 2023,
        "co_chairs": "Hà Lê Thanh Chung; Võ Xuân Định",
        "attending_units": "Ủy ban nhân dân huyện Hàm Tân; "
        "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
    }

    class Meta:
        model = Meeting
        import_id_fields = ["title", "held_on"]


class MeetingFilterSet(RecordFilterSet):
    """Meetings held in a year, by attending unit, kind and agreement reviewed."""

    search_fields = ["title", "venue", "summary", "conclusions", "agreements__number"]
    unit_paths = {UnitRole.ANY: ["attending_units"]}

    year = YearFilter(field_name="held_on", lookup_expr="year")
    kind = django_filters.ChoiceFilter(
        choices=MeetingKind.choices, label=_("Kind"), empty_label=_("All")
    )
    agreement = agreement_filter(method="filter_agreement")
    sort = sort_filter(
        ("held_on", "held_on", _("Held on")),
        ("title", "title", _("Title")),
        ("updated_at", "updated", _("Last changed")),
    )

    class Meta:
        model = Meeting
        fields = ["q", "year", "unit", "predecessors", "kind", "agreement", "sort"]

    def filter_agreement(self, queryset, name, value):
        links = Meeting.agreements.through.objects.filter(agreement=value).values("meeting")
        return queryset.filter(pk__in=links)


KIND = registry.RecordKind(
    name="meetings",
    model=Meeting,
    resource=MeetingResource,
    owning_units=("attending_units",),
    named_by=("title", "held_on"),
    filterset=MeetingFilterSet,
    table=(
        ListColumn(_("title"), link_first("meetings"), "title"),
        ListColumn(_("kind"), lambda r, t: r.get_kind_display(), None, "label"),
        ListColumn(_("held on"), lambda r, t: show_date(r.held_on), "held_on", "date"),
        ListColumn(_("venue"), lambda r, t: r.venue),
    ),
    sections=(
        (None, ("title", "kind", "held_on", "venue", "source_url")),
        (_("Reviewed"), ("agreements", "period_from_year", "period_to_year")),
        (_("Participants"), ("co_chairs", "attending_units")),
        (_("Content"), ("summary", "conclusions")),
    ),
    related=(
        RelatedTable(
            _("follow-up items"),
            lambda r: FollowUp.objects.filter(meeting=r).order_by("-year", "-pk"),
            "followups",
        ),
        RelatedTable(
            _("tasks"),
            lambda r: Task.objects.filter(meeting=r).order_by("-year", "-pk"),
            "tasks",
        ),
    ),
    summary=(
        RelatedColumn(_("title"), ""),
        RelatedColumn(_("held on"), text=lambda row: show_date(row.held_on), css="date"),
        RelatedColumn(_("venue"), text=lambda row: row.venue),
    ),
)
