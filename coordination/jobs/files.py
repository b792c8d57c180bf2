"""A job's private folder (JOBS_DIR/<id>/, never under MEDIA_ROOT): its progress, its import
report, the file it produced.

The progress is a small JSON file, not a database row: an import writes its rows in one
transaction, and neither another connection (SQLite has one writer at a time) nor the import's
own (its changes are seen only at the commit) could show the rows written meanwhile. The file
is replaced atomically, so a reader never sees half of it, and every server of the site reads
it where the uploads are shared.
"""

import json
import os
import pickle
import shutil
import time
from pathlib import Path

from django.conf import settings

PROGRESS = "progress.json"
REPORT = "report.pickle"


def folder(job_id: int, *, create: bool = False) -> Path:
    path = Path(settings.JOBS_DIR) / str(int(job_id))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def write_progress(job_id: int, values: dict) -> None:
    """Replace the job's progress with `values` and the time now (its heartbeat)."""
    path = folder(job_id, create=True)
    temporary = path / f".{PROGRESS}.{os.getpid()}"
    temporary.write_text(json.dumps({**values, "heartbeat": time.time()}))
    os.replace(temporary, path / PROGRESS)


def read_progress(job_id: int) -> dict:
    try:
        return json.loads((folder(job_id) / PROGRESS).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_report(job_id: int, report) -> None:
    """Keep an import's report (its rows' outcomes, problems, names to pick) for its page.

    Pickled: the report is made of the importer's own dataclasses, and only this server writes
    the folder, which nobody else can reach (as Django's own file cache pickles its values)."""
    path = folder(job_id, create=True)
    temporary = path / f".{REPORT}.{os.getpid()}"
    temporary.write_bytes(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(temporary, path / REPORT)


def load_report(job_id: int):
    try:
        return pickle.loads((folder(job_id) / REPORT).read_bytes())
    except FileNotFoundError:
        return None


def output_path(job_id: int, file_name: str) -> Path:
    """Where the job writes the file it produces (the name without any folder)."""
    return folder(job_id, create=True) / Path(file_name).name


def remove(job_id: int) -> None:
    shutil.rmtree(folder(job_id), ignore_errors=True)
