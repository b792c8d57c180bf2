"""Reads the workbook `argv[1]` (small and valid), then `argv[2]` (a zip bomb, or another
bomb); prints the refusal's code and how far the process's resident memory grew while reading
the second (test_spreadsheets.py, test_hostile_formats.py).

The reader runs in a child process: python-calamine allocates in Rust, out of tracemalloc's
sight, so only the process's resident memory tells. Not ru_maxrss: a child started by pytest
inherits pytest's own peak through fork and exec. VmHWM is the child's own peak.
"""

import json
import os
import resource
import sys

import django


def kilobytes(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


# A bomb that slipped past the checks fails the test (the child dies, calamine aborting on a
# refused allocation) instead of taking the machine's memory.
ADDRESS_SPACE_LIMIT = 4 * 2**30


def main(valid: str, bomb: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from coordination.spreadsheets import SpreadsheetError, read_workbook

    def read(path):
        with open(path, "rb") as file:
            data = file.read()
        try:
            read_workbook(
                data,
                filename="danh-sach.xlsx",
                max_bytes=5 * 2**20,
                max_rows=1000,
                max_unpacked_bytes=100 * 2**20,
            )
        except SpreadsheetError as error:
            return error.code

    read(valid)  # a small valid workbook first: imports and catalogues are not the bomb's
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # restart the peak (VmHWM) from the current size
    except OSError:
        pass  # then VmHWM is older and higher: the growth measured only errs on the large side
    before = kilobytes("VmRSS")
    code = read(bomb)
    print(json.dumps({"code": code, "growth_kb": kilobytes("VmHWM") - before}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
