"""Uploaded spreadsheets kept between the preview and the confirmation of an import.

Files live in a private folder (IMPORT_UPLOAD_DIR, never under MEDIA_ROOT) under a random
token that is recorded in the uploader's session: a confirmation names the token, never a
path, so nobody can point the import at another file or at another user's upload.

Each user has a bound on what waits (IMPORT_UPLOADS_PER_USER files, IMPORT_UPLOAD_BYTES_PER_USER
bytes with the kept cells): a new upload beyond it removes that user's oldest ones. The token
starts with the user's id so that the bound holds across all of their sessions.
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


def save_upload(
    request, *, data: bytes, file_name: str, kind: str, sheets: bytes | None = None
) -> tuple[str, list[str]]:
    """Keep `data` (and `sheets`, the cells its preview read) for this user's session.

    Returns its token and the names of this session's older uploads removed to keep the
    user within the bound; an upload of the user's other sessions is removed silently.
    """
    purge_expired()
    prefix = _owner_prefix(request)
    uploads = request.session.get(SESSION_KEY, {})
    discarded = _make_room(prefix, len(data) + len(sheets or b""), uploads)
    token = prefix + secrets.token_urlsafe(24)
    try:
        (_folder() / token).write_bytes(data)
        if sheets is not None:
            save_sheets(token, sheets)
    except OSError:
        # A disk that fills up midway keeps no half of the upload.
        _remove(token)
        raise
    # Entries whose files are gone (expired, or removed to make room) are dropped.
    uploads = {
        key: entry
        for key, entry in uploads.items()
        if TOKEN.match(key) and (_folder() / key).is_file()
    }
    uploads[token] = {"name": file_name, "kind": kind, "saved": time.time()}
    request.session[SESSION_KEY] = uploads
    return token, discarded


def _owner_prefix(request) -> str:
    return f"u{request.user.pk}-"


def _waiting(prefix: str) -> list[tuple[int, int, str]]:
    """(time saved, bytes with its kept cells, token) of each upload under `prefix`, oldest
    first."""
    found: dict[str, tuple[int, int]] = {}
    for path in _folder().iterdir():
        if not path.name.startswith(prefix):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        token = path.name.removesuffix(SHEETS_SUFFIX)
        saved, size = found.get(token, (stat.st_mtime_ns, 0))
        found[token] = (min(saved, stat.st_mtime_ns), size + stat.st_size)
    return sorted((saved, size, token) for token, (saved, size) in found.items())


def _make_room(prefix: str, incoming: int, uploads: dict) -> list[str]:
    """Remove the oldest uploads under `prefix` until one of `incoming` bytes fits the bound.

    The new upload itself is always kept, even alone over the byte bound (it is already under
    IMPORT_MAX_BYTES): its user is about to confirm it. Returns the names of the removed
    uploads that `uploads` (this session's entries, updated) knew.
    """
    most = max(1, settings.IMPORT_UPLOADS_PER_USER)
    waiting = _waiting(prefix)
    count, total = len(waiting), incoming + sum(size for _saved, size, _token in waiting)
    removed = []
    for _saved, size, token in waiting:
        if count < most and total <= settings.IMPORT_UPLOAD_BYTES_PER_USER:
            break
        _remove(token)
        count, total = count - 1, total - size
        entry = uploads.pop(token, None)
        if entry is not None:
            removed.append(entry["name"])
    return removed


def _remove(token: str) -> None:
    if TOKEN.match(token):
        (_folder() / token).unlink(missing_ok=True)
        (_folder() / f"{token}{SHEETS_SUFFIX}").unlink(missing_ok=True)


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


def update_entry(request, token: str, *, kind: str, **values) -> None:
    """Keep `values` (plain JSON) with this user's upload `token`: what the preview found and
    what the user chose, for the confirmation."""
    entry = load_entry(request, token, kind=kind)
    if entry is not None:
        entry.update(values)
        # The session's dict changed in place: say so, or it is not saved.
        request.session.modified = True


def load_upload(request, token: str, *, kind: str) -> tuple[bytes, str] | None:
    """The upload's bytes and file name, or None when unknown, expired or someone else's."""
    entry = load_entry(request, token, kind=kind)
    if entry is None:
        return None
    try:
        return (_folder() / token).read_bytes(), entry["name"]
    except FileNotFoundError:
        return None


def stored_files(token: str) -> tuple[bytes, bytes | None] | None:
    """The upload `token` and the cells its preview kept (or None), for a background job that
    its owner's request checked and handed the token to; None when it is gone."""
    if not TOKEN.match(token or ""):
        return None
    try:
        data = (_folder() / token).read_bytes()
    except FileNotFoundError:
        return None
    try:
        sheets = (_folder() / f"{token}{SHEETS_SUFFIX}").read_bytes()
    except FileNotFoundError:
        sheets = None
    return data, sheets


def remove_upload(token: str) -> None:
    """Delete upload `token` once a job imported it (its owner's session entry goes when its
    files are found missing)."""
    _remove(token)


def delete_upload(request, token: str) -> None:
    uploads = request.session.get(SESSION_KEY, {})
    if uploads.pop(token, None) is not None and TOKEN.match(token):
        _remove(token)
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
