"""Views outside the admin: the /records/ pages for reading, exporting and reporting."""

from functools import wraps
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coordination import exporting, kinds, reminders, reports, scoping, selectors
from coordination.db_routers import replica_reads
from coordination.filters import check_value
from coordination.history import with_last_change
from coordination.jobs import services as jobs
from coordination.models import Agreement, Job, UserPreference
from coordination.pagination import SORTED_DEPTH, DeferredJoinPaginator
from coordination.scoping import visible_to
from coordination.tables import Links, column_cell, detail_cells

PAGE_SIZE = 50

# Every page here is for staff, as the admin is (@staff_member_required, not
# @login_required): a user whose staff status is withdrawn keeps no access through a
# session still open, whatever their groups and units.


@staff_member_required
@permission_required("coordination.view_agreement", raise_exception=True)
def agreement_scan(request, path: str):
    """Serve an agreement's scanned document to users who may view agreements.

    Only a path stored on an agreement is served, so no other file of the storage leaks.
    """
    try:
        check_value(path)  # no stored path holds a NUL, and PostgreSQL cannot compare one
    except ValidationError:
        raise Http404 from None
    agreement = get_object_or_404(visible_to(Agreement.objects.all(), request.user), scan=path)
    try:
        handle = agreement.scan.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(handle, filename=PurePosixPath(path).name)


def record_type_view(view):
    """Staff sign-in required, a known record type, and the model's view permission."""

    @staff_member_required
    @wraps(view)
    def wrapper(request, kind, *args, **kwargs):
        record_type = kinds.get(kind)
        if record_type is None or not record_type.has_pages:
            raise Http404
        if not request.user.has_perm(record_type.permission("view")):
            raise PermissionDenied
        return view(request, record_type, *args, **kwargs)

    return wrapper


def may_export(user, record_type) -> bool:
    return user.has_perm(record_type.permission("export"))


def query_without(request, *names) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@staff_member_required
@replica_reads
def records_index(request):
    shown = [
        kind
        for kind in kinds.all_kinds()
        if kind.has_pages and request.user.has_perm(kind.permission("view"))
    ]
    return render(request, "coordination/records/index.html", {"record_types": shown})


@record_type_view
@replica_reads
def record_list(request, record_type):
    """A filtered, sorted, paginated list; the URL holds every filter, so it can be shared."""
    filterset = selectors.record_filterset(record_type.name, request.GET, request=request)
    valid = filterset.is_valid()
    queryset = filterset.qs if valid else filterset.queryset.none()
    # Who changed each record last is asked for the page's rows only, not for every row
    # the page's OFFSET skips.
    last_change = with_last_change if record_type.has_history else None
    # In an order the user chose, deep pages are bounded (`pagination.SORTED_DEPTH`).
    sorted_by_user = bool(valid and request.GET.get("sort"))
    paginator = DeferredJoinPaginator(
        queryset, PAGE_SIZE, rows=last_change, max_depth=SORTED_DEPTH if sorted_by_user else None
    )
    page = paginator.get_page(request.GET.get("page"))
    today = filterset.today
    rows = [
        [column_cell(column.value(record, today), column.css) for column in record_type.table]
        for record in page.object_list
    ]
    current_sort = request.GET.get("sort", "")
    headers = []
    for column in record_type.table:
        header = {"label": column.label, "css": column.css, "url": None, "state": ""}
        if column.sort:
            descending = current_sort == column.sort
            params = request.GET.copy()
            params.pop("page", None)
            params["sort"] = f"-{column.sort}" if descending else column.sort
            header["url"] = f"?{params.urlencode()}"
            if current_sort == column.sort:
                header["state"] = "asc"
            elif current_sort == f"-{column.sort}":
                header["state"] = "desc"
        headers.append(header)
    context = {
        "record_type": record_type,
        "filterset": filterset,
        "valid": valid,
        "page": page,
        "rows": rows,
        "headers": headers,
        "count": paginator.count,
        "clamped": paginator.clamped,
        # Set when the count of a long list came from the cache (`pagination`).
        "counted_at": paginator.counted_at,
        "sorted_depth": SORTED_DEPTH,
        "query": query_without(request, "page"),
        "export_query": query_without(request, "page", "format"),
        "may_export": may_export(request.user, record_type),
        "today": today,
    }
    return render(request, "coordination/records/list.html", context, status=200 if valid else 400)


@record_type_view
@replica_reads
def record_export(request, record_type):
    """Exactly the rows the list shows for the same parameters, as .xlsx or .csv."""
    if not may_export(request.user, record_type):
        raise PermissionDenied
    file_format = request.GET.get("format", "xlsx")
    if file_format not in exporting.FORMATS:
        raise Http404
    filterset = selectors.record_filterset(record_type.name, request.GET, request=request)
    if not filterset.is_valid():
        # The list page with the form's errors; filtering again goes back to the list.
        context = {
            "record_type": record_type,
            "filterset": filterset,
            "valid": False,
            "form_action": reverse("coordination:record-list", args=[record_type.name]),
        }
        return render(request, "coordination/records/list.html", context, status=400)
    if jobs.is_large(filterset.qs, settings.EXPORT_JOB_ROWS):
        job = jobs.job_enqueue(
            owner=request.user,
            kind=Job.Kind.EXPORT,
            title=_("Export of %(kind)s (.%(format)s)")
            % {"kind": record_type.title, "format": file_format},
            record_kind=record_type.name,
            source="records",
            query=request.GET.urlencode(),
            format=file_format,
        )
        return redirect("coordination:job", pk=job.pk)
    stream = exporting.spooled_file()
    exporting.write_export(record_type.name, filterset.qs, stream, file_format)
    stream.seek(0)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=exporting.export_file_name(record_type.name, file_format),
        content_type=exporting.FORMATS[file_format],
    )


@record_type_view
@replica_reads
def record_detail(request, record_type, pk):
    """One record with its fields and its history; another unit's record is not found."""
    queryset = record_type.records()
    record = get_object_or_404(visible_to(queryset, request.user), pk=pk)
    # Every related record is a link to its own page when the user may read it.
    links = Links(request.user)
    context = {
        "record_type": record_type,
        "record": record,
        "fields": detail_cells(record, record_type.detail_fields, links),
        "related": selectors.related_sections(record, record_type, links),
        "history": selectors.record_history_entries(record) if record_type.has_history else None,
        "admin_url": admin_change_url(request, record),
    }
    return render(request, "coordination/records/detail.html", context)


def admin_change_url(request, record) -> str | None:
    """The admin page to change the record, for those who may (the admin's own rule: the
    change permission, on a record of the user's units)."""
    kind = kinds.for_model(record)
    if not request.user.has_perm(kind.permission("change")):
        return None
    if not scoping.may_change(request.user, record):
        return None
    opts = record._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])


@staff_member_required
@replica_reads
def outstanding(request):
    """Outstanding and overdue counts per unit and year, with ageing and on-time rates."""
    table = reports.outstanding_table(request)
    if table.forbidden:
        raise PermissionDenied
    return render(
        request,
        "coordination/records/outstanding.html",
        {"table": table},
        status=200 if table.valid else 400,
    )


def home(request):
    """The site's address: the login, then the page of the user's role
    (`reminders.landing_url`)."""
    return redirect(reminders.landing_url(request.user))


@staff_member_required
@replica_reads
def my_work(request):
    """*Việc của đơn vị tôi*: the user's units' overdue, near-due and recently changed records,
    and the user's choice of the daily reminder e-mail."""
    context = {
        "units": reminders.user_work(request.user),
        "days": reminders.reminder_days(),
        "reminders_enabled": UserPreference.reminders_wanted(request.user),
        "has_email": bool(request.user.email),
    }
    return render(request, "coordination/records/my_work.html", context)


@require_POST
@staff_member_required
def reminder_preference(request):
    """Turn the user's own daily reminder e-mail on or off (the form of `my_work`)."""
    enabled = request.POST.get("reminders_enabled") == "1"
    UserPreference.objects.update_or_create(
        user=request.user, defaults={"reminders_enabled": enabled}
    )
    return redirect("coordination:my-work")
