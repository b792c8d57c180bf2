"""Issuing a yearly report, and reading the reports issued.

Issuing gives a report its number, date and signers and keeps it as issued (`IssuedReport`):
the document and the figures and lists of its tables as JSON, and the .docx and .xlsx files
as they were given out. What it shows never changes after that; a correction is a new
version that names the one it corrects. The live report says what changed since the last
version (`changes_since`).

Who: `coordination.issue_report` issues, for the units the user may change (an agreement's
report, for its lead party); `coordination.view_issuedreport` reads the issued reports of
the units and agreements the user may read (`scoping`).
"""

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.translation import gettext as _

import coordination.reports.yearly as yearly
from coordination import scoping
from coordination.models import Agreement, FollowUp, IssuedReport, Task
from coordination.reports.counts import status_columns, status_key
from coordination.reports.document import (
    Edits,
    ReportDocument,
    build_document,
    report_units,
)
from coordination.reports.docx import TemplateProblem, render_docx, template_for
from coordination.reports.snapshot import figures, freeze, shown, thaw
from coordination.reports.workbook import write_report_xlsx
from coordination.reports.yearly import YearlyReport
from coordination.text import person_name

ISSUE_PERMISSION = "coordination.issue_report"
VIEW_PERMISSION = "coordination.view_issuedreport"
#: How `snapshot.figures()` names a status column (`counts.status_key()`): “status_done”.
STATUS_PREFIX = status_key("")
#: The derived counts the status columns replaced on the summary (their sums).
REPLACED_COLUMNS = {"completed", "outstanding"}
#: The key of the content's part the pages read: the document and the figures with the first
#: rows of each outstanding table (`snapshot.shown()`).
SHOWN = "shown"


def issued_reports(user) -> QuerySet[IssuedReport]:
    """The issued reports `user` may read: of their units, and of the agreements they read."""
    reports = IssuedReport.objects.select_related("unit", "agreement", "corrects")
    if not user.has_perm(VIEW_PERMISSION):
        return reports.none()
    unit_ids = scoping.visible_unit_ids(user)
    if unit_ids is None:
        return reports
    agreements = scoping.visible_to(Agreement.objects.all(), user).values("pk")
    return reports.filter(Q(unit__in=unit_ids) | Q(agreement__in=agreements))


def may_issue(user, report: YearlyReport) -> bool:
    """Whether `user` may issue `report`: the permission, and the lead unit is theirs."""
    if not user.has_perm(ISSUE_PERMISSION):
        return False
    allowed = scoping.allowed_unit_ids(user)
    if allowed is None:
        return True
    units = report_units(report)
    return bool(units) and units[0].pk in allowed


def subject_of(report: YearlyReport) -> dict:
    if report.unit is not None:
        return {"unit": report.unit}
    return {"agreement": report.agreement}


def may_read(user, issued: IssuedReport) -> bool:
    """Whether `user` may read `issued` (`issued_reports`, without a query for a unit's)."""
    if not user.has_perm(VIEW_PERMISSION):
        return False
    unit_ids = scoping.visible_unit_ids(user)
    if unit_ids is None or issued.unit_id in unit_ids:
        return True
    agreements = scoping.visible_to(Agreement.objects.filter(pk=issued.agreement_id), user)
    return issued.agreement_id is not None and agreements.exists()


def latest_issued(report: YearlyReport) -> IssuedReport | None:
    """The last version issued for the same unit or agreement in `report`'s year or before:
    the live report compares its figures with it when it is of the same year, and takes
    its signers and recipients as defaults (they rarely change from one report to the next).
    Its content's shown part only (`with_shown`)."""
    return with_shown(
        IssuedReport.objects.filter(**subject_of(report), year__lte=report.year)
        .defer("docx", "xlsx")
        .order_by("-year", "-version")
    ).first()


def with_shown(issued: QuerySet[IssuedReport]) -> QuerySet[IssuedReport]:
    """`issued` without its whole content, which lists every outstanding row (thousands for
    a big unit), but with the part of it the pages read (`shown_content`, the content's
    `SHOWN`; None in a report issued before it was kept, whose whole content is read then)."""
    return issued.defer("content").annotate(shown_content=KeyTransform(SHOWN, "content"))


def shown_content(issued: IssuedReport) -> dict:
    """What the pages read of `issued`: its `SHOWN` part, else its whole content."""
    return getattr(issued, "shown_content", None) or issued.content


def draft(
    report: YearlyReport,
    edits: Edits | None = None,
    latest: IssuedReport | None = None,
    *,
    every_row: bool = True,
) -> ReportDocument:
    """The live report's document, the user's edits laid over the defaults (`latest`'s
    signers and recipients, then the figures'); its annex without every outstanding row
    when not `every_row` (the page's, which shows the first ones)."""
    if edits is not None and edits.date:
        report.date = edits.date
    previous = ReportDocument.from_dict(shown_content(latest)["document"]) if latest else None
    return build_document(report, edits, previous=previous, every_row=every_row)


@transaction.atomic
def report_issue(
    *, report: YearlyReport, edits: Edits, user, corrects: IssuedReport | None = None
) -> IssuedReport:
    """Issue `report` (valid) with `edits`: dated `edits.date` or today, numbered, signed.

    Raises ValidationError (in Vietnamese) when the number is missing, when `corrects` is
    not a report of the same unit or agreement and year, or when the template fails.
    """
    errors = {}
    if not edits.number.strip():
        errors["number"] = _("Enter the report's number to issue it.")
    if corrects is not None and (
        corrects.year != report.year
        or corrects.unit_id != (report.unit.pk if report.unit else None)
        or corrects.agreement_id != (report.agreement.pk if report.agreement else None)
    ):
        errors["corrects"] = _("A correction must be of the same unit or agreement and year.")
    if errors:
        raise ValidationError(errors)
    # The subject's row locked: two reports issued at once get different versions.
    subject = report.unit or report.agreement
    type(subject).objects.select_for_update().filter(pk=subject.pk).first()
    edits.date = edits.date or timezone.localdate()
    document = draft(report, edits, latest_issued(report))
    document.issued = True
    try:
        docx = render_docx(document, template_for(report_units(report)))
    except TemplateProblem as problem:
        raise ValidationError(str(problem)) from problem
    workbook = io.BytesIO()
    write_report_xlsx(report, workbook)
    existing = IssuedReport.objects.filter(**subject_of(report), year=report.year)
    version = (existing.aggregate(last=Max("version"))["last"] or 0) + 1
    signers = ", ".join(p.signature.name for p in document.parties if p.signature.name)
    return IssuedReport.objects.create(
        **subject_of(report),
        year=report.year,
        version=version,
        corrects=corrects,
        number=document.number,
        issued_on=document.date,
        subject_name=report.subject,
        signers=signers[:500],
        content=snapshot_content(document, report),
        docx=docx,
        xlsx=workbook.getvalue(),
        issued_by=user,
        issued_by_name=person_name(user),
    )


def snapshot_content(document: ReportDocument, report: YearlyReport) -> dict:
    """An issued report's content: its document and its figures with every row, and their
    `SHOWN` part: the first `ANNEX_ROWS` rows of each table, which its page shows."""
    kept, frozen = document.to_dict(), freeze(report)
    page_document = {
        **kept,
        "annex": [{**table, "rows": table["rows"][: yearly.ANNEX_ROWS]} for table in kept["annex"]],
    }
    return {
        "document": kept,
        "report": frozen,
        SHOWN: {"document": page_document, "report": shown(frozen)},
    }


def issued_document(issued: IssuedReport) -> ReportDocument:
    """The issued report's document, every row of its annex."""
    return ReportDocument.from_dict(issued.content["document"])


def issued_figures(issued: IssuedReport) -> YearlyReport:
    """The issued report's tables, every row, as a report the page's tables read."""
    return thaw(issued.content["report"])


def issued_page(issued: IssuedReport) -> tuple[ReportDocument, YearlyReport]:
    """The issued report's document and tables as its page shows them: the first rows of
    each outstanding table, with their counts (`shown_content`)."""
    content = shown_content(issued)
    return ReportDocument.from_dict(content["document"]), thaw(content["report"])


@dataclass(frozen=True)
class Change:
    """A figure that differs between the last issued version and the live report."""

    line: str
    column: str
    issued: str
    now: str


def column_labels() -> dict[str, str]:
    """The name of each column `snapshot.figures()` compares, as the summary heads it: the
    total, one column per status of tasks and of follow-up items (`counts.status_key()`),
    then the derived figures."""
    labels = {"total": _("Total")}
    for model in (Task, FollowUp):
        labels.update({key: str(label) for key, _status, label in status_columns(model)})
    return {
        **labels,
        "completed": _("Completed"),
        "outstanding": _("Outstanding"),
        "overdue": _("Overdue"),
        "on_time_rate": _("On-time rate"),
        "actual": _("Actual"),
    }


def changes_since(report: YearlyReport, issued: IssuedReport) -> list[Change]:
    """The figures of the live `report` that differ from `issued`, in the summary's order;
    a line or indicator on one side only counts as “—” on the other.

    The columns compared are those the issued report's summary showed: its status columns
    (not the completed and outstanding counts, which they include); for a report issued
    before the status columns, the completed and outstanding counts it showed instead."""
    kept = thaw(shown_content(issued)["report"])
    before, now = figures(kept), figures(report)
    statuses = {status_key(status) for status, _ in [*kept.task_columns, *kept.followup_columns]}
    shown = statuses or REPLACED_COLUMNS
    labels = column_labels()
    return [
        Change(line, labels.get(column, column), before.get(key, "—"), now.get(key, "—"))
        for key in dict.fromkeys([*before, *now])
        for line, column in [key]
        if before.get(key) != now.get(key)
        and (
            column in shown
            or (column not in REPLACED_COLUMNS and not column.startswith(STATUS_PREFIX))
        )
    ]
