"""The yearly report's pages: the live báo cáo (its page, .docx and .xlsx; edited, then
issued) and the issued reports (their list, their page and their files, as issued)."""

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from coordination import exporting, reports
from coordination.db_routers import replica_reads
from coordination.jobs import services as jobs
from coordination.models import Job
from coordination.reports import issuing
from coordination.reports.document import report_units
from coordination.reports.docx import DOCX_CONTENT_TYPE, TemplateProblem, render_docx, template_for
from coordination.reports.forms import (
    DocumentForm,
    IssuedFilterForm,
    SignatureFormSet,
    signature_initial,
    signatures_of,
)
from coordination.views import query_without

SIGNERS = "signers"


def docx_response(content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def xlsx_response(content: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exporting.FORMATS["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def corrected_report(request, value):
    """The issued report named by `corrects` (GET or POST), if the user may read it."""
    try:
        pk = DocumentForm.base_fields["corrects"].clean(value)
    except ValidationError:
        return None
    if pk is None:
        return None
    return issuing.issued_reports(request.user).filter(pk=pk).first()


def is_long(result) -> bool:
    """Whether the report's documents list more outstanding rows than REPORT_JOB_ROWS."""
    rows = result.outstanding_task_count + result.outstanding_followup_count
    return rows > settings.REPORT_JOB_ROWS


def report_job(request, result, file_format: str, **extra):
    """The report's .xlsx or .docx written by a job (a long annex): its page."""
    job = jobs.job_enqueue(
        owner=request.user,
        kind=Job.Kind.REPORT,
        title=_("Yearly report %(name)s (.%(format)s)")
        % {"name": result.file_name.removesuffix(".xlsx"), "format": file_format},
        query=request.GET.urlencode(),
        format=file_format,
        **extra,
    )
    return redirect("coordination:job", pk=job.pk)


@staff_member_required
@replica_reads
def report(request):
    """The yearly report of a unit or an agreement: its page laid out as the báo cáo, its
    .docx and .xlsx; edited (POST) before it is downloaded or issued."""
    result = reports.yearly_report(request)
    if result.forbidden:
        raise PermissionDenied
    context = {"report": result, "query": query_without(request, "format")}
    if not result.valid:
        status = 400 if result.bound else 200
        return render(request, "coordination/records/report.html", context, status=status)
    file_format = request.GET.get("format")
    if request.method != "POST" and file_format in ("xlsx", "docx") and is_long(result):
        return report_job(request, result, file_format)
    if request.method != "POST" and file_format == "xlsx":
        stream = exporting.spooled_file()
        reports.write_report_xlsx(result, stream)
        stream.seek(0)
        return FileResponse(
            stream,
            as_attachment=True,
            filename=result.file_name,
            content_type=exporting.FORMATS["xlsx"],
        )
    may_issue = issuing.may_issue(request.user, result)
    latest = issuing.latest_issued(result)
    status = 200
    if request.method == "POST":
        form = DocumentForm(request.POST)
        signers = SignatureFormSet(request.POST, prefix=SIGNERS)
        valid = form.is_valid() and signers.is_valid()
        corrects = corrected_report(request, request.POST.get("corrects"))
        if valid and form.cleaned_data["corrects"] and corrects is None:
            form.add_error(None, _("The report to correct was not found."))
            valid = False
        edits = form.edits(signatures_of(signers)) if valid else None
        action = form.cleaned_data.get("action") if valid else "preview"
        if action == "issue":
            if not may_issue:
                raise PermissionDenied
            try:
                issued = issuing.report_issue(
                    report=result, edits=edits, user=request.user, corrects=corrects
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
                valid = False
            else:
                return redirect("coordination:issued-report", pk=issued.pk)
        # The page shows the first rows of the annex; the .docx lists them all.
        downloads = action == "docx" and valid
        if downloads and is_long(result):
            # The edited document (a correction's too) lists every row, as the GET's does.
            return report_job(request, result, "docx", edits=edits.to_dict())
        document = issuing.draft(result, edits if valid else None, latest, every_row=downloads)
        if downloads:
            try:
                content = render_docx(document, template_for(report_units(result)))
            except TemplateProblem as problem:
                form.add_error(None, str(problem))
            else:
                return docx_response(content, result.file_name.replace(".xlsx", ".docx"))
        status = 200 if valid else 400
    else:
        corrects = corrected_report(request, request.GET.get("corrects"))
        document = issuing.draft(result, None, latest, every_row=file_format == "docx")
        if file_format == "docx":
            try:
                content = render_docx(document, template_for(report_units(result)))
            except TemplateProblem as problem:
                context["template_problem"] = str(problem)
            else:
                return docx_response(content, result.file_name.replace(".xlsx", ".docx"))
        initial = DocumentForm.initial_of(document)
        initial["corrects"] = corrects.pk if corrects else None
        form = DocumentForm(initial=initial)
        signers = SignatureFormSet(initial=signature_initial(document), prefix=SIGNERS)
    last = latest if latest is not None and latest.year == result.year else None
    if last is not None and not issuing.may_read(request.user, last):
        last = None
    context.update(
        document=document,
        form=form,
        signers=signers,
        may_issue=may_issue,
        corrects=corrects,
        last_issued=last,
        changes=issuing.changes_since(result, last) if last else [],
    )
    return render(request, "coordination/records/report.html", context, status=status)


@staff_member_required
@replica_reads
def issued_report_list(request):
    """The issued reports the user may read, by year and unit or agreement."""
    if not request.user.has_perm(issuing.VIEW_PERMISSION):
        raise PermissionDenied
    form = IssuedFilterForm(request.GET or None)
    issued = issuing.issued_reports(request.user)
    valid = not form.is_bound or form.is_valid()
    if not valid:
        issued = issued.none()
    elif form.is_bound:
        for name in ("year", "unit", "agreement"):
            if form.cleaned_data.get(name):
                issued = issued.filter(**{name: form.cleaned_data[name]})
    context = {"form": form, "issued_reports": issued.defer("docx", "xlsx", "content")[:500]}
    return render(
        request,
        "coordination/records/issued_list.html",
        context,
        status=200 if valid else 400,
    )


@staff_member_required
@replica_reads
def issued_report(request, pk: int):
    """An issued report as it was issued: its page, and ?format=docx or xlsx its files."""
    file_format = request.GET.get("format")
    issued = issuing.issued_reports(request.user)
    if not file_format:
        issued = issuing.with_shown(issued)
    issued = get_object_or_404(issued, pk=pk)
    name = f"report-{issued.year}-{issued.pk}-v{issued.version}"
    if file_format == "docx":
        return docx_response(bytes(issued.docx), f"{name}.docx")
    if file_format == "xlsx":
        return xlsx_response(bytes(issued.xlsx), f"{name}.xlsx")
    if file_format:
        raise Http404
    subject = {"unit": issued.unit_id} if issued.unit_id else {"agreement": issued.agreement_id}
    correct_url = None
    live = reports.YearlyReport(form=None, unit=issued.unit, agreement=issued.agreement)
    if issuing.may_issue(request.user, live):
        query = "&".join(f"{key}={value}" for key, value in subject.items())
        correct_url = (
            f"{reverse('coordination:report')}?year={issued.year}&{query}&corrects={issued.pk}"
        )
    document, figures = issuing.issued_page(issued)
    context = {
        "issued": issued,
        "document": document,
        "report": figures,
        "versions": issuing.issued_reports(request.user)
        .filter(year=issued.year, **subject)
        .defer("docx", "xlsx", "content")
        .order_by("version"),
        "correct_url": correct_url,
    }
    return render(request, "coordination/records/issued_report.html", context)
