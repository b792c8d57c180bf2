"""The letterhead and signature of a report, by the kind of body that issues it.

Three conventions (the document's own wording, always Vietnamese: it is prescribed text, not
interface):

- state bodies (People's Committees and Councils, the unions, the others), Nghị định
  30/2020/NĐ-CP, Phụ lục I: the parent body (cơ quan chủ quản) over the issuing body with a
  short rule under it, *Số: 12/BC-UBND*; on the right the quốc hiệu and the tiêu ngữ, underlined
  the length of its line; authorities “TM.”, “KT.”, “Q.”, “TL.”;
- Party bodies, Hướng dẫn 36-HD/VPTW: “ĐẢNG CỘNG SẢN VIỆT NAM” on the right instead of the
  quốc hiệu, the committee (Huyện ủy …) over its department with an asterisk under it, *Số
  15-BC/BDVHU* (no colon), authorities “T/M”, “K/T”, “T/L”;
- the Fatherland Front (its Đoàn Chủ tịch's rules): the committee's name in bold over its
  place (“ỦY BAN MTTQ VIỆT NAM” / “HUYỆN HÀM TÂN”), with no parent body above it, a short
  rule under it, *Số: 05/BC-MTTQ*, and the quốc hiệu on the right.

Dates: days below 10 and the months January and February take a leading zero, no others.
"""

import datetime
import re
import unicodedata

from coordination.choices import UnitKind

STATE, PARTY, FRONT = "state", "party", "front"

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PARTY_NAME = "ĐẢNG CỘNG SẢN VIỆT NAM"
REPORT_KIND = "BÁO CÁO"
RECIPIENTS_LABEL = "Nơi nhận:"
#: What stands in the number and the signature of a report not yet issued.
DRAFT_NUMBER_GAP = "\u00a0" * 6

#: The words that open the place in a body's name: “… huyện Hàm Tân”.
PLACE_WORDS = ("thành phố", "thị trấn", "thị xã", "phường", "huyện", "quận", "tỉnh", "xã")
#: A Party committee named at the end of a department's name: “Ban Dân vận Huyện ủy …”.
PARTY_COMMITTEE = re.compile(
    r"\s+((?:Huyện|Tỉnh|Thành|Thị|Quận|Đảng|Xã|Phường)\s+ủy\b.*)$", re.IGNORECASE
)
# “huyện ủy” is a Party committee, not a place.
_PLACE = re.compile(r"\s+(?=(?:" + "|".join(PLACE_WORDS) + r")\s(?!ủy\b))", re.IGNORECASE)


def style_of(kind: str) -> str:
    """The convention a unit of `kind` (`UnitKind`) writes its documents in."""
    if kind == UnitKind.PARTY_BODY:
        return PARTY
    if kind == UnitKind.FATHERLAND_FRONT:
        return FRONT
    return STATE


def upper(text: str) -> str:
    return " ".join(text.split()).upper()


def date_line(place: str, day: datetime.date) -> str:
    """“Hàm Tân, ngày 05 tháng 3 năm 2024”: days below 10 and months 1–2 padded with 0."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    text = f"ngày {day.day:02d} tháng {month} năm {day.year}"
    return f"{place}, {text}" if place else text.capitalize()


def number_line(style: str, number: str) -> str:
    """“Số: 12/BC-UBND” (state, Front), “Số 15-BC/BDVHU” (Party)."""
    return f"Số {number}" if style == PARTY else f"Số: {number}"


def abbreviation(full_name: str) -> str:
    """The initials of a body's name before its place: “Ủy ban nhân dân xã …” → “UBND”,
    “Ban Dân vận Huyện ủy …” → “BDVHU”."""
    name = " ".join(full_name.split())
    committee = PARTY_COMMITTEE.search(name)
    if committee:  # “Ban Dân vận Huyện ủy Vĩnh Thuận”: the committee without its place
        name = f"{name[: committee.start()]} {' '.join(committee.group(1).split()[:2])}"
    name = _PLACE.split(name, maxsplit=1)[0]
    words = [word for word in re.split(r"[\s\-–]+", name) if word and word[0].isalpha()]
    return "".join(_initial(word) for word in words)


def _initial(word: str) -> str:
    """A word's first letter in capitals, without its tone and vowel marks (Đ stays Đ)."""
    return unicodedata.normalize("NFD", word[0].upper())[0]


def draft_number(style: str, abbreviations: list[str]) -> str:
    """The number of a report not yet issued, its place left blank: “  /BC-UBND-MTTQ”."""
    issuers = "-".join(abbreviation for abbreviation in abbreviations if abbreviation)
    if style == PARTY:
        return f"{DRAFT_NUMBER_GAP}-BC/{issuers}"
    return f"{DRAFT_NUMBER_GAP}/BC-{issuers}"


def name_lines(style: str, full_name: str, parent_name: str = "") -> tuple[str, list[str]]:
    """(the parent body's line, the issuing body's lines), in capitals.

    A name is cut before its place (“ỦY BAN NHÂN DÂN” / “HUYỆN HÀM TÂN”); a Party department
    without a parent takes its committee from its name (“HUYỆN ỦY VĨNH THUẬN” over
    “BAN DÂN VẬN”); the Front has no parent body over it.
    """
    name = " ".join(full_name.split())
    if style == PARTY:
        committee = PARTY_COMMITTEE.search(name)
        if committee:
            return upper(parent_name or committee.group(1)), [upper(name[: committee.start()])]
        return upper(parent_name), [upper(name)]
    parts = _PLACE.split(name, maxsplit=1)
    lines = [upper(part) for part in parts if part.strip()]
    if style == FRONT:
        # As the Front writes its heading, on one line of the left column.
        return "", [line.replace("MẶT TRẬN TỔ QUỐC", "MTTQ") for line in lines]
    return upper(parent_name), lines


#: Positions a signer's title is cut from: “Phó Bí thư Huyện ủy, Chủ tịch UBND huyện” → the
#: last post, up to the body's name.
_BODY_WORDS = re.compile(
    r"\s+(?:UB|HĐND|UBND|MTTQ|Ủy ban|Hội đồng|Huyện|Tỉnh|huyện|tỉnh|xã|Hội|Mặt trận|Ban|[A-ZĐ]{2,})"
)


def signer_title(position: str) -> str:
    """The title a signer signs under, from their position: “Chủ tịch UBND huyện” → “CHỦ TỊCH”."""
    post = position.split(",")[-1].strip()
    head = re.match(r"(?:phó\s+)?trưởng\s+ban\b", post, re.IGNORECASE)
    if head:
        return upper(head.group(0))
    return upper(_BODY_WORDS.split(post, maxsplit=1)[0])


#: The collective body a head signs for (“TM.”), by the kind of unit.
COLLECTIVE = {
    UnitKind.PEOPLES_COUNCIL: "THƯỜNG TRỰC HĐND",
    UnitKind.FATHERLAND_FRONT: "BAN THƯỜNG TRỰC",
    UnitKind.SOCIO_POLITICAL: "BAN THƯỜNG VỤ",
}


def authority(kind: str, body_line: str, title: str) -> str:
    """The signer's authority over their title: “TM. ỦY BAN NHÂN DÂN” for the head of a
    collective body, “KT. CHỦ TỊCH” (Party: “K/T TRƯỞNG BAN”) for a deputy; the head of a
    Party department or of another body signs under their title alone."""
    style = style_of(kind)
    if title.startswith("PHÓ "):
        return f"{'K/T' if style == PARTY else 'KT.'} {title[4:].strip()}"
    if style == PARTY or kind == UnitKind.OTHER:
        return ""
    if kind == UnitKind.PEOPLES_COMMITTEE:
        return f"TM. {body_line}" if body_line else ""
    return f"TM. {COLLECTIVE[kind]}" if kind in COLLECTIVE else ""
