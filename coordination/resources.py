"""Spreadsheet mappings: the Vietnamese columns of each kind of record, for import and export.

Each `<Model>Resource` lists its columns in the order the exported file shows them. A column's
header is the Vietnamese label of its model field (or `header=`); on import, headers are
matched ignoring case, diacritics, spacing and punctuation, and `aliases` name the variants
offices commonly use. `Meta.import_id_fields` is the natural key an import upserts on when a
row has no "Mã" (record number).
"""

import datetime

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from coordination.choices import (
    AgreementKind,
    AgreementStatus,
    FollowUpKind,
    FollowUpStatus,
    IndicatorComparison,
    MeetingKind,
    TaskStatus,
    UnitKind,
    UnitLevel,
)
from coordination.models import (
    Agreement,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
)
from coordination.widgets import (
    AgreementWidget,
    BooleanWidget,
    ChoiceWidget,
    CodeWidget,
    DateWidget,
    DecimalWidget,
    IntegerWidget,
    ManyWidget,
    MeetingWidget,
    PersonWidget,
    RecordIdWidget,
    TextWidget,
    UnitWidget,
    VersionWidget,
)

YEAR = {"minimum": 1945, "maximum": 2100}


class Column(fields.Field):
    """One spreadsheet column bound to a model attribute."""

    def __init__(
        self,
        attribute: str,
        widget,
        *,
        header=None,
        required: bool = False,
        aliases: tuple[str, ...] = (),
        help_text=None,
    ):
        super().__init__(attribute=attribute, column_name=header, widget=widget)
        # import-export sets column_name to the attribute name; the header is kept apart.
        self.header = header
        self.required = required
        self.aliases = aliases
        self.help_text = help_text

    @property
    def is_many(self) -> bool:
        return isinstance(self.widget, ManyWidget)


class RecordResource(resources.ModelResource):
    """Base of the coordination resources; see the module docstring."""

    id = Column(
        "id",
        RecordIdWidget(),
        header=_("Record no."),
        aliases=("Ma", "ID", "Mã số", "Mã bản ghi"),
        help_text=_(
            "The system's number of the record, filled in by the export. Leave it empty for "
            "new rows; keep it to update the record it names."
        ),
    )

    updated_at = Column(
        "updated_at",
        VersionWidget(),
        header=_("Version"),
        aliases=("Phien ban", "Version", "Cập nhật lúc"),
        help_text=_(
            "Filled in by the export: when the record was last changed. Do not edit it. When "
            "the record has been changed since, the row is refused rather than overwriting "
            "those changes; export again, or empty the cell to overwrite them on purpose."
        ),
    )

    #: Columns that say which units a row belongs to (for unit staff's scope).
    scope_attributes: tuple[str, ...] = ()
    #: The example row of the downloadable template, by attribute.
    EXAMPLE: dict = {}

    class Meta:
        abstract = True

    @classmethod
    def columns(cls) -> list[Column]:
        """The columns in file order, each with its header resolved from the model if unset."""
        result = []
        # The version goes last, out of the way of the columns people read and edit.
        ordered = sorted(cls.fields.values(), key=lambda column: column.attribute == "updated_at")
        for column in ordered:
            if column.header is None:
                model_field = cls._meta.model._meta.get_field(column.attribute)
                column.header = capfirst(model_field.verbose_name)
            column.column_name = column.header
            result.append(column)
        return result


def text(attribute, *, multiline=False, max_length=None, **options):
    return Column(attribute, TextWidget(multiline=multiline, max_length=max_length), **options)


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

    scope_attributes = ("self",)

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
        fields = [
            "id",
            "full_name",
            "short_name",
            "kind",
            "level",
            "locality",
            "parent",
            "is_active",
            "dissolved_on",
            "successor",
            "updated_at",
        ]
        import_id_fields = ["locality", "full_name"]


class PersonResource(RecordResource):
    full_name = text(
        "full_name", max_length=150, required=True, header=_("Full name"), aliases=("Họ tên",)
    )
    position = text("position", max_length=255, aliases=("Chức vụ",))
    unit = Column("unit", UnitWidget(), required=True, aliases=("Cơ quan", "Đơn vị công tác"))
    is_active = Column("is_active", BooleanWidget(default=True))

    scope_attributes = ("unit",)

    EXAMPLE = {
        "full_name": "Hà Lê Thanh Chung",
        "position": "Chủ tịch UBND huyện",
        "unit": "Ủy ban nhân dân huyện Hàm Tân",
        "is_active": "Có",
    }

    class Meta:
        model = Person
        fields = ["id", "full_name", "position", "unit", "is_active", "updated_at"]
        import_id_fields = ["full_name", "unit"]


class AgreementResource(RecordResource):
    number = Column(
        "number",
        CodeWidget(max_length=100),
        required=True,
        aliases=("Số", "Số hiệu", "Số văn bản", "Ký hiệu"),
    )
    title = text("title", max_length=500, required=True, aliases=("Tên văn bản", "Nội dung"))
    kind = Column("kind", ChoiceWidget(AgreementKind), required=True, aliases=("Loại văn bản",))
    signed_on = Column("signed_on", DateWidget(), aliases=("Ngày ban hành",))
    start_year = Column("start_year", IntegerWidget(**YEAR), required=True, aliases=("Từ năm",))
    end_year = Column("end_year", IntegerWidget(**YEAR), required=True, aliases=("Đến năm",))
    status = Column("status", ChoiceWidget(AgreementStatus), aliases=("Hiệu lực",))
    lead_units = Column(
        "lead_units",
        ManyWidget(UnitWidget()),
        header=_("Lead units"),
        aliases=("Cơ quan chủ trì",),
        help_text=_("The units that lead the agreement, one per line or separated by “;”."),
    )
    party_units = Column(
        "party_units",
        ManyWidget(UnitWidget()),
        header=_("Other parties"),
        aliases=("Đơn vị tham gia", "Các bên tham gia", "Đơn vị phối hợp"),
        help_text=_("The other units that signed, one per line or separated by “;”."),
    )
    parent = Column("parent", AgreementWidget(), aliases=("Thuộc quy chế",))
    supersedes = Column("supersedes", AgreementWidget())
    notes = text("notes", multiline=True, aliases=("Ghi chú",))

    scope_attributes = ("lead_units", "party_units")

    EXAMPLE = {
        "number": "01/QCPH-UBND-MTTQ",
        "title": "Quy chế phối hợp công tác giữa UBND huyện và Ban Thường trực UBMTTQVN huyện",
        "kind": "Quy chế phối hợp",
        "signed_on": datetime.date(2021, 8, 10),
        "start_year": 2021,
        "end_year": 2026,
        "status": "Còn hiệu lực",
        "lead_units": "Ủy ban nhân dân huyện Hàm Tân",
        "party_units": "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Hàm Tân",
    }

    class Meta:
        model = Agreement
        fields = [
            "id",
            "number",
            "title",
            "kind",
            "signed_on",
            "start_year",
            "end_year",
            "status",
            "lead_units",
            "party_units",
            "parent",
            "supersedes",
            "notes",
            "updated_at",
        ]
        import_id_fields = ["number"]


class SignatoryResource(RecordResource):
    agreement = Column("agreement", AgreementWidget(), required=True, aliases=("Số văn bản",))
    unit = Column("unit", UnitWidget(), required=True, aliases=("Đơn vị",))
    person = Column("person", PersonWidget(), required=True, aliases=("Người ký", "Họ tên"))
    position = text("position", max_length=255, aliases=("Chức vụ",))
    signed_on = Column("signed_on", DateWidget())

    scope_attributes = ("unit",)

    EXAMPLE = {
        "agreement": "01/QCPH-UBND-MTTQ",
        "person": "Hà Lê Thanh Chung",
        "unit": "Ủy ban nhân dân huyện Hàm Tân",
        "position": "Chủ tịch UBND huyện",
        "signed_on": datetime.date(2021, 8, 10),
    }

    class Meta:
        model = Signatory
        fields = ["id", "agreement", "person", "unit", "position", "signed_on", "updated_at"]
        import_id_fields = ["agreement", "person"]


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

    scope_attributes = ("attending_units",)

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
        fields = [
            "id",
            "title",
            "kind",
            "held_on",
            "venue",
            "agreements",
            "period_from_year",
            "period_to_year",
            "co_chairs",
            "attending_units",
            "summary",
            "conclusions",
            "source_url",
            "updated_at",
        ]
        import_id_fields = ["title", "held_on"]


DUE_DATE_ALIASES = (
    "Thời hạn",
    "Hạn hoàn thành",
    "Thời hạn hoàn thành",
    "Thời gian hoàn thành",
    "Hạn giải quyết",
    "Hạn",
    "Deadline",
)
STATUS_ALIASES = ("Tình trạng", "Kết quả thực hiện (trạng thái)", "Tình hình thực hiện")


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
    status = Column("status", ChoiceWidget(TaskStatus), aliases=STATUS_ALIASES)
    progress = Column(
        "progress", IntegerWidget(minimum=0, maximum=100), aliases=("Tiến độ", "Tỷ lệ (%)")
    )
    completed_on = Column("completed_on", DateWidget())
    result = text("result", multiline=True, aliases=("Kết quả thực hiện",))
    meeting = Column("meeting", MeetingWidget(), aliases=("Hội nghị",))

    scope_attributes = ("lead_unit",)

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
        fields = [
            "id",
            "agreement",
            "year",
            "content",
            "lead_unit",
            "coordinating_units",
            "assignee",
            "start_date",
            "due_date",
            "status",
            "progress",
            "completed_on",
            "result",
            "meeting",
            "updated_at",
        ]
        import_id_fields = ["agreement", "year", "content"]


class FollowUpResource(RecordResource):
    kind = Column(
        "kind", ChoiceWidget(FollowUpKind), required=True, aliases=("Loại nội dung", "Phân loại")
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
        aliases=("Đơn vị giải quyết", "Cơ quan giải quyết", "Đơn vị thực hiện", "Đơn vị"),
    )
    agreement = Column("agreement", AgreementWidget(), aliases=("Số văn bản", "Văn bản"))
    meeting = Column("meeting", MeetingWidget(), aliases=("Hội nghị",))
    raised_on = Column("raised_on", DateWidget(), aliases=("Ngày tiếp nhận", "Ngày kiến nghị"))
    source_reference = text("source_reference", max_length=255, aliases=("Nguồn", "Căn cứ"))
    due_date = Column("due_date", DateWidget(), aliases=DUE_DATE_ALIASES)
    status = Column("status", ChoiceWidget(FollowUpStatus), aliases=STATUS_ALIASES)
    resolution = text("resolution", multiline=True, aliases=("Kết quả", "Kết quả xử lý"))
    resolved_on = Column("resolved_on", DateWidget(), aliases=("Ngày hoàn thành",))
    carried_over_from = Column(
        "carried_over_from",
        RecordIdWidget(),
        header=_("Carried over from record no."),
        help_text=_("The record number of last year's item this one continues."),
    )

    scope_attributes = ("responsible_unit",)

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
        fields = [
            "id",
            "kind",
            "year",
            "content",
            "responsible_unit",
            "agreement",
            "meeting",
            "raised_on",
            "source_reference",
            "due_date",
            "status",
            "resolution",
            "resolved_on",
            "carried_over_from",
            "updated_at",
        ]
        import_id_fields = ["year", "responsible_unit", "kind", "content"]


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

    scope_attributes = ("unit",)

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
        fields = [
            "id",
            "agreement",
            "year",
            "unit",
            "name",
            "measure",
            "comparison",
            "target",
            "actual",
            "note",
            "updated_at",
        ]
        import_id_fields = ["agreement", "year", "unit", "name"]


#: The KIND names of the command line, in the order people work.
RESOURCES = {
    "units": UnitResource,
    "people": PersonResource,
    "agreements": AgreementResource,
    "signatories": SignatoryResource,
    "meetings": MeetingResource,
    "tasks": TaskResource,
    "followups": FollowUpResource,
    "indicators": IndicatorResource,
}
