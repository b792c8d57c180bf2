"""Views outside the admin."""

from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from coordination.models import Agreement


@login_required(login_url="admin:login")
@permission_required("coordination.view_agreement", raise_exception=True)
def agreement_scan(request, path: str):
    """Serve an agreement's scanned document to users who may view agreements.

    Only a path stored on an agreement is served, so no other file of the storage leaks.
    """
    agreement = get_object_or_404(Agreement, scan=path)
    try:
        handle = agreement.scan.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(handle, filename=PurePosixPath(path).name)
