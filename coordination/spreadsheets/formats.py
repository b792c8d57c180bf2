"""Which format an upload is, told from its content: the name a file has says little (a list
saved by LibreOffice as .xls, an .xlsx renamed .xls by hand), but calamine reads by content.

A zip is an .xlsx or .xlsm (xl/workbook.xml), an .ods (a `mimetype` member naming it) or
something to refuse by name (.xlsb, .docx, .odt...); an OLE compound file is an .xls (a
workbook stream), a workbook encrypted with a password, or a .doc or .ppt; anything else is
read as CSV. The file name only picks the message for a file too damaged to tell.
"""

import io
import zipfile

from coordination.spreadsheets.cfb import (
    OLE_MAGIC,
    WORKBOOK_STREAMS,
    BrokenCompoundFile,
    CompoundFile,
)
from coordination.spreadsheets.errors import (
    _encrypted,
    _flat_ods,
    _not_a_spreadsheet,
    _other_document,
    _unreadable,
    _xlsb,
)
from coordination.spreadsheets.ods import ODS_MIMETYPE
from coordination.spreadsheets.zipsafety import _EMPTY_ZIP_MAGIC, _ZIP_MAGIC, _inflate

XLSX, XLSM, ODS, XLS, CSV = "xlsx", "xlsm", "ods", "xls", "csv"
# The words a format is offered with: the upload form's `accept`, the help texts.
EXTENSIONS = (".xlsx", ".xlsm", ".ods", ".xls", ".csv")

_OPEN_DOCUMENTS = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.presentation": "odp",
    b"application/vnd.oasis.opendocument.graphics": "odg",
}
_MACRO_NAMES = (".xlsm", ".xltm")
_WORKBOOK_NAMES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".ods", ".ots")


def sniff(data: bytes, filename: str) -> str:
    """XLSX, XLSM, ODS, XLS or CSV, or the SpreadsheetError saying what the file is instead."""
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _sniff_zip(data, filename)
    if data.startswith(OLE_MAGIC):
        return _sniff_compound_file(data)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") and b"opendocument.spreadsheet" in head:
        raise _flat_ods()
    return CSV


def _zip_format_by_name(filename: str) -> str:
    name = filename.lower()
    if name.endswith(".ods"):
        return ODS
    return XLSM if name.endswith(_MACRO_NAMES) else XLSX


def _sniff_zip(data: bytes, filename: str) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except Exception as exc:  # zipfile raises many types on a damaged directory
        raise _unreadable(_zip_format_by_name(filename)) from exc
    mimetype = _small_member(data, archive, "mimetype", filename) if "mimetype" in names else b""
    is_ods = mimetype.startswith(ODS_MIMETYPE)
    if "xl/workbook.xml" in names:
        # calamine tries .xlsx before .xlsb and .ods: a file that could be taken for either
        # would be checked as one and read as another.
        if is_ods or "xl/workbook.bin" in names:
            raise _unreadable(_zip_format_by_name(filename))
        if "xl/vbaProject.bin" in names or filename.lower().endswith(_MACRO_NAMES):
            return XLSM
        types = _small_member(data, archive, "[Content_Types].xml", filename, optional=True)
        return XLSM if b"macroEnabled.main" in types else XLSX
    if "xl/workbook.bin" in names:
        raise _xlsb()
    if is_ods:
        return ODS
    for prefix, kind in _OPEN_DOCUMENTS.items():
        if mimetype.startswith(prefix):
            raise _other_document(kind)
    if "word/document.xml" in names:
        raise _other_document("docx")
    if "ppt/presentation.xml" in names:
        raise _other_document("pptx")
    # A zip named as a workbook, or with the first member of one, is a damaged workbook.
    if (
        "[Content_Types].xml" in names
        or "mimetype" in names
        or filename.lower().endswith(_WORKBOOK_NAMES)
    ):
        raise _unreadable(_zip_format_by_name(filename))
    raise _not_a_spreadsheet()


def _small_member(
    data: bytes, archive: zipfile.ZipFile, name: str, filename: str, *, optional=False
) -> bytes:
    """A member of at most 64 KB (a mimetype, the content types), checked as it inflates."""
    try:
        member = archive.getinfo(name)
    except KeyError:
        return b""
    if member.file_size > 64 * 1024:
        if optional:
            return b""
        raise _unreadable(_zip_format_by_name(filename))
    fmt = _zip_format_by_name(filename)
    return b"".join(_inflate(data, member, lambda: _unreadable(fmt)))


def _sniff_compound_file(data: bytes) -> str:
    try:
        names = CompoundFile(data).names
    except BrokenCompoundFile as exc:
        raise _unreadable(XLS) from exc
    if "EncryptedPackage" in names:
        # An .xlsx with a password to open: Office encrypts the zip into an OLE container.
        raise _encrypted(None)
    if any(name in names for name in WORKBOOK_STREAMS):
        return XLS
    if "WordDocument" in names:
        raise _other_document("doc")
    if "PowerPoint Document" in names:
        raise _other_document("ppt")
    raise _not_a_spreadsheet()
