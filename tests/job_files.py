"""Follow-up workbooks large enough to run as a background job (tests of coordination.jobs)."""

import datetime

HEADER = ["Loại", "Năm", "Nội dung", "Đơn vị chịu trách nhiệm", "Ngày nêu", "Hạn xử lý"]
UNIT_NAME = "Ủy ban nhân dân xã Tân Hà"


def follow_up_rows(count: int, *, start: int = 0, unit: str = UNIT_NAME) -> list[list]:
    """The header and `count` valid follow-up rows, each with its own content (natural key)."""
    rows = [HEADER]
    for index in range(start, start + count):
        raised = datetime.date(2024, 1 + index % 12, 1 + index % 28)
        rows.append(
            [
                "Kiến nghị cử tri",
                2024,
                f"Sửa đường liên thôn số {index + 1} của xã Tân Hà",
                unit,
                raised,
                raised + datetime.timedelta(days=60),
            ]
        )
    return rows
