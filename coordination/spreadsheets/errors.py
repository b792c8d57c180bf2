"""`SpreadsheetError`, the limits a file must keep within, and the messages shared by readers.

Every refusal in this package is a `SpreadsheetError`; its message is lazy, so that it is
shown in the language active where it is displayed, with numbers in that language's format.
"""

import math

from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

MB = 1024 * 1024
# A zip member that inflates more than this many times over is a zip bomb, not a spreadsheet;
# real worksheets compress about 10:1 and deflate cannot go beyond about 1032:1.
MAX_COMPRESSION_RATIO = 1000
RATIO_CHECK_MIN_BYTES = 1 * MB
MAX_ZIP_MEMBERS = 10_000
# calamine allocates 32 bytes for every cell of the rectangle from A1 to the farthest cell
# holding a value (even an empty text), before Python sees a row; a cell at XFD1048576 would
# ask for 550 GB and abort the whole process. Four million cells is about 128 MB.
MAX_CELLS = 4_000_000
MAX_COLUMNS = 16_384
# calamine gives every cell its own copy of its text: an .xls cell naming a shared string and
# an .ods cell repeated across a row and down many rows each cost the whole text again, so a
# small file can ask for gigabytes. Fifty million characters is about 150 MB as UTF-8.
MAX_TEXT_CHARS = 50_000_000
DEFAULT_MAX_UNPACKED_BYTES = 200 * MB

_CHUNK = 64 * 1024
# No markup token Excel writes (a tag with its attributes, a comment, a processing
# instruction) comes near this: the longest are attributes holding one cell's text (pivot
# caches), at most 32,767 characters, under 200 KB even with every character escaped.
MAX_XML_TOKEN = 1 * MB


class SpreadsheetError(Exception):
    """A file that cannot be read or written; `message` is the text to show the user."""

    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


def _row_span_limit(max_rows: int) -> int:
    # Blank rows between the data become lists too; a list is allowed as many blank rows as
    # it has data rows (title and spacing rows), not a stray note at row 1,000,000.
    return 2 * max_rows + 1000


# --------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------


def _interpolate(message, params) -> str:
    # Numbers are formatted here, when the text is shown, in that language's number format.
    return str(message) % {
        key: value() if callable(value) else value for key, value in params.items()
    }


_lazy_percent = lazy(_interpolate, str)


def _error(message, code: str, **params) -> SpreadsheetError:
    # Formatting stays lazy so that the text follows the language active where it is shown.
    return SpreadsheetError(_lazy_percent(message, params) if params else message, code=code)


def _megabytes(size: int, *, round_up: bool = False):
    value = size / MB
    # Rounded up, a file one byte over a 10 MB limit shows as 10.1 MB rather than "10 MB".
    value = math.ceil(value * 10) / 10 if round_up else round(value, 1)
    return lambda: number_format(int(value) if value.is_integer() else value)


def _count(value: int):
    return lambda: number_format(value, force_grouping=True)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the letters Excel shows above a 0-based column."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _empty_file() -> SpreadsheetError:
    return _error(_("The file is empty (0 bytes). Choose the file again and upload it."), "empty")


def _not_a_spreadsheet() -> SpreadsheetError:
    return _error(
        _(
            "The file is not a spreadsheet that can be imported: Excel workbooks (.xlsx, .xlsm, "
            ".xls), LibreOffice Calc spreadsheets (.ods) and CSV files can. Open it in Excel or "
            "LibreOffice Calc and save it as “Excel Workbook (.xlsx)” or “CSV UTF-8 (Comma "
            "delimited)”."
        ),
        "not_spreadsheet",
    )


def _bad_xlsx() -> SpreadsheetError:
    return _error(
        _(
            "The file could not be read as an Excel workbook (.xlsx). Save it again from Excel "
            "as “Excel Workbook (.xlsx)”."
        ),
        "bad_xlsx",
    )


def _unreadable(fmt: str) -> SpreadsheetError:
    """The refusal of a file that is damaged or not what it seemed, naming the format found."""
    if fmt == "xlsm":
        return _error(
            _(
                "The file could not be read as a macro-enabled Excel workbook (.xlsm). Save it "
                "again from Excel as “Excel Workbook (.xlsx)”."
            ),
            "bad_xlsm",
        )
    if fmt == "ods":
        return _error(
            _(
                "The file could not be read as a LibreOffice Calc spreadsheet (.ods). Open it in "
                "LibreOffice Calc and save it again as “ODF Spreadsheet (.ods)”."
            ),
            "bad_ods",
        )
    if fmt == "xls":
        return _error(
            _(
                "The file could not be read as an Excel 97–2003 workbook (.xls). Open it in "
                "Excel or LibreOffice Calc and save it as “Excel Workbook (.xlsx)”."
            ),
            "bad_xls",
        )
    return _bad_xlsx()


def _encrypted(fmt: str | None) -> SpreadsheetError:
    """The refusal of a workbook that needs a password to open."""
    if fmt == "ods":
        message = _(
            "The LibreOffice Calc spreadsheet (.ods) is protected by a password, so it cannot be "
            "read. Open it in LibreOffice Calc, choose File ▸ Save As…, untick “Save with "
            "password” and save it again."
        )
    elif fmt == "xls":
        message = _(
            "The Excel 97–2003 workbook (.xls) is protected by a password, so it cannot be read. "
            "Open it in Excel, remove the password (File ▸ Info ▸ Protect Workbook ▸ Encrypt "
            "with Password) and save it as “Excel Workbook (.xlsx)”."
        )
    else:
        message = _(
            "The Excel workbook is protected by a password, so it cannot be read. Open it in "
            "Excel, remove the password (File ▸ Info ▸ Protect Workbook ▸ Encrypt with Password) "
            "and save it again."
        )
    return _error(message, "encrypted")


def _xlsb() -> SpreadsheetError:
    return _error(
        _(
            "This is an Excel binary workbook (.xlsb), which cannot be imported. Open it in "
            "Excel and save it as “Excel Workbook (.xlsx)”."
        ),
        "xlsb",
    )


def _flat_ods() -> SpreadsheetError:
    return _error(
        _(
            "This is a flat LibreOffice Calc spreadsheet (.fods), which cannot be imported. Open "
            "it in LibreOffice Calc and save it as “ODF Spreadsheet (.ods)”."
        ),
        "fods",
    )


# What another office file is, to say so when one is uploaded instead of a spreadsheet.
OTHER_DOCUMENTS = {
    "doc": _("a Word document (.doc)"),
    "docx": _("a Word document (.docx)"),
    "ppt": _("a PowerPoint presentation (.ppt)"),
    "pptx": _("a PowerPoint presentation (.pptx)"),
    "odt": _("a LibreOffice Writer document (.odt)"),
    "odp": _("a LibreOffice Impress presentation (.odp)"),
    "odg": _("a LibreOffice Draw drawing (.odg)"),
}


def _other_document(kind: str) -> SpreadsheetError:
    return _error(
        _(
            "This file is %(document)s, not a spreadsheet. Open the list in Excel or LibreOffice "
            "Calc and save it as “Excel Workbook (.xlsx)” or “CSV UTF-8 (Comma delimited)”."
        ),
        "other_document",
        document=OTHER_DOCUMENTS[kind],
    )


def _too_much_text(limit: int) -> SpreadsheetError:
    return _error(
        _(
            "The file holds more than %(limit)s million characters of text once its repeated "
            "cells are counted. Delete unused sheets or split the list into several files."
        ),
        "too_much_text",
        limit=_count(limit // 1_000_000),
    )


def _zip_bomb(limit: int) -> SpreadsheetError:
    return _error(
        _(
            "The file is too large when decompressed (over %(limit)s MB). Delete unused sheets, "
            "pictures and formatting, or split the list into several files."
        ),
        "zip_bomb",
        limit=_megabytes(limit),
    )


def too_many_rows(sheet: str, count: int, limit: int) -> SpreadsheetError:
    """The error for a sheet with more data rows than the limit."""
    return _error(
        _(
            "Too many rows in sheet “%(sheet)s”: %(count)s (limit %(limit)s). Split the list "
            "into several files."
        ),
        "too_many_rows",
        sheet=sheet,
        count=_count(count),
        limit=_count(limit),
    )


def _sheet_too_large(sheet: str, rows: int, columns: int) -> SpreadsheetError:
    return _error(
        _(
            "Sheet “%(sheet)s” is too large: it has content down to row %(row)s and across to "
            "column %(column)s. Delete the unused rows below the list and the unused columns to "
            "its right, save and upload again."
        ),
        "sheet_too_large",
        sheet=sheet,
        row=_count(rows),
        column=column_letter(max(columns - 1, 0)),
    )
