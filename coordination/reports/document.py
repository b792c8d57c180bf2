"""The yearly report as a báo cáo: its heading, its body filled from the figures, its
signatures and its annex tables, as data that the print page and the .docx both lay out.

A `ReportDocument` is built from a `YearlyReport` (`build_document`), with what the user
edited before issuing laid over the defaults (`Edits`), and is kept as JSON in an issued
report (`to_dict`, `from_dict`). Its text is the document's own: Vietnamese, whatever the
interface's language (the annex's column labels are the page's, rendered in Vietnamese).
"""

import dataclasses
import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils import timezone, translation

import coordination.reports.letterhead as letterhead
from coordination.choices import PartyRole
from coordination.models import Person, Signatory, Unit
from coordination.reports.drafting import (
    LEGACY_ANNEX_KEYS,
    AnnexTable,
    annex_tables,
    default_texts,
)
from coordination.reports.yearly import YearlyReport

#: The editable parts of the body, in the document's order, with their headings.
SECTIONS = (
    ("opening", ""),
    ("results", "I. KẾT QUẢ THỰC HIỆN"),
    ("limitations", "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN"),
    ("directions", "III. PHƯƠNG HƯỚNG, NHIỆM VỤ NĂM TỚI"),
    ("recommendations", "IV. KIẾN NGHỊ, ĐỀ XUẤT"),
)
ARCHIVE_LINE = "Lưu: VT."


@dataclass
class Signature:
    authority: str = ""
    title: str = ""
    name: str = ""


@dataclass
class Party:
    """One issuing body: its heading (left) and its signature block."""

    style: str
    parent_line: str
    name_lines: list[str]
    abbreviation: str
    signature: Signature = field(default_factory=Signature)


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str]


@dataclass
class ReportDocument:
    year: int
    style: str
    parties: list[Party]
    number: str
    place: str
    date: datetime.date
    subject: str
    sections: list[Section]
    recipients: list[str]
    annex: list[AnnexTable]
    kind: str = letterhead.REPORT_KIND
    issued: bool = False
    #: The day the figures were counted (statuses, overdue, days overdue): the day the
    #: report was built or issued, which the annex states; None in a document issued before.
    counted_on: datetime.date | None = None

    @property
    def joint(self) -> bool:
        """A report signed by several bodies (liên tịch)."""
        return len(self.parties) > 1

    @property
    def number_line(self) -> str:
        number = self.number or letterhead.draft_number(
            self.style, [party.abbreviation for party in self.parties]
        )
        return letterhead.number_line(self.style, number)

    @property
    def date_line(self) -> str:
        return letterhead.date_line(self.place, self.date)

    @property
    def national_lines(self) -> list[str]:
        if self.style == letterhead.PARTY:
            return [letterhead.PARTY_NAME]
        return [letterhead.NATION, letterhead.MOTTO]

    @property
    def signature_rows(self) -> list[list[Party | None]]:
        """The signature blocks two by two, the lead's on the right of the first row (a joint
        report's lead body signs on the right, as a single body does)."""
        parties = list(self.parties)
        rows = [[parties[1] if len(parties) > 1 else None, parties[0]]]
        rest = parties[2:]
        while rest:
            rows.append([rest[0], rest[1] if len(rest) > 1 else None])
            rest = rest[2:]
        return rows

    @property
    def recipients_label(self) -> str:
        return letterhead.RECIPIENTS_LABEL

    @property
    def recipient_lines(self) -> list[str]:
        """“- Thường trực Huyện ủy;” … “- Lưu: VT.”: a dash each, “;” between, “.” last."""
        lines = [line.strip().rstrip(";.").strip() for line in self.recipients]
        return [f"- {line}{'.' if i == len(lines) - 1 else ';'}" for i, line in enumerate(lines)]

    def section(self, key: str) -> Section:
        return next(section for section in self.sections if section.key == key)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["date"] = self.date.isoformat()
        data["counted_on"] = self.counted_on.isoformat() if self.counted_on else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ReportDocument":
        """The document `to_dict()` kept; keys this version does not know are left out, so
        that an issued report reads the same after the code has changed."""
        data = _known(cls, data)
        data["date"] = datetime.date.fromisoformat(data["date"])
        data["parties"] = [
            Party(
                **{
                    **_known(Party, party),
                    "signature": Signature(**_known(Signature, party["signature"])),
                }
            )
            for party in data["parties"]
        ]
        data["sections"] = [Section(**_known(Section, section)) for section in data["sections"]]
        data["annex"] = [AnnexTable(**_known(AnnexTable, table)) for table in data["annex"]]
        if data.get("counted_on"):
            data["counted_on"] = datetime.date.fromisoformat(data["counted_on"])
        if data["annex"] and not any(table.key for table in data["annex"]):
            # Issued before the tables were named: one summary, then the three others.
            for table, key in zip(data["annex"], LEGACY_ANNEX_KEYS, strict=False):
                table.key = key
        return cls(**data)

    @property
    def counted_line(self) -> str:
        """“(Số liệu tính đến ngày 15/01/2026)”, under the annex's title."""
        return f"(Số liệu tính đến ngày {self.counted_on:%d/%m/%Y})" if self.counted_on else ""


def _known(cls, data: dict) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


@dataclass
class Edits:
    """What the user changed before issuing; None (or empty) keeps the default."""

    number: str = ""
    date: datetime.date | None = None
    subject: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    recipients: str = ""
    signatures: list[Signature] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON: a background job's parameters (`from_dict` reads it back)."""
        values = dataclasses.asdict(self)
        values["date"] = self.date.isoformat() if self.date else None
        return values

    @classmethod
    def from_dict(cls, data: dict) -> "Edits":
        values = _known(cls, data)
        if values.get("date"):
            values["date"] = datetime.date.fromisoformat(values["date"])
        values["signatures"] = [
            Signature(**_known(Signature, signature)) for signature in values.get("signatures", [])
        ]
        return cls(**values)


def default_date(year: int, today: datetime.date | None = None) -> datetime.date:
    """The date of a live report: today for this year's, the year's last day for a past
    year's (a 2017 report is not dated 2026)."""
    today = today or timezone.localdate()
    return min(today, datetime.date(year, 12, 31))


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def build_document(
    report: YearlyReport, edits: Edits | None = None, *, previous=None, every_row: bool = True
) -> ReportDocument:
    """The báo cáo of `report` (a valid `YearlyReport`), `edits` laid over its defaults.

    `previous` (a `ReportDocument`, the last one issued for the same unit or agreement) gives
    the default signers and recipients: they rarely change from one report to the next.
    The annex lists every outstanding row, unless `every_row` is False: the page, which lays
    out its own bounded tables, builds the document without reading them, its outstanding
    tables without rows.
    """
    edits = edits or Edits()
    if every_row:
        report.load_every_row()
    with translation.override("vi"):
        parties = issuing_parties(report)
        lead = parties[0]
        if previous is not None and len(previous.parties) == len(parties):
            for party, old in zip(parties, previous.parties, strict=True):
                party.signature = dataclasses.replace(old.signature)
        for party, signature in zip(parties, edits.signatures, strict=False):
            party.signature = signature
        texts = default_texts(report)
        texts.update(edits.texts)
        recipients = default_recipients(report, previous)
        if edits.recipients.strip():
            recipients = [line.strip(" -;.") for line in paragraphs(edits.recipients)]
        if not any(line.startswith("Lưu") for line in recipients):
            recipients.append(ARCHIVE_LINE)  # the office's own copy closes every list
        return ReportDocument(
            year=report.year,
            style=lead.style,
            parties=parties,
            number=edits.number.strip(),
            place=report.place,
            date=edits.date or default_date(report.year, report.today),
            subject=edits.subject.strip() or default_subject(report),
            sections=[
                Section(key, title, paragraphs(texts.get(key, ""))) for key, title in SECTIONS
            ],
            recipients=[line for line in recipients if line],
            annex=annex_tables(report, outstanding=every_row),
            counted_on=report.today,
        )


def report_units(report: YearlyReport) -> list[Unit]:
    """The bodies that issue `report`: its unit, or an agreement's parties, lead first."""
    if report.unit is not None:
        return [report.unit]
    if not report.parties:
        links = sorted(
            report.agreement.party_links.select_related("unit", "unit__parent"),
            key=lambda link: (link.role != PartyRole.LEAD, link.pk),
        )
        report.parties = [link.unit for link in links]
    return report.parties


def issuing_parties(report: YearlyReport) -> list[Party]:
    units = report_units(report)
    signers = default_signers(report, units)
    parties = []
    for unit in units:
        style = letterhead.style_of(unit.kind)
        parent = unit.parent.full_name if unit.parent_id else ""
        parent_line, lines = letterhead.name_lines(style, unit.full_name, parent)
        person = signers.get(unit.pk)
        signature = Signature()
        if person is not None:
            title = letterhead.signer_title(person.position)
            body_line = lines[0] if lines else ""
            authority = letterhead.authority(unit.kind, body_line, title)
            signature = Signature(authority, title, person.full_name)
        parties.append(
            Party(
                style=style,
                parent_line=parent_line,
                name_lines=lines,
                abbreviation=letterhead.abbreviation(unit.full_name),
                signature=signature,
            )
        )
    if not parties:  # an agreement without parties: its report still has a heading
        parties.append(Party(letterhead.STATE, parent_line="", name_lines=[], abbreviation=""))
    return parties


HEAD_POSITIONS = ("Chủ tịch", "Trưởng ban", "Trưởng Ban", "Bí thư", "Giám đốc", "Trưởng phòng")


def default_signers(report: YearlyReport, units: list[Unit]) -> dict[int, Person]:
    """Each unit's head, in one query: the person who signed the agreement for the unit,
    else the unit's first active person whose position is a head's."""
    people = Person.objects.filter(unit__in=units, is_active=True)
    if report.agreement is not None:
        signed = Signatory.objects.filter(
            agreement=report.agreement, person=OuterRef("pk"), unit=OuterRef("unit")
        )
        people = people.annotate(signed=Exists(signed))
    signers = {}
    for person in people.order_by("pk")[:500]:
        post = person.position.split(",")[-1].strip()
        current = signers.get(person.unit_id)
        first_signer = getattr(person, "signed", False) and not getattr(current, "signed", False)
        first_head = current is None and post.startswith(HEAD_POSITIONS)
        if first_signer or first_head:
            signers[person.unit_id] = person
    return signers


def default_subject(report: YearlyReport) -> str:
    if report.agreement is not None:
        title = report.agreement.title
        # “Chương trình phối hợp … năm 2023” already says its year.
        year = "" if str(report.year) in title else f" năm {report.year}"
        return f"Kết quả thực hiện {title}{year}"
    return f"Kết quả thực hiện công tác phối hợp năm {report.year}"


def default_recipients(report: YearlyReport, previous=None) -> list[str]:
    if previous is not None and previous.recipients:
        return list(previous.recipients)
    recipients = []
    units = report_units(report)
    if report.unit is not None and report.unit.parent_id:
        recipients.append(f"{report.unit.parent.full_name} (b/c)")
    for unit in units[1:] if report.agreement is not None else []:
        recipients.append(unit.full_name)
    return [*recipients, ARCHIVE_LINE]
