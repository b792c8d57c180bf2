"""Uploaded spreadsheets kept between the preview and the confirmation of an import.

Files live in a private folder (IMPORT_UPLOAD_DIR, never under MEDIA_ROOT) under a random
token that is recorded in the uploader's session: a confirmation names the token, never a
path, so nobody can point the import at another file or at another user's upload.
"""

import re
import secrets
import time
from pathlib import Path

from django.conf import settings

SESSION_KEY = "coordination_uploads"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _folder() -> Path:
    folder = Path(settings.IMPORT_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_upload(request, *, data: bytes, file_name: str, kind: str) -> str:
    """Keep `data` for this user's session and return its token."""
    purge_expired()
    token = secrets.token_urlsafe(24)
    (_folder() / token).write_bytes(data)
    uploads = request.session.get(SESSION_KEY, {})
    uploads[token] = {"name": file_name, "kind": kind, "saved": time.time()}
    request.session[SESSION_KEY] = uploads
    return token


#: Beside each upload: the cells its preview read (`coordination.spreadsheets.dump_sheets`).
SHEETS_SUFFIX = ".sheets.json"


def save_sheets(token: str, data: bytes) -> None:
    """Keep the cells the preview read from upload `token` for its confirmation."""
    if TOKEN.match(token):
        (_folder() / f"{token}{SHEETS_SUFFIX}").write_bytes(data)


def load_sheets_data(request, token: str, *, kind: str) -> bytes | None:
    """The cells kept for this user's upload `token`, or None (then the file is read)."""
    if load_entry(request, token, kind=kind) is None:
        return None
    try:
        return (_folder() / f"{token}{SHEETS_SUFFIX}").read_bytes()
    except FileNotFoundError:
        return None


def load_entry(request, token: str, *, kind: str) -> dict | None:
    entry = request.session.get(SESSION_KEY, {}).get(token) if TOKEN.match(token or "") else None
    return None if entry is None or entry["kind"] != kind else entry


def load_upload(request, token: str, *, kind: str) -> tuple[bytes, str] | None:
    """The upload's bytes and file name, or None when unknown, expired or someone else's."""
    entry = load_entry(request, token, kind=kind)
    if entry is None:
        return None
    try:
        return (_folder() / token).read_bytes(), entry["name"]
    except FileNotFoundError:
        return None


def delete_upload(request, token: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    if uploads.pop(token, None) is not None and TOKEN.match(token):
        (_folder() / token).unlink(missing_ok=True)
        (_folder() / f"{token}{SHEETS_SUFFIX}").unlink(missing_ok=True)
        request.session[SESSION_KEY] = uploads


def purge_expired(max_age_hours: float | None = None) -> int:
    """Delete uploads older than the time-to-live (abandoned previews); return how many."""
    hours = settings.IMPORT_UPLOAD_TTL_HOURS if max_age_hours is None else max_age_hours
    limit = time.time() - hours * 3600
    removed = 0
    for path in _folder().iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
