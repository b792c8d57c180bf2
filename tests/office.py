"""LibreOffice in the tests: workbooks converted the way users convert them.

`convert(data, to)` runs `libreoffice --headless --convert-to` (Debian's libreoffice-calc-nogui)
on a workbook or CSV file and returns the converted file's bytes. Each test process has its
own LibreOffice profile (two instances cannot share one), every run has a time limit, and the
results are kept by content in `.pytest_cache/d/office/` (or $OFFICE_CACHE_DIR), so that a run
of the suite converts each distinct file once. `convert_all` converts several files in one
LibreOffice start.

The `libreoffice` fixture of tests/conftest.py fails a test, never skips it, when LibreOffice
is missing: `make test` and `.ci/run` install it.
"""

import atexit
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("OFFICE_CACHE_DIR", ROOT / ".pytest_cache" / "d" / "office"))
TIMEOUT = 180
# LibreOffice's filters, as its "Save As" dialog offers them; CSV in UTF-8 (76), comma (44)
# and quote (34) separated, as "CSV UTF-8" is the export the README asks for.
FILTERS = {
    "ods": "ods:calc8",
    "xls": "xls:MS Excel 97",
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "csv": "csv:Text - txt - csv (StarCalc):44,34,76,1",
}
_PROFILE: Path | None = None


class OfficeMissing(RuntimeError):
    """LibreOffice is not installed."""


def libreoffice() -> str:
    """The path of the libreoffice (or soffice) command, or OfficeMissing."""
    found = shutil.which("libreoffice") or shutil.which("soffice")
    if found is None:
        raise OfficeMissing(
            "LibreOffice is needed to make the .ods and .xls files of these tests: install "
            "Debian's libreoffice-calc-nogui (make test and .ci/run do so)."
        )
    return found


def convert(data: bytes, to: str) -> bytes:
    """`data` (an .xlsx, .xlsm, .ods, .xls or CSV file) converted by LibreOffice to `to`
    ("ods", "xls", "xlsx" or "csv")."""
    return convert_all([data], to)[0]


def convert_all(files: list[bytes], to: str) -> list[bytes]:
    """Each file converted to `to`, all in one LibreOffice run (those not already cached)."""
    if to not in FILTERS:
        raise ValueError(f"cannot convert to {to!r}")
    libreoffice()  # missing, even cached files fail: the suite must not depend on a cache
    keys = [_key(data, to) for data in files]
    groups: dict[str, dict[str, bytes]] = {}
    for key, data in zip(keys, files, strict=True):
        if not (CACHE / key).exists():
            groups.setdefault(_source_extension(data), {})[key] = data
    for source_extension, missing in groups.items():
        _run(missing, source_extension, to)
    return [(CACHE / key).read_bytes() for key in keys]


def _key(data: bytes, to: str) -> str:
    """The cache name of `data` converted to `to`: a hash of the content, where a workbook's
    content is its members but the one saying when it was written (docProps/core.xml)."""
    digest = hashlib.sha256(to.encode())
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in sorted(archive.namelist()):
                if member != "docProps/core.xml":
                    digest.update(member.encode() + b"\0" + archive.read(member) + b"\0")
    except zipfile.BadZipFile:
        digest.update(data)
    return f"{digest.hexdigest()}.{to}"


def _source_extension(data: bytes) -> str:
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "ods" if "content.xml" in archive.namelist() else "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "csv"


def _profile() -> Path:
    """This process's own LibreOffice profile, removed when the process ends."""
    global _PROFILE
    if _PROFILE is None:
        _PROFILE = Path(tempfile.mkdtemp(prefix=f"office-profile-{os.getpid()}-"))
        atexit.register(shutil.rmtree, _PROFILE, ignore_errors=True)
    return _PROFILE


def _run(files: dict[str, bytes], source_extension: str, to: str) -> None:
    command = libreoffice()
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="office-") as work:
        folder = Path(work)
        sources = []
        for key, data in files.items():
            source = folder / f"{key.rsplit('.', 1)[0]}.{source_extension}"
            source.write_bytes(data)
            sources.append(source)
        out = folder / "out"
        arguments = [
            command,
            f"-env:UserInstallation={_profile().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            FILTERS[to],
            "--outdir",
            str(out),
        ]
        if source_extension == "csv":
            # Read CSV as UTF-8 with commas, every column as LibreOffice guesses it.
            arguments += ["--infilter=CSV:44,34,76,1"]
        result = subprocess.run(
            [*arguments, *map(str, sources)],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            env={**os.environ, "HOME": str(_profile())},
        )
        for key, source in zip(files, sources, strict=True):
            converted = out / f"{source.stem}.{to}"
            if not converted.exists():
                raise RuntimeError(
                    f"LibreOffice did not convert a file to {to} (exit {result.returncode}): "
                    f"{result.stderr.decode(errors='replace')[-2000:]}"
                )
            # Written under a temporary name, then renamed: another process may read it.
            partial = CACHE / f"{key}.{os.getpid()}.part"
            partial.write_bytes(converted.read_bytes())
            partial.replace(CACHE / key)
