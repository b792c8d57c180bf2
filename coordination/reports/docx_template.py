"""The default .docx template of the báo cáo, built with python-docx: Nghị định 30/2020/NĐ-CP,
Phụ lục I (Hướng dẫn 36-HD/VPTW where the issuing body is a Party body).

It is a docxtpl template like the ones offices upload (`reports.docx`), with the same
placeholders, so that an office can download it from the admin, restyle it in Word and upload
it back. A4 portrait; margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman,
body 14 pt justified with a first-line indent; page numbers at the top centre from page 2.

The placeholders (a Jinja context, `reports.docx.context`):

- `parties`: the issuing bodies, lead first, each with `parent_line`, `name_lines`, `style`
  (“state”, “party”, “front”) and `signature` (`authority`, `title`, `name`);
- `is_party`, `nation`, `motto`, `party_name`, `number_line`, `date_line`, `kind`, `subject`;
- `sections` (`title`, `paragraphs`);
- `signature_rows` (pairs of parties, None where a row has one), `joint`,
  `recipients_label`, `recipient_lines`;
- `annex`: the annex tables, inserted with `{{p annex }}`.
"""

import functools
import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

FONT = "Times New Roman"
BODY_SIZE = 14
PAGE = {"width": 210, "height": 297, "top": 20, "bottom": 20, "left": 30, "right": 15}
#: The heading's two columns, in cm: issuing body (left), quốc hiệu (right); 16.5 cm in all.
LEFT, RIGHT = 6.3, 10.2
CELL_MARGIN = 0.19  # Word's default left and right cell margins, in cm
CENTER, LEFT_ALIGN, JUSTIFY = (
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.LEFT,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
)


def set_font(target, name: str = FONT) -> None:
    """`name` for every script of a style or run (Latin, East Asian, complex)."""
    target.font.name = name
    properties = target.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def paragraph(
    container,
    text: str = "",
    *,
    size: float = BODY_SIZE,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align=CENTER,
    before: float = 0,
    after: float = 0,
    first_line: float | None = None,
):
    """A paragraph of one run, formatted as the decree says for its element."""
    para = container.add_paragraph()
    para.alignment = align
    fmt = para.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if first_line is not None:
        fmt.first_line_indent = Cm(first_line)
    run = para.add_run(text)
    run.font.size = Pt(size)
    run.font.bold, run.font.italic, run.font.underline = bold, italic, underline
    return para


def rule(container, length: float, width: float, *, after: float = 0):
    """A solid rule `length` cm long, centred in a column `width` cm wide: an empty
    paragraph with a top border, indented on both sides."""
    para = container.add_paragraph()
    fmt = para.paragraph_format
    side = max((width - 2 * CELL_MARGIN - length) / 2, 0)
    fmt.left_indent = fmt.right_indent = Cm(side)
    fmt.space_before, fmt.space_after = Pt(2), Pt(after)
    fmt.line_spacing = Pt(4)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in {"w:val": "single", "w:sz": "6", "w:space": "1", "w:color": "000000"}.items():
        top.set(qn(key), value)
    borders.append(top)
    para._p.get_or_add_pPr().append(borders)
    run = para.add_run("")
    run.font.size = Pt(2)
    return para


def tag(container, statement: str):
    """A docxtpl paragraph tag (`{%p … %}`): the paragraph is replaced by the statement."""
    return container.add_paragraph("{%p " + statement + " %}")


def no_borders(table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def set_widths(table, widths) -> None:
    """Column widths (lengths): Word reads the cells', LibreOffice the grid's; both are set."""
    table.autofit = False
    for grid_column, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_column.w = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def keep_together(row) -> None:
    """A table row that does not break across pages (a signature block stays whole)."""
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))


def two_columns(document, left: float, right: float, rows: int = 1):
    table = document.add_table(rows=rows, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    no_borders(table)
    set_widths(table, [Cm(left), Cm(right)])
    return table


def page_number_header(section) -> None:
    """The page number at the top centre, not on the first page."""
    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.alignment = CENTER
    run = para.add_run()
    run.font.size = Pt(BODY_SIZE)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def heading(document) -> None:
    """The issuing bodies on the left, the quốc hiệu (or the Party's name) on the right."""
    left, right = two_columns(document, LEFT, RIGHT).rows[0].cells
    left.paragraphs[0].text = "{%p for party in parties %}"
    tag(left, "if party.parent_line")
    paragraph(left, "{{ party.parent_line }}", size=13)
    tag(left, "endif")
    tag(left, "for line in party.name_lines")
    paragraph(left, "{{ line }}", size=13, bold=True)
    tag(left, "endfor")
    tag(left, 'if party.style == "party"')
    paragraph(left, "*", size=13, after=4)
    tag(left, "else")
    rule(left, 2.2, LEFT, after=4)
    tag(left, "endif")
    tag(left, "endfor")
    paragraph(left, "{{ number_line }}", size=13)

    right.paragraphs[0].text = "{%p if is_party %}"
    paragraph(right, "{{ party_name }}", size=15, bold=True)
    rule(right, 7.2, RIGHT)
    tag(right, "else")
    paragraph(right, "{{ nation }}", size=12, bold=True)
    paragraph(right, "{{ motto }}", size=14, bold=True)
    rule(right, 6.1, RIGHT)
    tag(right, "endif")
    paragraph(right, "{{ date_line }}", size=14, italic=True, before=6)


def title(document) -> None:
    paragraph(document, "{{ kind }}", size=14, bold=True, before=18)
    paragraph(document, "{{ subject }}", size=14, bold=True)
    tag(document, "if is_party")
    paragraph(document, "-----", size=14, after=12)
    tag(document, "else")
    rule(document, 3.5, LEFT + RIGHT, after=12)
    tag(document, "endif")


def body(document) -> None:
    tag(document, "for section in sections")
    tag(document, "if section.title")
    paragraph(document, "{{ section.title }}", bold=True, align=JUSTIFY, before=6, after=6)
    tag(document, "endif")
    tag(document, "for text in section.paragraphs")
    paragraph(document, "{{ text }}", align=JUSTIFY, after=6, first_line=1.27)
    tag(document, "endfor")
    tag(document, "endfor")


def signer(cell, index: int) -> None:
    """One body's authority, title, space to sign, and signer's name, centred and bold;
    the cell's first paragraph opens the condition, the caller closes it."""
    party = f"row[{index}]"
    cell.paragraphs[0].text = "{%p if " + party + " %}"
    tag(cell, f"if {party}.signature.authority")
    paragraph(cell, "{{ " + party + ".signature.authority }}", bold=True)
    tag(cell, "endif")
    paragraph(cell, "{{ " + party + ".signature.title }}", bold=True)
    for _line in range(4):  # the signature and the seal
        paragraph(cell, "")
    paragraph(cell, "{{ " + party + ".signature.name }}", bold=True, after=12)


def recipients(container, *, label_size: float = 12) -> None:
    """*Nơi nhận:* in bold italic 12 pt, then one line a recipient in 11 pt."""
    paragraph(container, "{{ recipients_label }}", size=label_size, bold=True, italic=True,
              align=LEFT_ALIGN)  # fmt: skip
    tag(container, "for line in recipient_lines")
    paragraph(container, "{{ line }}", size=11, align=LEFT_ALIGN)
    tag(container, "endfor")


def signatures(document) -> None:
    """Rows of two signature blocks, the lead's on the right of the first; the recipients
    on the left of a single body's signature, under all of them in a joint report."""
    paragraph(document, "", after=6)
    table = two_columns(document, LEFT + 0.6, RIGHT - 0.6, rows=3)
    keep_together(table.rows[1])
    table.cell(0, 0).paragraphs[0].text = "{%tr for row in signature_rows %}"
    left, right = table.rows[1].cells
    signer(left, 0)
    tag(left, "elif loop.first and not joint")
    recipients(left)
    tag(left, "endif")
    signer(right, 1)
    tag(right, "endif")
    for cell in (left, right):  # a cell keeps a paragraph whatever the conditions say
        paragraph(cell, "", size=2)
    table.cell(2, 0).paragraphs[0].text = "{%tr endfor %}"
    tag(document, "if joint")
    recipients(document)
    tag(document, "endif")


def styles(document) -> None:
    normal = document.styles["Normal"]
    set_font(normal)
    normal.font.size = Pt(BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0


@functools.cache
def default_template() -> bytes:
    """The default template, as .docx bytes (built once per process)."""
    document = Document()
    styles(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE["width"]), Mm(PAGE["height"])
    section.top_margin, section.bottom_margin = Mm(PAGE["top"]), Mm(PAGE["bottom"])
    section.left_margin, section.right_margin = Mm(PAGE["left"]), Mm(PAGE["right"])
    section.header_distance = section.footer_distance = Mm(10)
    page_number_header(section)
    heading(document)
    title(document)
    body(document)
    signatures(document)
    tag(document, "if annex")
    document.add_paragraph("{{p annex }}")
    tag(document, "endif")
    stream = io.BytesIO()
    document.save(stream)
    return stream.getvalue()
