"""The body and annex of a báo cáo drafted from the figures of a `YearlyReport`: the sentences
of its sections (which the user completes before issuing) and its annex tables, as text.

The figures are the page's: each summary line's statuses add up to its total (`counts`), and
the text says them so that they add up too: “2/6 nhiệm vụ hoàn thành (33,3%), 1 đã hủy; còn
3 chưa hoàn thành (2 chưa thực hiện, 1 đang thực hiện), trong đó 2 quá hạn”.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from coordination.choices import FollowUpStatus
from coordination.models import FollowUp, Task
from coordination.reports import yearly
from coordination.reports.counts import StatusCount, show_rate
from coordination.reports.yearly import YearlyReport
from coordination.tables import show_date, unit_name

#: The keys of the annex tables, in the document's order; a document issued before the
#: status columns had one summary table (`LEGACY_ANNEX_KEYS`, by position).
ANNEX_KEYS = ("tasks", "followups", "indicators", "outstanding_tasks", "outstanding_followups")
LEGACY_ANNEX_KEYS = ("summary", "indicators", "outstanding_tasks", "outstanding_followups")


@dataclass
class AnnexTable:
    title: str
    headers: list[str]
    rows: list[list[str]]
    #: Relative widths of the columns, and which hold numbers (aligned right).
    widths: list[int]
    numeric: list[bool]
    #: What the table shows (`ANNEX_KEYS`): the page lays out its own table under its title.
    key: str = ""
    #: [label, first column, last column] above the headers: the status columns, which add
    #: up to the total, and the derived figures apart.
    groups: list = field(default_factory=list)


def _lower(label) -> str:
    """“Đã hủy” → “đã hủy”, for a status named in a sentence."""
    text = str(label)
    return text[:1].lower() + text[1:]


def _count_text(count: StatusCount, columns, rules, *, noun: str, done: str, undone: str) -> str:
    """The line's figures in words, adding up to its total: the completed ones of the total,
    the other statuses that are not outstanding (cancelled, carried over, closed), then the
    outstanding ones by status and how many of them are overdue."""
    if not count.total:
        return f"không có {noun} nào" if noun else "không có"
    by_status = dict(zip([status for status, _label in columns], count.statuses, strict=False))
    labels = dict(columns)
    completed = f"{count.completed}/{count.total}{f' {noun}' if noun else ''} {done}"
    parts = [f"{completed} ({show_rate(_share(count.completed, count.total))})"]
    parts += [
        f"{number} {_lower(labels[status])}"
        for status, number in by_status.items()
        if number and status != rules.completed and status not in rules.outstanding
    ]
    text = ", ".join(parts)
    if count.outstanding:
        text += f"; còn {count.outstanding} {undone}"
        pending = [
            f"{by_status[status]} {_lower(labels[status])}"
            for status in rules.outstanding
            if by_status.get(status)
        ]
        if len(pending) > 1:
            text += f" ({', '.join(pending)})"
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
    task_words = {"done": "hoàn thành", "undone": "chưa hoàn thành"}
    item_words = {"done": "đã giải quyết", "undone": "chưa giải quyết xong"}
    tasks = _count_text(
        report.tasks, report.task_columns, Task.deadline_rules, noun="nhiệm vụ", **task_words
    )
    results = [f"1. Nhiệm vụ phối hợp: {tasks}."]
    items = _count_text(
        report.followups,
        report.followup_columns,
        FollowUp.deadline_rules,
        noun="nội dung",
        **item_words,
    )
    results.append(f"2. Nội dung theo dõi: {items}.")
    for item in report.followup_kinds:
        text = _count_text(
            item, report.followup_columns, FollowUp.deadline_rules, noun="", **item_words
        )
        results.append(f"- {item.label}: {text}.")
    if report.tasks.on_time_rate is not None:
        results.append(f"Tỷ lệ hoàn thành đúng hạn của nhiệm vụ: {report.tasks.on_time_text}.")
    if report.indicators:
        results.append(f"3. Các chỉ tiêu: {indicator_summary(report)}.")
    named = report.indicators[: yearly.NAMED_INDICATORS]
    for indicator in named:
        measure = indicator.measure
        if measure and measure != "%":  # “92,5%”, but “5 cuộc”
            measure = f" {measure}"
        met = {None: "chưa có số liệu", True: "đạt", False: "chưa đạt"}[indicator.is_met]
        results.append(
            f"- {indicator.name} ({unit_name(indicator.unit)}): thực hiện "
            f"{number_text(indicator.actual)}{measure}/chỉ tiêu {number_text(indicator.target)}"
            f"{measure} – {met}."
        )
    if report.indicator_count > len(named):
        others = report.indicator_count - len(named)
        results.append(f"- … và {others} chỉ tiêu khác (Biểu 3).")
    return {
        "opening": "\n".join(opening),
        "results": "\n".join(results),
        "limitations": "\n".join(limitation_lines(report)),
        "directions": "\n".join(direction_lines(report)),
        "recommendations": "",
    }


def indicator_summary(report: YearlyReport) -> str:
    """“12 chỉ tiêu: đạt 9, chưa đạt 2, chưa có số liệu 1”, over every indicator of the
    report (the database's counts; a thawed report, which has none, counts its rows)."""
    counts = report.indicator_counts
    if not counts:
        met = [indicator.is_met for indicator in report.indicators]
        counts = {
            "total": len(met),
            "met": met.count(True),
            "unmet": met.count(False),
            "unreported": met.count(None),
        }
    parts = [f"đạt {counts['met']}", f"chưa đạt {counts['unmet']}"]
    if counts["unreported"]:
        parts.append(f"chưa có số liệu {counts['unreported']}")
    return f"{counts['total']} chỉ tiêu, " + ", ".join(parts)


def limitation_lines(report: YearlyReport) -> list[str]:
    """The outstanding work by unit (the units with the most overdue records, in name order,
    then the others summed), each unit's most overdue records named and the others counted:
    the full list is the annex's."""
    if not report.unit_work:
        return ["Không có nhiệm vụ, nội dung nào còn tồn đọng."]
    lines = []
    for work in report.unit_work:
        line = f"- {work.name}: còn {work.outstanding} nội dung chưa hoàn thành"
        lines.append(f"{line}, trong đó {work.overdue} quá hạn." if work.overdue else f"{line}.")
        for record in work.named:
            lines.append(
                f"+ {clip(record.content)} ({_thread_text(record, report.year)}hạn "
                f"{show_date(record.due_date)}, quá hạn {record.days_overdue(report.today)} ngày)."
            )
        if work.overdue > len(work.named):
            more = work.overdue - len(work.named)
            lines.append(f"+ … và {more} nội dung quá hạn khác, xem Phụ lục.")
    others = report.other_units
    if others is not None:
        line = (
            f"- Các đơn vị khác ({others.name} đơn vị): còn {others.outstanding} nội dung "
            "chưa hoàn thành"
        )
        overdue = f", trong đó {others.overdue} quá hạn" if others.overdue else ""
        lines.append(f"{line}{overdue}, xem Phụ lục.")
    return lines


#: The longest record content the drafted text quotes; the annex has it whole.
CLIP = 200


def clip(text: str, length: int = CLIP) -> str:
    """`text` on one line, cut at a word before `length` characters with “…”."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return f"{cut.rstrip(' ,;.')}…"


def _thread_text(record, year: int) -> str:
    """“nêu từ năm 2024, đã chuyển năm sau 2 lần; ” for an item raised before `year`."""
    first = getattr(record, "first_raised_year", None)
    if not first or first >= year:
        return ""
    carried = getattr(record, "times_carried", 0)
    return f"nêu từ năm {first}{f', đã chuyển năm sau {carried} lần' if carried else ''}; "


def direction_lines(report: YearlyReport) -> list[str]:
    """What remains to do: the outstanding work, the items carried over, and the outstanding
    conclusions (the first ones named, the others counted)."""
    lines = []
    count = report.tasks.outstanding + report.followups.outstanding
    if count:
        lines.append(
            f"- Tiếp tục thực hiện, giải quyết dứt điểm {count} nhiệm vụ, nội dung còn tồn đọng "
            f"của năm {report.year}."
        )
    carried = _status_figure(report.followups, report.followup_columns, FollowUpStatus.CARRIED_OVER)
    if carried:
        lines.append(
            f"- Giải quyết {carried} nội dung theo dõi đã chuyển sang năm {report.year + 1}."
        )
    lines += [f"- {clip(item.content)}" for item in report.conclusions]
    more = report.conclusions_outstanding - len(report.conclusions)
    if more > 0:
        lines.append(f"- … và {more} kết luận khác chưa thực hiện xong, xem Phụ lục.")
    return lines


def _status_figure(count: StatusCount, columns, status: str) -> int:
    """The count of `status` in a summary line (0 when the line has no such column)."""
    by_status = dict(zip([value for value, _label in columns], count.statuses, strict=False))
    return by_status.get(status, 0)


def _summary_table(title: str, key: str, columns, lines: list[tuple[str, StatusCount]]):
    """A summary table: the total, one column per status (adding up to it), then the derived
    figures apart, as the page's (`_report_summary.html`) and the workbook's."""
    labels = [str(label) for _status, label in columns]
    last_status = 2 + len(labels)
    return AnnexTable(
        title=title,
        headers=[
            *(_("No."), _("Records"), _("Total")),
            *labels,
            *(_("Overdue"), _("On-time rate")),
        ],
        rows=[
            [
                number,
                str(item.label),
                str(item.total),
                *(str(value) for value in item.statuses),
                str(item.overdue),
                item.on_time_text,
            ]
            for number, item in lines
        ],
        # The number column holds “1.3”, the statuses' labels wrap: 16.5 cm in all.
        widths=[8, 27 - 2 * len(labels), 8, *[9] * len(labels), 8, 9],
        numeric=[True, False, True, *[True] * len(labels), True, True],
        key=key,
        groups=[
            [_("By status (adds up to the total)"), 3, last_status],
            [_("Derived (not part of the total)"), last_status + 1, last_status + 2],
        ],
    )


def annex_tables(report: YearlyReport, *, outstanding: bool = True) -> list[AnnexTable]:
    """The annex: the page's summaries (tasks; follow-up items, in all and by kind),
    indicators and outstanding tables, as text; the outstanding tables without their rows
    when not `outstanding` (the page, which lays out its own)."""
    outstanding_headers = [
        _("No."),
        _("Content"),
        _("Unit"),
        _("Due date"),
        _("Status"),
        _("Days overdue"),
    ]

    def outstanding_rows(records, threads=False):
        rows = []
        for index, record in enumerate(records if outstanding else (), start=1):
            thread = []
            if threads:
                first, carried = record.first_raised_year, record.times_carried
                thread = [str(first or ""), str(carried or "")]
            rows.append(
                [
                    str(index),
                    record.content,
                    unit_name(getattr(record, "lead_unit", None) or record.responsible_unit),
                    show_date(record.due_date),
                    record.get_status_display(),
                    *thread,
                    str(record.days_overdue(report.today) or ""),
                ]
            )
        return rows

    return [
        _summary_table(
            "Biểu 1. Tổng hợp kết quả thực hiện nhiệm vụ",
            "tasks",
            report.task_columns,
            [("1", report.tasks)],
        ),
        _summary_table(
            "Biểu 2. Tổng hợp kết quả giải quyết nội dung theo dõi",
            "followups",
            report.followup_columns,
            [
                ("1", report.followups),
                *((f"1.{index}", item) for index, item in enumerate(report.followup_kinds, 1)),
            ],
        ),
        AnnexTable(
            title="Biểu 3. Các chỉ tiêu",
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
            key="indicators",
        ),
        AnnexTable(
            title="Biểu 4. Nhiệm vụ chưa hoàn thành",
            headers=outstanding_headers,
            rows=outstanding_rows(report.outstanding_tasks),
            widths=[7, 32, 14, 12, 11, 8],
            numeric=[True, False, False, False, False, True],
            key="outstanding_tasks",
        ),
        AnnexTable(
            title="Biểu 5. Nội dung theo dõi chưa giải quyết xong",
            headers=[
                *outstanding_headers[:5],
                *(_("First raised in"), _("Times carried over")),
                outstanding_headers[5],
            ],
            rows=outstanding_rows(report.outstanding_followups, threads=True),
            widths=[7, 23, 12, 12, 10, 7, 7, 7],  # a date on one line
            numeric=[True, False, False, False, False, True, True, True],
            key="outstanding_followups",
        ),
    ]
