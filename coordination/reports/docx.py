"""The báo cáo as a .docx file: a `ReportDocument` rendered into the default template
(`docx_template.py`) or into an office's own (`ReportTemplate`, uploaded in the admin).

Templates are docxtpl (Jinja) templates. An uploaded one is checked before it is kept
(`check_template`): its size, a real .docx whose zip directory and members pass the same checks
as a spreadsheet's (`spreadsheets.zipsafety`), no DTD in its XML, and a trial rendering. It is
rendered in Jinja's sandbox with autoescaping, so neither a template nor a user's text can run
code or break the XML; a template that fails says why in Vietnamese (`TemplateProblem`).
"""

import copy
import datetime
import io
import re
import zipfile

from django.utils.translation import gettext as _
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Cm, Pt
from docxtpl import DocxTemplate
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

import coordination.reports.letterhead as letterhead
from coordination.models import ReportTemplate
from coordination.reports.document import Party, ReportDocument, Section, Signature
from coordination.reports.docx_template import (
    FONT,
    default_template,
    paragraph,
    set_font,
    set_widths,
)
from coordination.reports.drafting import AnnexTable
from coordination.spreadsheets.errors import (
    MAX_COMPRESSION_RATIO,
    MAX_ZIP_MEMBERS,
    RATIO_CHECK_MIN_BYTES,
    SpreadsheetError,
)
from coordination.spreadsheets.zipsafety import _inflate, _is_plain_member_name

MB = 1024 * 1024
#: The width of the annex tables, in cm: the page's text, 210 − 30 − 15 mm.
ANNEX_WIDTH = 16.5
#: The largest template accepted, and the most its members may unpack to.
MAX_TEMPLATE_BYTES = 2 * MB
MAX_TEMPLATE_UNPACKED = 30 * MB
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class TemplateProblem(ValueError):
    """A template that cannot make the report; its message says why, in Vietnamese."""


def template_for(units) -> bytes:
    """The template of the lead unit among `units`, else the one for every unit, else the
    default."""
    lead = units[0] if units else None
    templates = ReportTemplate.objects.filter(is_active=True).order_by("-updated_at", "-pk")
    chosen = None
    if lead is not None:
        chosen = templates.filter(unit=lead).first()
    chosen = chosen or templates.filter(unit__isnull=True).first()
    return bytes(chosen.content) if chosen else default_template()


def context(document: ReportDocument) -> dict:
    """The placeholders of a template (listed in `docx_template`'s docstring)."""
    data = document.to_dict()
    parties = data["parties"]
    rows = [
        [parties[document.parties.index(party)] if party else None for party in row]
        for row in document.signature_rows
    ]
    return {
        **data,
        "is_party": document.style == letterhead.PARTY,
        "nation": letterhead.NATION,
        "motto": letterhead.MOTTO,
        "party_name": letterhead.PARTY_NAME,
        "number_line": document.number_line,
        "date_line": document.date_line,
        "joint": document.joint,
        "signature_rows": rows,
        "recipients_label": letterhead.RECIPIENTS_LABEL,
        "recipient_lines": document.recipient_lines,
    }


def render_docx(document: ReportDocument, template: bytes | None = None) -> bytes:
    """The document as .docx bytes; `TemplateProblem` when the template cannot render it."""
    try:
        docx = DocxTemplate(io.BytesIO(template or default_template()))
        values = context(document)
        values["annex"] = annex_subdocument(docx, document) if document.annex else ""
        docx.render(values, jinja_env=SandboxedEnvironment(autoescape=True))
        stream = io.BytesIO()
        docx.save(stream)
    except TemplateError as error:
        raise TemplateProblem(
            _("The report template has an error: %(error)s") % {"error": error}
        ) from error
    except Exception as error:  # docxtpl and python-docx raise many types on a bad file
        raise TemplateProblem(
            _("The report template cannot be used: %(error)s")
            % {"error": str(error)[:200] or type(error).__name__}
        ) from error
    return stream.getvalue()


def annex_subdocument(docx: DocxTemplate, document: ReportDocument):
    """The annex tables, on a new page: “PHỤ LỤC”, what it goes with, a table each."""
    sub = docx.new_subdoc()
    set_font(sub.styles["Normal"])
    sub.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    paragraph(sub, "PHỤ LỤC", bold=True)
    number = document.number or "…"
    paragraph(
        sub,
        f"(Kèm theo Báo cáo số {number} ngày {document.date:%d/%m/%Y})",
        italic=True,
        after=0 if document.counted_line else 6,
    )
    if document.counted_line:
        paragraph(sub, document.counted_line, italic=True, after=6)
    for table in document.annex:
        paragraph(sub, table.title, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT, before=6, after=3)
        if not table.rows:
            paragraph(sub, "Không có.", italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, after=3)
            continue
        heading_rows = 2 if table.groups else 1
        # The headings and one model row laid out on a small table; each row of the table is
        # a copy of the model row with its own text. Laid out cell by cell on the whole table,
        # a big unit's annex (thousands of rows) took a minute: python-docx looks a cell up
        # through every row.
        grid = sub.add_table(rows=heading_rows + 1, cols=len(table.headers))
        grid.style = "Table Grid"
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        total = sum(table.widths)
        set_widths(grid, [Cm(ANNEX_WIDTH * width / total) for width in table.widths])
        _headings(grid, table)
        model = grid.rows[heading_rows]
        for column, cell in enumerate(model.cells):
            _cell_text(cell, "", table, column)
        model_row = model._tr
        model_row.getparent().remove(model_row)
        for values in table.rows:
            row = copy.deepcopy(model_row)
            runs = row.xpath("./w:tc/w:p/w:r")
            for run, value in zip(runs, values, strict=True):
                run.text = value
            grid._tbl.append(row)
    return sub


def _headings(grid, table: AnnexTable) -> None:
    """The column headings; with `groups`, a row of group labels over them (each merged over
    its columns), the other headings merged down over both rows."""
    if not table.groups:
        for column, label in enumerate(table.headers):
            _cell_text(grid.cell(0, column), label, table, column, header=True)
        return
    grouped = set()
    for label, first, last in table.groups:
        cell = grid.cell(0, first)
        if last > first:
            cell = cell.merge(grid.cell(0, last))
        _cell_text(cell, label, table, first, header=True)
        grouped.update(range(first, last + 1))
    for column, label in enumerate(table.headers):
        if column in grouped:
            cell = grid.cell(1, column)
        else:
            cell = grid.cell(0, column).merge(grid.cell(1, column))
        _cell_text(cell, label, table, column, header=True)


def _cell_text(cell, value: str, table: AnnexTable, column: int, *, header=False) -> None:
    """A cell in 12 pt: headings bold and centred, the row number centred, numbers right."""
    para = cell.paragraphs[0]
    if header or column == 0:
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif table.numeric[column]:
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = para.add_run(value)
    run.font.size = Pt(12)
    run.font.bold = header
    run.font.name = FONT


def check_template(data: bytes) -> None:
    """Refuse what cannot be a sane report template, with the reason (`TemplateProblem`):
    too large, not a .docx, a zip that is damaged or unpacks to far more than it holds, XML
    with a DTD, or a template that does not render a sample report."""
    if not data:
        raise TemplateProblem(_("The file is empty."))
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateProblem(
            _("The template is larger than %(size)d MB.") % {"size": MAX_TEMPLATE_BYTES // MB}
        )
    not_docx = TemplateProblem(_("This file is not a Word document (.docx)."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as error:  # zipfile raises many types on a damaged directory
        raise not_docx from error
    names = [member.filename for member in members]
    if (
        len(members) > MAX_ZIP_MEMBERS
        or len(set(names)) != len(names)
        or "word/document.xml" not in names
        or "[Content_Types].xml" not in names
        or not all(_is_plain_member_name(name) for name in names if name != "[Content_Types].xml")
    ):
        raise not_docx
    too_large = TemplateProblem(
        _("The template unpacks to more than %(size)d MB.") % {"size": MAX_TEMPLATE_UNPACKED // MB}
    )
    if sum(member.file_size for member in members) > MAX_TEMPLATE_UNPACKED:
        raise too_large
    for member in members:
        if member.flag_bits & 0x1 or member.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise not_docx
        if member.file_size > RATIO_CHECK_MIN_BYTES and member.file_size > (
            MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise too_large
        try:
            content = b"".join(_inflate(data, member))
        except SpreadsheetError as error:
            raise not_docx from error
        if member.filename.endswith((".xml", ".rels")) and _DTD.search(content):
            raise TemplateProblem(_("The template's XML declares a DTD, which is not allowed."))
    render_docx(sample_document(), data)


def sample_document() -> ReportDocument:
    """A small report of every element, to try a template on before it is kept."""
    return ReportDocument(
        year=2024,
        style=letterhead.STATE,
        parties=[
            Party(
                letterhead.STATE,
                "",
                ["ỦY BAN NHÂN DÂN", "HUYỆN HÀM TÂN"],
                "UBND",
                Signature("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Hà Lê Thanh Chung"),
            )
        ],
        number="",
        place="Hàm Tân",
        date=datetime.date(2024, 3, 5),
        subject="Kết quả thực hiện công tác phối hợp năm 2024",
        sections=[Section("results", "I. KẾT QUẢ THỰC HIỆN", ["1. Nhiệm vụ phối hợp."])],
        recipients=["Lưu: VT"],
        annex=[AnnexTable("Biểu 1", ["TT", "Nội dung"], [["1", "…"]], [1, 5], [True, False])],
    )
