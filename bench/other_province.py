"""A province built another way than `province.py`, for `import_export.py --province
--loaded-from` (issue 17: "a province built by a script you have not seen").

Nothing of `province.py` or of the import path is used: plain `bulk_create` through the ORM,
no history, its own names and distributions. 3,621 units of 450 communes (some inactive;
20 names shared by two places), 1,500 agreements, and `--items` follow-up items (default
1,000,000) over 2020–2026, 30 % of them on 12 units, each content 150 characters beginning
with the same 100, one in five with a co-responsible unit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/other_province \\
        .venv/bin/python bench/other_province.py        # the database must exist, empty
    .venv/bin/python bench/import_export.py --province --db postgres --loaded-from other_province
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/import_export.py must not hide the django-import-export package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
ORGANISATIONS = [
    "Ủy ban nhân dân",
    "Hội đồng nhân dân",
    "Ủy ban MTTQ Việt Nam",
    "Hội Nông dân",
    "Hội Liên hiệp Phụ nữ",
    "Đoàn TNCS Hồ Chí Minh",
    "Hội Cựu chiến binh",
    "Liên đoàn Lao động",
]
PREFIX = (
    "Cử tri phản ánh và kiến nghị các cấp có thẩm quyền quan tâm xem xét, giải quyết dứt "
    "điểm tình trạng "
)
TOPICS = [
    "sạt lở bờ sông",
    "ô nhiễm môi trường do cơ sở chăn nuôi",
    "chậm chi trả tiền bồi thường giải phóng mặt bằng",
    "xuống cấp đường giao thông nông thôn",
    "thiếu giáo viên",
    "cấp giấy chứng nhận quyền sử dụng đất",
    "ngập úng mùa mưa",
]
BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from coordination.choices import (
        AgreementKind,
        FollowUpKind,
        FollowUpStatus,
        UnitKind,
        UnitLevel,
    )
    from coordination.models import Agreement, FollowUp, Unit

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    kinds = [UnitKind.PEOPLES_COMMITTEE, UnitKind.PEOPLES_COUNCIL, UnitKind.FATHERLAND_FRONT]
    kinds += [UnitKind.SOCIO_POLITICAL] * 5
    units = [
        Unit(
            full_name="Ủy ban nhân dân tỉnh Lâm Viên",
            kind=UnitKind.PEOPLES_COMMITTEE,
            level=UnitLevel.PROVINCE,
            locality="tỉnh Lâm Viên",
        )
    ]
    for commune in range(1, 451):
        place = f"phường Số {commune}" if commune % 3 else f"xã Đồi Thông {commune}"
        units += [
            Unit(
                full_name=f"{organisation} {place}",
                kind=kind,
                level=UnitLevel.COMMUNE,
                locality=f"{place}, tỉnh Lâm Viên",
                is_active=commune % 50 != 0,
            )
            for organisation, kind in zip(ORGANISATIONS, kinds, strict=True)
        ]
    for n in range(1, 21):
        # The name of another place's unit: a name two units share.
        units.append(
            Unit(
                full_name=f"Hội Nông dân phường Số {n if n % 3 else n + 1}",
                kind=UnitKind.SOCIO_POLITICAL,
                level=UnitLevel.COMMUNE,
                locality=f"khu phố {n}, tỉnh Lâm Viên",
            )
        )
    Unit.objects.bulk_create(units, batch_size=2000)
    units = list(Unit.objects.all())
    agreements = []
    for n in range(1500):
        year = rng.randint(2019, 2026)
        agreements.append(
            Agreement(
                number=f"{n + 1}/QC-PH-{year}",
                title=f"Chương trình phối hợp số {n + 1} năm {year}",
                kind=AgreementKind.PROGRAMME,
                start_year=year,
                end_year=min(year + 2, 2027),
            )
        )
    Agreement.objects.bulk_create(agreements, batch_size=2000)
    heavy = units[:12]
    statuses = [FollowUpStatus.OPEN] * 5 + [FollowUpStatus.IN_PROGRESS] * 3
    statuses += [FollowUpStatus.RESOLVED] * 2
    item_kinds = [value for value, _label in FollowUpKind.choices]
    through = FollowUp.co_responsible_units.through
    batch = []
    for n in range(args.items):
        year = rng.randint(2020, 2026)
        status = rng.choice(statuses)
        raised = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
        resolved = raised + datetime.timedelta(days=60)
        batch.append(
            FollowUp(
                kind=rng.choice(item_kinds),
                year=year,
                content=f"{PREFIX}{rng.choice(TOPICS)} tại khu vực {rng.randint(1, 400)} "
                f"(hồ sơ {n})",
                responsible_unit=rng.choice(heavy) if rng.random() < 0.3 else rng.choice(units),
                status=status,
                raised_on=raised,
                resolved_on=resolved if status == FollowUpStatus.RESOLVED else None,
                first_raised_year=year,
            )
        )
        if len(batch) == BATCH or n == args.items - 1:
            made = FollowUp.objects.bulk_create(batch)
            through.objects.bulk_create(
                through(followup_id=item.pk, unit_id=rng.choice(units).pk)
                for item in made
                if rng.random() < 0.2
            )
            batch = []
    print(
        f"{len(units):,} units, {len(agreements):,} agreements, "
        f"{FollowUp.objects.count():,} follow-up items in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
