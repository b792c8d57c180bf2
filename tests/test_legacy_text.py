"""Detection and conversion of TCVN3 (ABC) and VNI-Windows text in coordination.legacy_text."""

import shutil
import subprocess
import unicodedata

import pytest

from coordination.legacy_text import (
    LegacyEncoding,
    _is_vietnamese_syllable,
    convert_legacy,
    detect_legacy,
    fix_legacy,
)

TCVN3 = LegacyEncoding.TCVN3
VNI = LegacyEncoding.VNI

# --- The 134 letters --------------------------------------------------------------------------

TONES = {"acute": "\u0301", "grave": "\u0300", "hook": "\u0309", "tilde": "\u0303", "dot": "\u0323"}
VOWELS = "aăâeêioôơuưy"


def _letters() -> list[str]:
    lower = [unicodedata.normalize("NFC", v + mark) for v in VOWELS for mark in TONES.values()]
    lower += [v for v in VOWELS if not v.isascii()] + ["đ"]
    return lower + [ch.upper() for ch in lower]


LETTERS = _letters()
LOWER_LETTERS = [ch for ch in LETTERS if ch.islower()]


def test_letter_inventory_is_complete():
    assert len(LETTERS) == len(set(LETTERS)) == 134
    assert all(len(ch) == 1 and not ch.isascii() for ch in LETTERS)


# --- Encoders, written independently of the module's tables -----------------------------------

# VNI builds a letter from its ASCII base and markers.
VNI_TONE = {None: "", "acute": "ù", "grave": "ø", "hook": "û", "tilde": "õ", "dot": "ï"}
VNI_CIRCUMFLEX = {None: "â", "acute": "á", "grave": "à", "hook": "å", "tilde": "ã", "dot": "ä"}
VNI_BREVE = {None: "ê", "acute": "é", "grave": "è", "hook": "ú", "tilde": "ü", "dot": "ë"}
VNI_I = {None: "i", "acute": "í", "grave": "ì", "hook": "æ", "tilde": "ó", "dot": "ò"}


def _vni_letter(letter: str) -> str:
    if letter.isupper():
        return _vni_letter(letter.lower()).upper()
    if letter == "đ":
        return "ñ"
    parts = unicodedata.normalize("NFD", letter)
    base, marks = parts[0], parts[1:]
    tone = next((name for name, mark in TONES.items() if mark in marks), None)
    if "\u0302" in marks:  # circumflex
        return base + VNI_CIRCUMFLEX[tone]
    if "\u0306" in marks:  # breve
        return base + VNI_BREVE[tone]
    if "\u031b" in marks:  # horn: ơ and ư have bytes of their own
        return {"o": "ô", "u": "ö"}[base] + VNI_TONE[tone]
    if base == "i":
        return VNI_I[tone]
    if base == "y" and tone == "dot":
        return "î"
    return base + VNI_TONE[tone]


def vni_encode(text: str) -> str:
    return "".join(_vni_letter(ch) for ch in unicodedata.normalize("NFC", text))


# TCVN3 (VN3) bytes of each vowel family, in the order bare, grave, hook, tilde, acute, dot;
# written from TCVN 5712:1993 as a grid, not copied from the module's dictionary.
TCVN3_GRID = {
    "a": "a\xb5\xb6\xb7\xb8\xb9",
    "ă": "\xa8\xbb\xbc\xbd\xbe\xc6",
    "â": "\xa9\xc7\xc8\xc9\xca\xcb",
    "e": "e\xcc\xce\xcf\xd0\xd1",
    "ê": "\xaa\xd2\xd3\xd4\xd5\xd6",
    "i": "i\xd7\xd8\xdc\xdd\xde",
    "o": "o\xdf\xe1\xe2\xe3\xe4",
    "ô": "\xab\xe5\xe6\xe7\xe8\xe9",
    "ơ": "\xac\xea\xeb\xec\xed\xee",
    "u": "u\xef\xf1\xf2\xf3\xf4",
    "ư": "\xad\xf5\xf6\xf7\xf8\xf9",
    "y": "y\xfa\xfb\xfc\xfd\xfe",
}
TCVN3_TONE_ORDER = (None, "grave", "hook", "tilde", "acute", "dot")
TCVN3_CAPITALS = {"Ă": "\xa1", "Â": "\xa2", "Ê": "\xa3", "Ô": "\xa4", "Ơ": "\xa5", "Ư": "\xa6",
                  "Đ": "\xa7"}  # fmt: skip


def _tcvn3_table() -> dict[str, str]:
    table = {"đ": "\xae", **TCVN3_CAPITALS}
    for vowel, codes in TCVN3_GRID.items():
        for tone, code in zip(TCVN3_TONE_ORDER, codes, strict=True):
            letter = unicodedata.normalize("NFC", vowel + (TONES[tone] if tone else ""))
            table[letter] = code
    return table


TCVN3_ENCODE = _tcvn3_table()


def tcvn3_encode(text: str) -> str:
    """Encode as an ABC-font user would: toned capitals, which VN3 lacks, by lower-case bytes."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in TCVN3_ENCODE:
            out.append(TCVN3_ENCODE[ch])
        elif ch.lower() in TCVN3_ENCODE and not ch.isascii():
            out.append(TCVN3_ENCODE[ch.lower()])
        else:
            out.append(ch)
    return "".join(out)


def _vn3_exact(text: str) -> bool:
    """Whether VN3 can spell every letter of `text` in its own case."""
    return all(ch.isascii() or ch.islower() or ch in TCVN3_CAPITALS for ch in text)


# --- Letters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("letter", LETTERS)
def test_every_letter_round_trips_through_vni(letter):
    assert convert_legacy(vni_encode(letter), VNI) == letter


@pytest.mark.parametrize("letter", LOWER_LETTERS)
def test_every_lowercase_letter_round_trips_through_tcvn3(letter):
    assert convert_legacy(tcvn3_encode(letter), TCVN3) == letter


@pytest.mark.parametrize("capital", sorted(TCVN3_CAPITALS))
def test_tcvn3_keeps_its_seven_capitals(capital):
    assert convert_legacy(TCVN3_CAPITALS[capital], TCVN3) == capital


def test_tcvn3_toned_capitals_come_back_lower_case_when_alone():
    for letter in LETTERS:
        if letter.isupper() and letter not in TCVN3_CAPITALS:
            assert convert_legacy(tcvn3_encode(letter), TCVN3) == letter.lower()


def _iconv_knows_tcvn() -> bool:
    if shutil.which("iconv") is None:
        return False
    probe = subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=b"\xb5", capture_output=True
    )
    return probe.returncode == 0 and probe.stdout.decode() == "à"


@pytest.mark.skipif(not _iconv_knows_tcvn(), reason="needs glibc iconv with TCVN5712-1")
def test_tcvn3_table_agrees_with_glibc_iconv():
    for byte in range(0xA1, 0x100):
        char = bytes([byte]).decode("cp1252")
        result = subprocess.run(
            ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"],
            input=bytes([byte]),
            capture_output=True,
            check=True,
        ).stdout.decode()
        if result.islower() or result in TCVN3_CAPITALS:
            assert convert_legacy(char, TCVN3) == result, hex(byte)
        else:
            # VN1/VN2-only toned capitals and combining marks are not VN3: left as they are.
            assert convert_legacy(char, TCVN3) == char, hex(byte)


def test_tcvn3_leaves_windows_punctuation_alone():
    # In VN1 these bytes are toned capitals; in ABC fonts and real text they are punctuation.
    text = "“Quote” – ‘dash’ — … • € ™"
    assert convert_legacy(text, TCVN3) == text


# --- Phrases ----------------------------------------------------------------------------------

PHRASES = [
    "Ủy ban nhân dân huyện Hàm Tân",
    "Hội đồng nhân dân xã Tân Thắng",
    "Ủy ban Mặt trận Tổ quốc Việt Nam",
    "Hội Liên hiệp Phụ nữ",
    "Ban Dân vận Huyện ủy",
    "Đoàn Thanh niên Cộng sản Hồ Chí Minh",
    "Hội Nông dân huyện",
    "Hội Cựu chiến binh",
    "Liên đoàn Lao động huyện",
    "Ban Tuyên giáo Huyện ủy",
    "Ủy ban Kiểm tra Huyện ủy",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Nông nghiệp và Phát triển nông thôn",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Lao động - Thương binh và Xã hội",
    "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân",
    "Công an huyện",
    "Ban Chỉ huy Quân sự huyện",
    "Chủ tịch Ủy ban nhân dân",
    "Phó Chủ tịch Hội đồng nhân dân",
    "Bí thư Đảng ủy xã",
    "Trưởng ban Dân vận",
    "Chánh Văn phòng",
    "Cán bộ chuyên trách",
    "Ủy viên Ban Thường vụ",
    "Tuyên truyền, vận động xây dựng nông thôn mới nâng cao",
    "Giám sát việc giải quyết khiếu nại, tố cáo của công dân",
    "Tổ chức tiếp xúc cử tri trước kỳ họp",
    "Phối hợp thực hiện cuộc vận động Toàn dân đoàn kết xây dựng đời sống văn hóa",
    "Đánh giá kết quả thực hiện quy chế phối hợp năm 2024",
    "Sơ kết sáu tháng đầu năm",
    "Tổng kết công tác năm và triển khai nhiệm vụ năm tới",
    "Kiến nghị của cử tri về đường giao thông nông thôn",
    "Hỗ trợ hộ nghèo, hộ cận nghèo",
    "Phòng, chống thiên tai và tìm kiếm cứu nạn",
    "Quản lý nhà nước về đất đai",
    "Chương trình mục tiêu quốc gia giảm nghèo bền vững",
    "Quyết định khen thưởng",
    "Thị trấn Tân Nghĩa",
    "Khu phố 3, thị trấn Phước Hải",
    "Ấp Bình Hưng, xã Sơn Mỹ",
    "Nguyễn Thị Minh Khai",
    "Đặng Văn Tuấn",
    "Huỳnh Thanh Bình",
    "Hà Lê Thanh Chung",
    "Võ Xuân Định",
    "Trần Việt Dũng",
    "Dương Văn Đông",
    "Nguyễn Văn Hòa",
    "Phạm Thị Hương",
    "Lê Quang Trường",
    "Ngô Thị Thủy",
    "Bùi Đức Thắng",
    "Hồ Ngọc Ánh",
    "ỦY BAN NHÂN DÂN",
    "HỘI ĐỒNG NHÂN DÂN TỈNH",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
]


def test_phrase_list_is_long_enough_and_really_vietnamese():
    assert len(PHRASES) >= 40
    for phrase in PHRASES:
        words = [w for w in phrase.replace(",", " ").replace("-", " ").split() if w.isalpha()]
        assert all(_is_vietnamese_syllable(w) for w in words), phrase


@pytest.mark.parametrize("phrase", PHRASES)
def test_vni_phrase_round_trips(phrase):
    encoded = vni_encode(phrase)
    assert encoded != phrase
    assert fix_legacy(encoded) == (phrase, VNI)


@pytest.mark.parametrize("phrase", PHRASES)
def test_tcvn3_phrase_round_trips(phrase):
    encoded = tcvn3_encode(phrase)
    assert encoded != phrase
    fixed, encoding = fix_legacy(encoded)
    assert encoding is TCVN3
    assert fixed.lower() == phrase.lower()
    if _vn3_exact(phrase) or phrase.isupper():
        # Exact where VN3 has the capitals, and for all-capital text, whose case is repaired.
        assert fixed == phrase


@pytest.mark.parametrize("phrase", PHRASES)
@pytest.mark.parametrize("encode", [vni_encode, tcvn3_encode], ids=["VNI", "TCVN3"])
def test_fixing_is_idempotent(phrase, encode):
    fixed, _ = fix_legacy(encode(phrase))
    assert unicodedata.is_normalized("NFC", fixed)
    assert detect_legacy(fixed) is None
    assert fix_legacy(fixed) == (fixed, None)


@pytest.mark.parametrize("phrase", PHRASES)
def test_unicode_phrases_are_not_flagged(phrase):
    assert detect_legacy(phrase) is None
    assert detect_legacy(unicodedata.normalize("NFD", phrase)) is None


# --- Examples from the brief and known forms --------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "expected", "encoding"),
    [
        ("Hµ Néi", "Hà Nội", TCVN3),
        # The typist put the tone on y ("Uỷ", the same word as "Ủy"); conversion keeps it there.
        ("Uû ban nh©n d©n", "Uỷ ban nhân dân", TCVN3),
        ("Haø Noäi", "Hà Nội", VNI),
        ("UÛy ban nhaân daân", "Ủy ban nhân dân", VNI),
        ("§¶ng uû x· T©n Th¾ng", "Đảng uỷ xã Tân Thắng", TCVN3),
        ("Tr­êng Trung häc c¬ së", "Trường Trung học cơ sở", TCVN3),
        ("ngöôøi daân ôû thoân Tröôøng Xuaân", "người dân ở thôn Trường Xuân", VNI),
        ("Ñaûng uûy xaõ Taân Thaéng", "Đảng ủy xã Tân Thắng", VNI),
        ("NGUYÔN V¡N A", "NGUYỄN VĂN A", TCVN3),
        ("UBND X· H¶I AN", "UBND XÃ HẢI AN", TCVN3),
    ],
)
def test_known_legacy_text_converts(legacy, expected, encoding):
    assert detect_legacy(legacy) is encoding
    assert fix_legacy(legacy) == (expected, encoding)
    assert convert_legacy(legacy, encoding) == expected


def test_tcvn3_capitals_follow_the_text_or_the_word():
    # All capitals typed with a .VnTimeH font: VN3 has only lower-case toned letters.
    assert convert_legacy("CéNG HßA X· HéI", TCVN3) == "CỘNG HÒA XÃ HỘI"
    assert convert_legacy("Ban NGUYÔN ñY", TCVN3) == "Ban NGUYỄN ỦY"
    # Title case and lower case stay as they are.
    assert convert_legacy("Uû ban", TCVN3) == "Uỷ ban"
    assert convert_legacy("5 Hµ", TCVN3) == "5 Hà"
    assert convert_legacy("§µ N½ng", TCVN3) == "Đà Nẵng"


def test_vni_prefers_two_character_sequences():
    # "ô" alone is ơ, "ôù" is ớ; "oâ" is ô, "oá" is ố.
    assert convert_legacy("ô ôù oâ oá ö öø", VNI) == "ơ ớ ô ố ư ừ"


def test_convert_accepts_the_encoding_name():
    assert convert_legacy("Haø Noäi", "VNI") == "Hà Nội"
    assert LegacyEncoding.TCVN3 == "TCVN3"


# --- Text that must be left alone -------------------------------------------------------------

NOT_LEGACY = [
    "",
    "Nguyễn Văn Hòa",
    "Ủy ban nhân dân huyện Hàm Tân",
    "Đầm Hà",
    unicodedata.normalize("NFD", "Nguyễn Văn Hòa"),
    unicodedata.normalize("NFD", "Ủy ban nhân dân huyện Hàm Tân"),
    unicodedata.normalize("NFD", "Đầm Hà"),
    # Real Vietnamese that Windows-1252 can hold, so only the words tell.
    "Hòa Bình",
    "Bình Tân",
    "Phú Yên",
    "Lê Hòa",
    "Tô Lâm",
    "Cà Mau",
    "Tây Ninh",
    "Hoà",
    "Nguyen Van Hoa",
    "Ban Dan van Huyen uy",
    "café",
    "naïve",
    "Zürich",
    "señor",
    "François Müller",
    "Crème brûlée à la carte",
    "Hôtel de Ville",
    "São Paulo",
    "Tromsø",
    "Straße",
    "Loïc",
    "Raphaël",
    "El Niño",
    "Düsseldorf",
    "Malmö",
    "Pokémon",
    "résumé",
    "¡Hola!",
    "«Bonjour»",
    "CAFÉ",
    "12.500.000",
    "1.234,56",
    "15/03/2024",
    "2024-03-15",
    "01/QCPH-UBND-MTTQ",
    "Số 12/2024/NQ-HĐND",
    "5 µg",
    "10 µm",
    "µm",
    "vanthu@hamtan.binhthuan.gov.vn",
    "±5%",
    "©2024",
    "© 2024 UBND",
    "Coca-Cola®",
    "Microsoft® Word",
    "Nº 5",
    "50 m²",
    "25 °C",
    "§ 3",
    "“Quote” – dash",
]


@pytest.mark.parametrize("text", NOT_LEGACY)
def test_ordinary_text_is_not_flagged(text):
    assert detect_legacy(text) is None
    assert fix_legacy(text) == (text, None)


def test_single_words_need_strong_evidence():
    # One symbol used as a letter is enough; one marker that other languages use is not.
    assert fix_legacy("Hµ") == ("Hà", TCVN3)
    assert fix_legacy("Tr­êng") == ("Trường", TCVN3)
    assert detect_legacy("Hïng") is None  # ï is French too
    assert detect_legacy("Loïc") is None  # VNI "Lọc", or the French name
    # The same words among others are recognised.
    assert fix_legacy("NguyÔn M¹nh Hïng") == ("Nguyễn Mạnh Hùng", TCVN3)
    assert fix_legacy("Nguyeãn Vaên Loïc") == ("Nguyễn Văn Lọc", VNI)


def test_text_mixing_unicode_and_legacy_is_left_alone():
    # Converting would corrupt the part typed in Unicode.
    assert detect_legacy("Nguyễn Văn Hòa, Hµ Néi") is None


@pytest.mark.parametrize(
    ("word", "valid"),
    [
        ("quyết", True),
        ("giếng", True),
        ("gìn", True),
        ("khuỷu", True),
        ("huỳnh", True),
        ("thuở", True),
        ("xoong", True),
        ("hoà", True),
        ("hòa", True),
        ("Đắk", True),
        ("ke", True),
        ("ce", False),
        ("ngi", False),
        ("tôt", False),
        ("gỏt", False),
        ("nạve", False),
        ("café", False),
        ("àg", False),
    ],
)
def test_syllable_check(word, valid):
    assert _is_vietnamese_syllable(word) is valid
