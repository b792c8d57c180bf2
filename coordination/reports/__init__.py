"""The auditors' summaries: outstanding commitments per unit and year, and the yearly report.

Definitions (the ones local governments publish for on-time handling):

- outstanding: a task not done or cancelled, an item open or in progress;
- overdue: outstanding with a due date before today; its age is today − due date, in days;
- completed on time: done (resolved) on or before the due date; late: after it;
- due in the period: every completed record with a due date, and every record whose due date
  has passed without completion (overdue, or a follow-up carried over after its due date);
- late rate = (late still open + late completed) ÷ due in the period; on-time rate = 100% − it.

Cancelled tasks and closed items count in the totals but not in the rates; records without a
due date cannot be late. Every status has its column, so that the status columns of a row add
up to its total; outstanding, overdue and the rates are shown apart, as derived figures.

The modules: `counts` (the conditional counts, from the models' `deadline_rules`),
`parameters` (the pages' parameters: the kinds' FilterSets bound, and the choice of records),
`outstanding` (the unit × year table and its chart), `yearly` (the yearly report's data) and
`workbook` (the yearly report as .xlsx).
"""

from coordination.reports.counts import AGEING, StatusCount, counts, rate, show_rate
from coordination.reports.outstanding import OutstandingRow, OutstandingTable, outstanding_table
from coordination.reports.parameters import (
    OUTSTANDING_PARAMETERS,
    REPORT_PARAMETERS,
    OutstandingForm,
)
from coordination.reports.workbook import write_report_xlsx
from coordination.reports.yearly import YearlyReport, yearly_report

__all__ = [
    "AGEING",
    "OUTSTANDING_PARAMETERS",
    "REPORT_PARAMETERS",
    "OutstandingForm",
    "OutstandingRow",
    "OutstandingTable",
    "StatusCount",
    "YearlyReport",
    "counts",
    "outstanding_table",
    "rate",
    "show_rate",
    "write_report_xlsx",
    "yearly_report",
]
