"""The yearly report as an .xlsx workbook, headed like the printed page."""

import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from coordination.reports.yearly import YearlyReport
from coordination.tables import unit_name


def write_report_xlsx(report: YearlyReport, stream) -> None:
    """The yearly report as a workbook headed like the printed page, with every outstanding
    row."""
    import xlsxwriter

    report.load_every_row()
    workbook = xlsxwriter.Workbook(stream, {"in_memory": True})
    sheet = workbook.add_worksheet(_("Report"))
    bold_center = workbook.add_format({"bold": True, "align": "center", "text_wrap": True})
    center = workbook.add_format({"align": "center", "italic": True})
    title = workbook.add_format({"bold": True, "align": "center", "font_size": 14})
    bold = workbook.add_format({"bold": True})
    header = workbook.add_format({"bold": True, "border": 1, "bg_color": "#EEEEEE"})
    cell = workbook.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    date = workbook.add_format({"border": 1, "num_format": "dd/mm/yyyy", "valign": "top"})
    number = workbook.add_format({"border": 1, "valign": "top"})
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 60)
    sheet.set_column(2, 9, 14)

    def text(value):
        # Nothing typed by a user is written as a formula.
        return sheet.write_string if isinstance(value, str) else sheet.write

    sheet.merge_range(0, 0, 0, 2, report.issuer_parent.upper(), bold_center)
    sheet.merge_range(1, 0, 1, 2, report.issuer.upper(), bold_center)
    sheet.merge_range(0, 3, 0, 6, _("SOCIALIST REPUBLIC OF VIETNAM"), bold_center)
    sheet.merge_range(1, 3, 1, 6, _("Independence – Freedom – Happiness"), bold_center)
    sheet.merge_range(2, 3, 2, 6, report.date_line, center)
    sheet.merge_range(4, 0, 4, 6, _("REPORT"), title)
    sheet.merge_range(
        5,
        0,
        5,
        6,
        _("Results of coordination work in %(year)d") % {"year": report.year},
        bold_center,
    )
    sheet.merge_range(6, 0, 6, 6, report.subject, center)
    row = 8
    for note in report.notes:
        sheet.write_string(row, 0, note)
        row += 1

    def table(start_row, heading, columns, values, groups=()):
        """`groups`: (label, first column, last column) written above the columns' labels."""
        if heading:
            sheet.write_string(start_row, 0, heading, bold)
            start_row += 1
        if groups:
            for label, first, last in groups:
                if first == last:
                    sheet.write_string(start_row, first, str(label), header)
                else:
                    sheet.merge_range(start_row, first, start_row, last, str(label), header)
            start_row += 1
        for column, label in enumerate(columns):
            sheet.write_string(start_row, column, str(label), header)
        for line in values:
            start_row += 1
            for column, value in enumerate(line):
                if isinstance(value, datetime.date):
                    sheet.write_datetime(start_row, column, value, date)
                elif value is None:
                    sheet.write_blank(start_row, column, None, cell)
                elif isinstance(value, (int, float, Decimal)):
                    sheet.write_number(start_row, column, float(value), number)
                else:
                    text(str(value))(start_row, column, str(value), cell)
        return start_row + 2

    sheet.write_string(row, 0, _("I. Summary"), bold)
    sheet.write_string(
        row + 1,
        0,
        _(
            "The status columns of each row add up to its total. Overdue (outstanding and "
            "past its due date) and the on-time rate are derived figures, counted apart: "
            "they are not part of the total."
        ),
    )
    row += 2
    for statuses, lines in (
        (report.task_statuses, report.task_rows),
        (report.followup_statuses, report.followup_rows),
    ):
        last_status = 2 + len(statuses)
        row = table(
            row,
            None,
            [_("No."), _("Records"), _("Total"), *statuses, _("Overdue"), _("On-time rate")],
            [
                [index, line.label, line.total, *line.statuses, line.overdue, line.on_time_text]
                for index, line in enumerate(lines, start=1)
            ],
            groups=[
                (_("By status (adds up to the total)"), 3, last_status),
                (_("Derived (not part of the total)"), last_status + 1, last_status + 2),
            ],
        )
    row = table(
        row,
        _("II. Indicators"),
        [_("No."), _("Indicator"), _("Unit"), _("Measure"), _("Target"), _("Actual"), _("Met")],
        [
            [
                index,
                indicator.name,
                unit_name(indicator.unit),
                indicator.measure,
                indicator.target,
                indicator.actual,
                met_text(indicator.is_met),
            ]
            for index, indicator in enumerate(report.indicators, start=1)
        ],
    )
    outstanding_columns = [
        _("No."),
        _("Content"),
        _("Unit"),
        _("Due date"),
        _("Status"),
        _("Days overdue"),
    ]
    row = table(
        row,
        _("III. Outstanding tasks"),
        outstanding_columns,
        [
            [
                index,
                task.content,
                unit_name(task.lead_unit),
                task.due_date,
                task.get_status_display(),
                task.days_overdue(report.today) or None,
            ]
            for index, task in enumerate(report.outstanding_tasks, start=1)
        ],
    )
    table(
        row,
        _("IV. Outstanding follow-up items"),
        [
            *outstanding_columns[:5],
            _("First raised in"),
            _("Times carried over"),
            *outstanding_columns[5:],
        ],
        [
            [
                index,
                item.content,
                unit_name(item.responsible_unit),
                item.due_date,
                item.get_status_display(),
                item.first_raised_year,
                item.times_carried or None,
                item.days_overdue(report.today) or None,
            ]
            for index, item in enumerate(report.outstanding_followups, start=1)
        ],
    )
    workbook.close()


def met_text(met: bool | None) -> str:
    if met is None:
        return ""
    return _("Yes") if met else _("No")
