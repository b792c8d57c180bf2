"""The body and annex of a báo cáo drafted from the figures of a `YearlyReport`: the sentences
of its sections (which the user completes before issuing) and its annex tables, as text."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from coordination.choices import FollowUpKind
from coordination.reports.counts import StatusCount, show_rate
from coordination.reports.yearly import YearlyReport
from coordination.tables import show_date, unit_name


@dataclass
class AnnexTable:
    title: str
    headers: list[str]
    rows: list[list[str]]
    #: Relative widths of the columns, and which hold numbers (aligned right).
    widths: list[int]
    numeric: list[bool]


def _count_text(count: StatusCount, noun: str, done: str) -> str:
    text = f"{count.total} {noun}; {done} {count.completed}/{count.total}"
    if count.total:
        text += f" ({show_rate(_share(count.completed, count.total))})"
    text += f"; còn {count.outstanding} chưa hoàn thành"
    if count.overdue:
        text += f", trong đó {count.overdue} quá hạn"
    return text


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"))


def number_text(value) -> str:
    """A decimal as offices write it: “99,7”, “253”."""
    if value is None:
        return "—"
    text = format(Decimal(value).normalize(), "f")
    return text.replace(".", ",")


def default_texts(report: YearlyReport) -> dict[str, str]:
    """The body's sections as the figures say them; the user completes them before issuing."""
    issuer = report.unit.full_name if report.unit else report.issuer
    opening = [
        f"Thực hiện {report.agreement.number} – {report.agreement.title}, các bên báo cáo kết "
        f"quả thực hiện năm {report.year} như sau:"
        if report.agreement is not None
        else f"{issuer} báo cáo kết quả thực hiện công tác phối hợp năm {report.year} như sau:"
    ]
    results = [f"1. Nhiệm vụ phối hợp: {_count_text(report.tasks, 'nhiệm vụ', 'hoàn thành')}."]
    results.append(
        f"2. Nội dung theo dõi: {_count_text(report.followups, 'nội dung', 'đã giải quyết')}."
    )
    results += [
        f"- {item.label}: đã giải quyết {item.completed}/{item.total}."
        for item in report.followup_kinds
    ]
    if report.tasks.on_time_rate is not None:
        results.append(f"Tỷ lệ hoàn thành đúng hạn của nhiệm vụ: {report.tasks.on_time_text}.")
    if report.indicators:
        results.append("3. Các chỉ tiêu:")
    for indicator in report.indicators:
        measure = indicator.measure
        if measure and measure != "%":  # “92,5%”, but “5 cuộc”
            measure = f" {measure}"
        met = {None: "chưa có số liệu", True: "đạt", False: "chưa đạt"}[indicator.is_met]
        results.append(
            f"- {indicator.name} ({unit_name(indicator.unit)}): thực hiện "
            f"{number_text(indicator.actual)}{measure}/chỉ tiêu {number_text(indicator.target)}"
            f"{measure} – {met}."
        )
    return {
        "opening": "\n".join(opening),
        "results": "\n".join(results),
        "limitations": "\n".join(limitation_lines(report)),
        "directions": "\n".join(direction_lines(report)),
        "recommendations": "",
    }


def limitation_lines(report: YearlyReport) -> list[str]:
    """The outstanding work by unit, its overdue items named."""
    by_unit: dict[str, list] = {}
    for record in [*report.outstanding_tasks, *report.outstanding_followups]:
        unit = getattr(record, "lead_unit", None) or getattr(record, "responsible_unit", None)
        by_unit.setdefault(unit_name(unit), []).append(record)
    if not by_unit:
        return ["Không có nhiệm vụ, nội dung nào còn tồn đọng."]
    lines = []
    for name, records in sorted(by_unit.items()):
        overdue = [r for r in records if r.days_overdue(report.today)]
        line = f"- {name}: còn {len(records)} nội dung chưa hoàn thành"
        lines.append(f"{line}, trong đó {len(overdue)} quá hạn." if overdue else f"{line}.")
        for record in overdue:
            lines.append(
                f"+ {record.content} (hạn {show_date(record.due_date)}, quá hạn "
                f"{record.days_overdue(report.today)} ngày)."
            )
    return lines


def direction_lines(report: YearlyReport) -> list[str]:
    lines = []
    count = len(report.outstanding_tasks) + len(report.outstanding_followups)
    if count:
        lines.append(
            f"- Tiếp tục thực hiện, giải quyết dứt điểm {count} nhiệm vụ, nội dung còn tồn đọng "
            f"của năm {report.year}."
        )
    lines += [
        f"- {item.content}"
        for item in report.outstanding_followups
        if item.kind == FollowUpKind.CONCLUSION
    ]
    return lines


def annex_tables(report: YearlyReport) -> list[AnnexTable]:
    """The annex: the page's summary, indicators and outstanding tables, as text."""
    summary = [report.tasks, report.followups, *report.followup_kinds]
    outstanding_headers = [
        _("No."),
        _("Content"),
        _("Unit"),
        _("Due date"),
        _("Status"),
        _("Days overdue"),
    ]

    def outstanding_rows(records):
        return [
            [
                str(index),
                record.content,
                unit_name(getattr(record, "lead_unit", None) or record.responsible_unit),
                show_date(record.due_date),
                record.get_status_display(),
                str(record.days_overdue(report.today) or ""),
            ]
            for index, record in enumerate(records, start=1)
        ]

    return [
        AnnexTable(
            title="Biểu 1. Tổng hợp kết quả",
            headers=[
                _("No."),
                _("Records"),
                _("Total"),
                _("Completed"),
                _("Outstanding"),
                _("Overdue"),
                _("On-time rate"),
            ],
            rows=[
                [
                    str(index),
                    item.label,
                    *(str(value) for value in (item.total, item.completed)),
                    *(str(value) for value in (item.outstanding, item.overdue)),
                    item.on_time_text,
                ]
                for index, item in enumerate(summary, start=1)
            ],
            widths=[6, 28, 9, 10, 10, 9, 10],
            numeric=[True, False, True, True, True, True, True],
        ),
        AnnexTable(
            title="Biểu 2. Các chỉ tiêu",
            headers=[
                *(_("No."), _("Indicator"), _("Unit"), _("Measure")),
                *(_("Target"), _("Actual"), _("Met")),
            ],
            rows=[
                [
                    *(str(index), indicator.name, unit_name(indicator.unit), indicator.measure),
                    *(number_text(indicator.target), number_text(indicator.actual)),
                    {None: "—", True: _("Yes"), False: _("No")}[indicator.is_met],
                ]
                for index, indicator in enumerate(report.indicators, start=1)
            ],
            widths=[6, 28, 14, 8, 9, 9, 8],
            numeric=[True, False, False, False, True, True, False],
        ),
        AnnexTable(
            title="Biểu 3. Nhiệm vụ chưa hoàn thành",
            headers=outstanding_headers,
            rows=outstanding_rows(report.outstanding_tasks),
            widths=[6, 33, 14, 12, 11, 8],
            numeric=[True, False, False, False, False, True],
        ),
        AnnexTable(
            title="Biểu 4. Nội dung theo dõi chưa giải quyết xong",
            headers=outstanding_headers,
            rows=outstanding_rows(report.outstanding_followups),
            widths=[6, 33, 14, 12, 11, 8],
            numeric=[True, False, False, False, False, True],
        ),
    ]
