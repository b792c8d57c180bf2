"""The zip container of an .xlsx, .xlsm or .ods: its directory checked before anything is
inflated, and members inflated chunk by chunk against their declared size and CRC.

`unreadable` is the refusal naming the format found (an .xlsx's by default)."""

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator

from coordination.spreadsheets.errors import (
    _CHUNK,
    MAX_COMPRESSION_RATIO,
    MAX_ZIP_MEMBERS,
    RATIO_CHECK_MIN_BYTES,
    SpreadsheetError,
    _bad_xlsx,
    _zip_bomb,
)

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def _open_zip(
    data: bytes,
    max_unpacked_bytes: int,
    *,
    required: str = "xl/workbook.xml",
    unreadable: Callable[[], SpreadsheetError] = _bad_xlsx,
) -> zipfile.ZipFile:
    """Open the archive and refuse, from its directory alone, what cannot be a sane workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as exc:  # zipfile raises many types on a damaged directory
        raise unreadable() from exc
    names = [member.filename for member in members]
    # calamine must find, under the name this module resolves, the very member that was
    # checked: no second copy of a name, not even in other letter case (calamine looks names
    # up without case), and no name that its zip reader would rewrite or resolve differently
    # (backslashes, "." and ".." segments, non-ASCII bytes).
    if (
        len(members) > MAX_ZIP_MEMBERS
        or len({name.lower() for name in names}) != len(names)
        or required not in names
        or not all(_is_plain_member_name(name) for name in names)
    ):
        raise unreadable()
    if sum(member.file_size for member in members) > max_unpacked_bytes:
        raise _zip_bomb(max_unpacked_bytes)
    for member in members:
        if (
            member.file_size > RATIO_CHECK_MIN_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise _zip_bomb(max_unpacked_bytes)
        if member.flag_bits & 0x1 or member.compress_type not in (
            zipfile.ZIP_STORED,
            zipfile.ZIP_DEFLATED,
        ):
            raise unreadable()
    return archive


def _is_plain_member_name(name: str) -> bool:
    parts = name.split("/")
    if name.endswith("/"):  # a folder entry
        parts.pop()
    return (
        name.isascii() and "\\" not in name and all(part not in ("", ".", "..") for part in parts)
    )


def _inflate(
    data: bytes,
    member: zipfile.ZipInfo,
    unreadable: Callable[[], SpreadsheetError] = _bad_xlsx,
) -> Iterator[bytes]:
    """Yield a member's bytes, checking its real size and CRC against the directory.

    zipfile stops at the declared size, but calamine's reader may not: a member that
    inflates beyond what the directory says would slip past the size pre-check.
    """
    try:
        signature, *_fields, name_length, extra_length = _LOCAL_HEADER.unpack_from(
            data, member.header_offset
        )
    except struct.error as exc:
        raise unreadable() from exc
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    end = start + member.compress_size
    if signature != _ZIP_MAGIC or end > len(data):
        raise unreadable()
    view = memoryview(data)
    produced = 0
    crc = 0
    if member.compress_type == zipfile.ZIP_STORED:
        for offset in range(start, end, _CHUNK):
            chunk = bytes(view[offset : min(offset + _CHUNK, end)])
            produced += len(chunk)
            crc = zlib.crc32(chunk, crc)
            yield chunk
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        position = start
        try:
            while not inflater.eof:
                if inflater.unconsumed_tail:
                    pending = inflater.unconsumed_tail
                elif position < end:
                    pending = view[position : min(position + _CHUNK, end)]
                    position += len(pending)
                else:
                    break
                chunk = inflater.decompress(pending, _CHUNK)
                produced += len(chunk)
                if produced > member.file_size:
                    raise unreadable()
                crc = zlib.crc32(chunk, crc)
                yield chunk
        except zlib.error as exc:
            raise unreadable() from exc
    if produced != member.file_size or crc != member.CRC:
        raise unreadable()


def inflate_members(
    data: bytes,
    archive: zipfile.ZipFile,
    limit: int,
    *,
    xml_suffixes: tuple[str, ...],
    on_dtd: Callable[[], None],
    unreadable: Callable[[], SpreadsheetError] = _bad_xlsx,
) -> Iterator[tuple[zipfile.ZipInfo, Iterator[bytes]]]:
    """Each member of `archive` with its chunks, inflated once (`_inflate`): the running
    total of every member held to `limit` (a zip bomb), and `on_dtd()` called for a DTD or
    an entity declaration in an XML member. Read each member's chunks to the end before the
    next member."""
    total = 0

    def chunks(member: zipfile.ZipInfo) -> Iterator[bytes]:
        nonlocal total
        is_xml = member.filename.endswith(xml_suffixes)
        tail = b""
        for chunk in _inflate(data, member, unreadable):
            total += len(chunk)
            if total > limit:
                raise _zip_bomb(limit)
            if is_xml:
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    on_dtd()
                tail = chunk[-16:]
            yield chunk

    for member in archive.infolist():
        yield member, chunks(member)
