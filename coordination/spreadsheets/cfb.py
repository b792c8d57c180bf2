"""The OLE compound file around an .xls, read the way python-calamine reads it, every step bounded.

calamine's reader (calamine/src/cfb.rs) follows sector chains without looking for loops (a loop
reads forever, and its buffer grows until the process dies), takes sizes from the header before
comparing them with the file, and finds a stream by the first directory entry with its name,
whatever the entry's type. So this module walks the same structures by the same rules, refusing
loops, sectors past the end of the file and sizes the file cannot hold, and gives the very bytes
of the stream calamine will parse. A general OLE library reads some damaged files differently
from calamine, and the checks must see what calamine will see.
"""

import struct

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The names calamine tries for an .xls's workbook stream, in its order.
WORKBOOK_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")

_ENDOFCHAIN = 0xFFFF_FFFE
_DIFSECT = 0xFFFF_FFFC
_RESERVED = 0xFFFF_FFFA
_MINI_SECTOR = 64
_MINI_STREAM_CUTOFF = 4096
# calamine reserves room for as many DIFAT entries as the four header bytes at offset 62 say
# (they straddle two other fields): ordinary files give at most a few million (a few MB).
_MAX_RESERVED_DIFAT = 1 << 24


class BrokenCompoundFile(Exception):
    """The bytes are not a compound file that calamine would read safely."""


class CompoundFile:
    """The directory of an OLE compound file, and its streams as calamine reads them."""

    def __init__(self, data: bytes):
        if len(data) < 512 or not data.startswith(OLE_MAGIC):
            raise BrokenCompoundFile("not a compound file")
        version, sector_shift, mini_shift = struct.unpack_from("<H2xHH", data, 26)
        if sector_shift == 9:
            self._size = 512
        elif sector_shift == 12:
            self._size = 4096
        else:
            raise BrokenCompoundFile("sector size")
        if mini_shift != 6:
            raise BrokenCompoundFile("mini sector size")
        # The header fills the first sector; sector n follows it.
        self._data = data
        self._maxid = len(data) // self._size
        fat_len, dir_start = struct.unpack_from("<II", data, 44)
        mini_fat_start, mini_fat_len, difat_start = struct.unpack_from("<III", data, 60)
        (reserved_difat,) = struct.unpack_from("<I", data, 62)
        if (
            reserved_difat > _MAX_RESERVED_DIFAT
            or fat_len > self._maxid + 1
            or mini_fat_len > self._maxid + 1
        ):
            raise BrokenCompoundFile("header sizes")

        difat = list(struct.unpack_from("<109I", data, 76))
        seen = set()
        sector_id = difat_start
        while sector_id < _RESERVED:
            if sector_id in seen:
                raise BrokenCompoundFile("DIFAT loop")
            seen.add(sector_id)
            difat.extend(_u32s(self._sector(sector_id)))
            sector_id = difat.pop()
        fat_sectors = [sector for sector in difat if sector < _DIFSECT]
        if len(fat_sectors) > self._maxid + 1:
            raise BrokenCompoundFile("FAT size")
        self._fat: list[int] = []
        for sector in fat_sectors:
            self._fat.extend(_u32s(self._sector(sector)))

        directory = self._chain(dir_start, self._fat, self._sector, None)
        self.entries = [
            _entry(directory[offset : offset + 128], self._size)
            for offset in range(0, len(directory), 128)
        ]
        if not self.entries or (version != 3 and self.entries[0][1] == _ENDOFCHAIN):
            raise BrokenCompoundFile("empty root")
        self._mini_fat: list[int] = []
        self._mini_stream = b""
        if mini_fat_len > 0:
            _name, root_start, root_size = self.entries[0]
            self._mini_stream = self._chain(root_start, self._fat, self._sector, root_size)
            self._mini_fat = list(
                _u32s(
                    self._chain(mini_fat_start, self._fat, self._sector, mini_fat_len * self._size)
                )
            )

    @property
    def names(self) -> list[str]:
        return [name for name, _start, _size in self.entries]

    def stream(self, name: str) -> bytes:
        """The first stream of that name, as calamine reads it."""
        _name, start, size = next(entry for entry in self.entries if entry[0] == name)
        if size < _MINI_STREAM_CUTOFF:
            return self._chain(start, self._mini_fat, self._mini_sector, size)
        return self._chain(start, self._fat, self._sector, size)

    def workbook_stream(self) -> bytes:
        """The stream an .xls keeps its workbook in."""
        name = next((name for name in WORKBOOK_STREAMS if name in self.names), None)
        if name is None:
            raise BrokenCompoundFile("no workbook stream")
        return self.stream(name)

    def _sector(self, sector_id: int) -> bytes:
        start = (sector_id + 1) * self._size
        # calamine pads a sector cut short by the end of the file, or fails on it.
        if sector_id > self._maxid or start + self._size > len(self._data):
            raise BrokenCompoundFile("sector past the end")
        return self._data[start : start + self._size]

    def _mini_sector(self, sector_id: int) -> bytes:
        start = sector_id * _MINI_SECTOR
        # Past the mini stream calamine reads on in the file, from wherever it stopped.
        if sector_id > self._maxid * 8 or start + _MINI_SECTOR > len(self._mini_stream):
            raise BrokenCompoundFile("mini sector past the end")
        return self._mini_stream[start : start + _MINI_SECTOR]

    @staticmethod
    def _chain(sector_id: int, fat: list[int], sector, size: int | None) -> bytes:
        """The sectors from `sector_id` on, as far as `size` bytes (all of them if None)."""
        chain = bytearray()
        seen = set()
        while sector_id != _ENDOFCHAIN:
            if sector_id in seen:
                raise BrokenCompoundFile("sector loop")
            seen.add(sector_id)
            data = sector(sector_id)
            if size is None:
                chain += data
            else:
                chain += data[: size - len(chain)]
                if len(chain) >= size:
                    break
            if sector_id >= len(fat):
                raise BrokenCompoundFile("sector outside the FAT")
            sector_id = fat[sector_id]
        return bytes(chain)


def _u32s(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data)


def _entry(raw: bytes, sector_size: int) -> tuple[str, int, int]:
    """A directory entry's name, first sector and size, decoded as calamine decodes them (its
    decoder honours a byte order mark), up to the first NUL."""
    name_bytes = raw[:64]
    if name_bytes.startswith(b"\xef\xbb\xbf"):
        name = name_bytes[3:].decode("utf-8", "replace")
    elif name_bytes.startswith(b"\xff\xfe"):
        name = name_bytes[2:].decode("utf-16-le", "replace")
    elif name_bytes.startswith(b"\xfe\xff"):
        name = name_bytes[2:].decode("utf-16-be", "replace")
    else:
        name = name_bytes.decode("utf-16-le", "replace")
    name = name.split("\x00", 1)[0]
    (start,) = struct.unpack_from("<I", raw, 116)
    if sector_size == 512:
        (size,) = struct.unpack_from("<I", raw, 120)
    else:
        (size,) = struct.unpack_from("<Q", raw, 120)
    return name, start, size
