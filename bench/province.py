"""A whole province on one server: builds one, then measures its pages (issue 16).

Run from the project root (see bench/README.md)::

    .venv/bin/python bench/province.py build [--scale 1.0] [--seed 2025] [--db postgres|sqlite]
    .venv/bin/python bench/province.py pages [--repeat 5] [--only "staff: admin"]
    .venv/bin/python bench/province.py all --quick      # build + pages at scale 0.01, then drop
    .venv/bin/python bench/province.py drop

`build` creates a scratch database (PostgreSQL `bench_province`, `bench_province_quick` with
`--quick`; or a SQLite file under var/bench/), migrates it and fills it from `--seed`: at scale
1.0 about 4,040 units (100 communes × 40 bodies, 40 provincial departments), one person per
unit, 5,000 agreements with their parties, 200,000 tasks with coordinating units, 1,000,000
follow-up items skewed towards a few big units and recent years (carried-over chains among
them) and about two history rows per record; plus an auditor and a big unit's staff member.
The same seed and scale give the same province.

`pages` measures, in this process with Django's test client (force_login), the pages the issue
names, as the auditor and as the unit's staff member: p50 and p95 over `--repeat` runs, the
response size and the number of SQL queries, against the issue's targets (p95 < 500 ms and
< 300 KB a page; autocomplete p95 < 100 ms). With `--gunicorn` it then serves the database
with gunicorn (config/gunicorn.conf.py), measures the same pages from outside, and runs
`--users` auditors at once (target: at least 15 requests/s, p95 < 1.5 s, no errors).
Progress goes to stderr, the tables to stdout; the exit status is 1 when a target is missed.
"""

import argparse
import datetime
import math
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/import_export.py would shadow the django-import-export package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

PROVINCE = "tỉnh Lâm Đồng"
YEARS = range(2016, 2027)
# Share of the follow-up items and tasks of each year: most in 2024–2026.
YEAR_WEIGHTS = {2016: 2, 2017: 2, 2018: 2, 2019: 3, 2020: 3, 2021: 4, 2022: 5, 2023: 6}
YEAR_WEIGHTS |= {2024: 18, 2025: 30, 2026: 25}
# "Today" for the generated dates, fixed so that a seed always gives the same province.
REFERENCE_DAY = datetime.date(2026, 12, 1)
BIG_UNITS = 8
BIG_UNITS_SHARE = 0.3  # of all tasks and follow-up items, shared by the big units
BATCH = 10_000
FULL = {
    "communes": 100,
    "departments": 40,
    "agreements": 5_000,
    "tasks": 200_000,
    "followups": 1_000_000,
    "meetings": 20_000,
    "indicators": 60_000,
}
MINIMUM = {"communes": 2, "departments": 5, "agreements": 12, "tasks": 50, "followups": 100}
MINIMUM |= {"meetings": 12, "indicators": 24}
#: The share of follow-up items raised at a review meeting (the meeting's conclusions).
MEETING_ITEMS = 0.1
INDICATOR_NAMES = [
    "Tỷ lệ hộ nghèo giảm",
    "Số mô hình dân vận khéo được nhân rộng",
    "Tỷ lệ đơn thư được giải quyết đúng hạn",
    "Số cuộc giám sát, phản biện xã hội",
    "Tỷ lệ kiến nghị cử tri được trả lời",
    "Số hộ được hỗ trợ xây nhà đại đoàn kết",
    "Tỷ lệ khu dân cư văn hóa",
    "Số đoàn viên, hội viên mới kết nạp",
]
PAGE_MS, PAGE_KB, AUTOCOMPLETE_MS = 500, 300, 100
CONCURRENT_RATE, CONCURRENT_P95_MS = 15, 1500
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
AUDITOR, STAFF = "bench_auditor", "bench_staff"

# The bodies of one commune: (full name, short name, kind). "{c}" is the commune's name.
COMMUNE_BODIES = [
    ("Ủy ban nhân dân xã {c}", "UBND xã {c}", "peoples_committee"),
    ("Thường trực Hội đồng nhân dân xã {c}", "TT HĐND xã {c}", "peoples_council"),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam xã {c}", "UBMTTQ xã {c}", "fatherland_front"),
    ("Hội Liên hiệp Phụ nữ xã {c}", "Hội LHPN xã {c}", "socio_political"),
    ("Đoàn Thanh niên Cộng sản Hồ Chí Minh xã {c}", "Đoàn TN xã {c}", "socio_political"),
    ("Hội Nông dân xã {c}", "Hội ND xã {c}", "socio_political"),
    ("Hội Cựu chiến binh xã {c}", "Hội CCB xã {c}", "socio_political"),
    ("Công đoàn xã {c}", "LĐLĐ xã {c}", "socio_political"),
    ("Đảng ủy xã {c}", "ĐU xã {c}", "party_body"),
    ("Ủy ban Kiểm tra Đảng ủy xã {c}", "UBKT ĐU xã {c}", "party_body"),
    ("Văn phòng Đảng ủy xã {c}", "VP ĐU xã {c}", "party_body"),
    ("Ban Xây dựng Đảng xã {c}", "Ban XDĐ xã {c}", "party_body"),
    ("Văn phòng HĐND và UBND xã {c}", "VP HĐND-UBND xã {c}", "other"),
    ("Phòng Kinh tế xã {c}", "Phòng KT xã {c}", "other"),
    ("Phòng Văn hóa – Xã hội xã {c}", "Phòng VHXH xã {c}", "other"),
    ("Trung tâm Phục vụ hành chính công xã {c}", "TTPVHCC xã {c}", "other"),
    ("Công an xã {c}", "CA xã {c}", "other"),
    ("Ban Chỉ huy Quân sự xã {c}", "BCHQS xã {c}", "other"),
    ("Trạm Y tế xã {c}", "TYT xã {c}", "other"),
    ("Trường Trung học cơ sở xã {c}", "THCS xã {c}", "other"),
    ("Trường Tiểu học xã {c}", "TH xã {c}", "other"),
    ("Trường Mầm non xã {c}", "MN xã {c}", "other"),
    ("Hội Chữ thập đỏ xã {c}", "Hội CTĐ xã {c}", "other"),
    ("Hội Người cao tuổi xã {c}", "Hội NCT xã {c}", "other"),
    ("Hội Khuyến học xã {c}", "Hội KH xã {c}", "other"),
    ("Hội Cựu thanh niên xung phong xã {c}", "Hội CTNXP xã {c}", "other"),
    ("Hội Nạn nhân chất độc da cam xã {c}", "Hội NNCĐDC xã {c}", "other"),
    ("Ban Thanh tra nhân dân xã {c}", "Ban TTND xã {c}", "other"),
    ("Ban Giám sát đầu tư cộng đồng xã {c}", "Ban GSĐTCĐ xã {c}", "other"),
    ("Hợp tác xã Nông nghiệp xã {c}", "HTX NN xã {c}", "other"),
    ("Quỹ Tín dụng nhân dân xã {c}", "QTDND xã {c}", "other"),
    ("Ban Quản lý chợ xã {c}", "BQL chợ xã {c}", "other"),
    ("Đội Dân phòng xã {c}", "Đội DP xã {c}", "other"),
    ("Tổ Công nghệ số cộng đồng xã {c}", "Tổ CNSCĐ xã {c}", "other"),
    ("Ban Dân vận Đảng ủy xã {c}", "Ban DV xã {c}", "party_body"),
    ("Trung tâm Văn hóa – Thể thao xã {c}", "TTVHTT xã {c}", "other"),
    ("Ban Chỉ đạo phòng chống thiên tai xã {c}", "BCĐ PCTT xã {c}", "other"),
    ("Ban Bảo vệ dân phố xã {c}", "Ban BVDP xã {c}", "other"),
    ("Chi hội Luật gia xã {c}", "CHLG xã {c}", "other"),
    ("Hội Sinh vật cảnh xã {c}", "Hội SVC xã {c}", "other"),
]
DEPARTMENTS = [
    "Ủy ban nhân dân tỉnh",
    "Văn phòng UBND tỉnh",
    "Sở Tài chính",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Xây dựng",
    "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Khoa học và Công nghệ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Dân tộc và Tôn giáo",
    "Sở Ngoại vụ",
    "Thanh tra tỉnh",
    "Công an tỉnh",
    "Bộ Chỉ huy Quân sự tỉnh",
    "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh",
    "Hội Liên hiệp Phụ nữ tỉnh",
    "Tỉnh đoàn",
    "Hội Nông dân tỉnh",
    "Hội Cựu chiến binh tỉnh",
    "Liên đoàn Lao động tỉnh",
    "Tỉnh ủy",
    "Ủy ban Kiểm tra Tỉnh ủy",
    "Ban Tổ chức Tỉnh ủy",
    "Ban Tuyên giáo và Dân vận Tỉnh ủy",
    "Văn phòng Tỉnh ủy",
    "Đảng ủy các cơ quan Đảng tỉnh",
    "Đảng ủy UBND tỉnh",
    "Văn phòng Đoàn ĐBQH và HĐND tỉnh",
    "Thường trực HĐND tỉnh",
    "Đài Phát thanh – Truyền hình tỉnh",
    "Báo Lâm Đồng",
    "Kho bạc Nhà nước khu vực",
    "Bảo hiểm xã hội tỉnh",
    "Ngân hàng Chính sách xã hội tỉnh",
    "Cục Thuế tỉnh",
    "Trường Chính trị tỉnh",
    "Ban Quản lý dự án đầu tư xây dựng tỉnh",
]


def words(text: str) -> list[str]:
    return text.split()


PLACE_WORDS = words(
    "Đức Lạc Tân Hòa Phú Bình An Minh Long Thạnh Xuân Đinh Gia Hiệp Lộc Tiến Quảng Ninh Đông "
    "Sơn Thuận Phước Lâm Hà Đạ Di Bảo Đam Nam Trọng Liêng Cát Tiên Rông Huoai Mai Ka Đơn"
)
FAMILY = words("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý K'")
MIDDLE = words("Văn Thị Minh Hữu Đức Thanh Ngọc Quang Xuân Thu Hoài Kim")
GIVEN = words("An Bình Châu Dũng Giang Hải Hạnh Hùng Hương Khoa Lan Long Mai Nam Nga Phúc Quân")
GIVEN += words("Sơn Tâm Thảo Thắng Trang Trung Tuấn Vân Việt Yến Hà Lộc Thành Hiền Bảo")
POSITIONS = ["Chủ tịch", "Phó Chủ tịch", "Bí thư", "Phó Bí thư", "Chánh Văn phòng", "Trưởng ban"]
POSITIONS += ["Giám đốc", "Phó Giám đốc", "Chuyên viên", "Trưởng phòng"]
SUBJECTS = [
    "Tuyên truyền, vận động nhân dân thực hiện chủ trương của Đảng, chính sách pháp luật",
    "Giám sát việc thực hiện chính sách hỗ trợ hộ nghèo, hộ cận nghèo",
    "Giải quyết kiến nghị của cử tri về đường giao thông nông thôn",
    "Phối hợp tổ chức hội nghị đối thoại giữa người đứng đầu cấp ủy và nhân dân",
    "Vận động xây dựng nhà Đại đoàn kết cho hộ khó khăn về nhà ở",
    "Kiểm tra việc cấp giấy chứng nhận quyền sử dụng đất",
    "Thực hiện phong trào Toàn dân đoàn kết xây dựng đời sống văn hóa",
    "Phòng, chống tác hại của thuốc lá và rượu bia trong thanh niên",
    "Bảo vệ môi trường, thu gom rác thải sinh hoạt tại khu dân cư",
    "Giải quyết đơn thư khiếu nại, tố cáo kéo dài",
    "Chuyển đổi số trong giải quyết thủ tục hành chính",
    "Phòng, chống thiên tai, sạt lở đất mùa mưa",
    "Hỗ trợ phụ nữ khởi nghiệp, phát triển kinh tế hộ gia đình",
    "Tập huấn kỹ thuật trồng cà phê, chè theo hướng hữu cơ",
    "Chăm sóc người có công với cách mạng và thân nhân",
    "Giám sát việc sử dụng kinh phí xây dựng nông thôn mới",
    "Nâng cao chất lượng hoạt động của Ban Thanh tra nhân dân",
    "Xây dựng mô hình khu dân cư an toàn về an ninh trật tự",
    "Khắc phục hạn chế trong công tác quản lý trật tự xây dựng",
    "Thực hiện quy chế dân chủ ở cơ sở",
]
CHUNK_WORDS = ["đợt", "kỳ họp", "phiên", "văn bản", "báo cáo"]

FOLLOWUP_KINDS = ["limitation", "conclusion", "voter_petition", "supervision_recommendation"]
FOLLOWUP_KINDS += ["complaint", "other"]
AGREEMENT_KINDS = ["regulation", "programme", "plan"]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sizes(scale: float) -> dict[str, int]:
    """How many of each kind of record a province of `scale` holds."""
    return {name: max(MINIMUM[name], round(full * scale)) for name, full in FULL.items()}


def year_counts(total: int) -> dict[int, int]:
    """`total` split over the years by YEAR_WEIGHTS (the rounding error goes to 2025)."""
    weight = sum(YEAR_WEIGHTS.values())
    counts = {year: total * YEAR_WEIGHTS[year] // weight for year in YEARS}
    counts[2025] += total - sum(counts.values())
    return counts


def random_day(rng: random.Random, year: int) -> datetime.date:
    last = min(datetime.date(year, 12, 31), REFERENCE_DAY)
    first = datetime.date(year, 1, 1)
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def later(day: datetime.date, rng: random.Random, low: int, high: int, cap=None):
    result = day + datetime.timedelta(days=rng.randint(low, high))
    return min(result, cap) if cap else result


class Province:
    """Generates a province's records into the default database, from a seed and a scale."""

    def __init__(self, *, scale: float, seed: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.sizes = sizes(scale)
        self.counts: dict[str, int] = {}
        self.editors: list[int] = []

    # Entry point

    def build(self) -> dict[str, int]:
        started = time.perf_counter()
        self.make_users()
        self.make_units()
        self.make_people()
        self.make_agreements()
        self.make_tasks()
        self.make_followups()
        self.counts |= make_extras(self.sizes, self.seed)
        self.counts["seconds"] = round(time.perf_counter() - started, 1)
        return self.counts

    # Reference data

    def make_users(self) -> None:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        editors = User.objects.bulk_create(
            User(username=f"canbo{n:02d}", password="!", first_name=f"Cán bộ {n}")
            for n in range(1, 21)
        )
        self.editors = [user.pk for user in editors]

    def make_units(self) -> None:
        from coordination.bulk import insert_records
        from coordination.models import Unit

        rng = self.rng
        names = sorted({f"{a} {b}" for a in PLACE_WORDS for b in PLACE_WORDS if a != b})
        communes = rng.sample(names, self.sizes["communes"])
        units = [
            Unit(
                full_name=_department_name(name),
                short_name="",
                kind=_department_kind(name),
                level="province",
                locality=PROVINCE,
            )
            for name in DEPARTMENTS[: self.sizes["departments"]]
        ]
        units += [
            Unit(
                full_name=full.format(c=commune),
                short_name=short.format(c=commune),
                kind=kind,
                level="commune",
                locality=f"xã {commune}, {PROVINCE}",
            )
            for commune in communes
            for full, short, kind in COMMUNE_BODIES
        ]
        for unit in units:
            unit.prepare_for_save()
        insert_records(Unit, units)
        self.units = [unit.pk for unit in units]
        # The big units: the first departments (UBND tỉnh, its office, Tài chính, Nội vụ)
        # and the People's Committees of the first communes.
        departments = self.sizes["departments"]
        communes = min(BIG_UNITS - 4, self.sizes["communes"])
        big = self.units[:4] + [
            self.units[departments + n * len(COMMUNE_BODIES)] for n in range(communes)
        ]
        self.big_units = big
        chosen = set(big)
        rest = [pk for pk in self.units if pk not in chosen]
        big_weight = BIG_UNITS_SHARE / (1 - BIG_UNITS_SHARE) * len(rest) / len(big)
        self.weighted_units = big + rest
        weights = [big_weight] * len(big) + [1.0] * len(rest)
        self.cum_weights = list(_accumulate(weights))
        self.counts["units"] = len(units)

    def pick_units(self, k: int) -> list[int]:
        return self.rng.choices(self.weighted_units, cum_weights=self.cum_weights, k=k)

    def make_people(self) -> None:
        from coordination.bulk import insert_records
        from coordination.models import Person

        rng = self.rng
        people = []
        for unit in self.units:
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            people.append(Person(full_name=name, position=rng.choice(POSITIONS), unit_id=unit))
        for person in people:
            person.prepare_for_save()
        insert_records(Person, people)
        self.person_of = {person.unit_id: person.pk for person in people}
        self.counts["people"] = len(people)

    def make_agreements(self) -> None:
        from coordination.bulk import insert_records
        from coordination.models import Agreement, AgreementParty

        rng = self.rng
        years = list(YEAR_WEIGHTS)
        weights = list(YEAR_WEIGHTS.values())
        agreements = []
        for n in range(self.sizes["agreements"]):
            if n < len(YEARS):
                start, end = years[n], years[-1]  # every year is covered by some agreement
            else:
                start = rng.choices(years, weights)[0]
                end = min(start + rng.choice([0, 0, 1, 2, 4]), 2030)
            agreements.append(
                Agreement(
                    number=f"{n + 1:04d}/QCPH-{start}",
                    title=f"Quy chế phối hợp số {n + 1} giai đoạn {start}–{end}",
                    kind=rng.choice(AGREEMENT_KINDS),
                    signed_on=datetime.date(start, rng.randint(1, 12), rng.randint(1, 28)),
                    start_year=start,
                    end_year=end,
                    status="in_force" if end >= REFERENCE_DAY.year else "expired",
                )
            )
        for agreement in agreements:
            agreement.prepare_for_save()
        insert_records(Agreement, agreements)
        parties = []
        for agreement in agreements:
            units = set(self.pick_units(rng.randint(2, 4)))
            for index, unit in enumerate(sorted(units)):
                role = "lead" if index == 0 else "party"
                parties.append(AgreementParty(agreement_id=agreement.pk, unit_id=unit, role=role))
        insert_records(AgreementParty, parties)
        self.agreements_of_year = {
            year: [a.pk for a in agreements if a.start_year <= year <= a.end_year] for year in YEARS
        }
        pks = [agreement.pk for agreement in agreements]
        self.write_history(Agreement, pks, start=datetime.date(2016, 1, 1))
        self.counts["agreements"] = len(agreements)
        self.counts["agreement parties"] = len(parties)

    # Tasks and follow-up items, year by year (carried-over work goes on the next year)

    def make_tasks(self) -> None:
        from coordination.models import Task

        self.tasks_of_year: dict[int, list[int]] = {}
        carried: list = []
        counts = year_counts(self.sizes["tasks"])
        links = 0
        for year in YEARS:
            tasks = []
            for previous in carried:
                tasks.append(self.task(year, previous.lead_unit_id, carried_over_from=previous))
            for unit in self.pick_units(max(0, counts[year] - len(carried))):
                tasks.append(self.task(year, unit))
            carried = [task for task in tasks if task.status == "carried_over"]
            for start in range(0, len(tasks), BATCH):
                links += self.insert_tasks(tasks[start : start + BATCH], year)
            self.tasks_of_year[year] = [task.pk for task in tasks]
            progress(f"  tasks {year}: {len(tasks):,}")
        self.counts["tasks"] = Task.objects.count()
        self.counts["task coordinating units"] = links

    def task(self, year: int, unit: int, carried_over_from=None):
        from coordination.models import Task

        rng = self.rng
        start = random_day(rng, year)
        due = later(start, rng, 15, 200)
        status = self.status(year, TASK_STATUSES)
        done = status == "done"
        subject = rng.choice(SUBJECTS)
        task = Task(
            agreement_id=rng.choice(self.agreements_of_year[year]),
            year=year,
            content=f"{subject} ({rng.choice(CHUNK_WORDS)} {rng.randint(1, 9999)}/{year})",
            lead_unit_id=unit,
            assignee_id=self.person_of.get(unit) if rng.random() < 0.7 else None,
            start_date=start,
            due_date=due,
            status=status,
            progress=100 if done else (rng.randint(10, 90) if status == "in_progress" else 0),
            completed_on=later(start, rng, 5, 260, REFERENCE_DAY) if done else None,
            result="Đã hoàn thành theo kế hoạch" if done else "",
            carried_over_from=carried_over_from,
        )
        task.prepare_for_save()
        return task

    def insert_tasks(self, tasks: list, year: int) -> int:
        from django.db import transaction

        from coordination.bulk import insert_records
        from coordination.models import Task

        rng = self.rng
        through = Task.coordinating_units.through
        with transaction.atomic():
            insert_records(Task, tasks)
            links = []
            for task in tasks:
                others = set(self.pick_units(rng.choice([0, 1, 1, 2, 3]))) - {task.lead_unit_id}
                links += [through(task_id=task.pk, unit_id=unit) for unit in sorted(others)]
            insert_links(through, links)
            self.write_history(
                Task,
                [task.pk for task in tasks],
                start=datetime.date(year, 1, 1),
                linked=sorted({link.task_id for link in links}),
            )
        return len(links)

    def make_followups(self) -> None:
        from coordination.models import FollowUp

        carried: list = []
        counts = year_counts(self.sizes["followups"])
        links = 0
        for year in YEARS:
            fresh = max(0, counts[year] - len(carried))
            units = [item.responsible_unit_id for item in carried] + self.pick_units(fresh)
            sources = carried + [None] * fresh
            next_carried = []
            for start in range(0, len(units), BATCH):
                items = [
                    self.followup(year, unit, source)
                    for unit, source in zip(
                        units[start : start + BATCH], sources[start : start + BATCH], strict=True
                    )
                ]
                links += self.insert_followups(items, year)
                next_carried += [item for item in items if item.status == "carried_over"]
            carried = next_carried
            progress(f"  follow-up items {year}: {len(units):,}")
        self.counts["follow-up items"] = FollowUp.objects.count()
        self.counts["follow-up co-responsible units"] = links

    def followup(self, year: int, unit: int, carried_over_from=None):
        from coordination.models import FollowUp

        rng = self.rng
        raised = random_day(rng, year)
        status = self.status(year, FOLLOWUP_STATUSES)
        resolved = status == "resolved" or (status == "closed" and rng.random() < 0.5)
        if carried_over_from is not None:
            content = carried_over_from.content
        else:
            subject = rng.choice(SUBJECTS)
            content = f"{subject} ({rng.choice(CHUNK_WORDS)} {rng.randint(1, 99999)}/{year})"
        tasks = self.tasks_of_year[year]
        item = FollowUp(
            kind=carried_over_from.kind if carried_over_from else rng.choice(FOLLOWUP_KINDS),
            year=year,
            content=content,
            responsible_unit_id=unit,
            raised_on=raised,
            source_reference=f"Thông báo số {rng.randint(1, 500)}/TB-{year}",
            due_date=later(raised, rng, 20, 240),
            status=status,
            resolution="Đã giải quyết dứt điểm" if status == "resolved" else "",
            resolved_on=later(raised, rng, 3, 300, REFERENCE_DAY) if resolved else None,
            task_id=rng.choice(tasks) if rng.random() < 0.05 else None,
            carried_over_from=carried_over_from,
        )
        item.prepare_for_save()
        return item

    def insert_followups(self, items: list, year: int) -> int:
        from django.db import transaction

        from coordination.bulk import insert_records
        from coordination.models import FollowUp

        rng = self.rng
        through = FollowUp.co_responsible_units.through
        with transaction.atomic():
            insert_records(FollowUp, items)
            links = []
            for item in items:
                if rng.random() < 0.08:
                    (unit,) = self.pick_units(1)
                    if unit != item.responsible_unit_id:
                        links.append(through(followup_id=item.pk, unit_id=unit))
            insert_links(through, links)
            pks = [item.pk for item in items]
            self.write_history(
                FollowUp,
                pks,
                start=datetime.date(year, 1, 1),
                linked=sorted({link.followup_id for link in links}),
            )
        return len(links)

    def status(self, year: int, table: dict) -> str:
        """A status drawn from `table` ({status: (weight in past years, 2025, 2026)})."""
        column = 0 if year < 2025 else (1 if year == 2025 else 2)
        return self.rng.choices(list(table), cum_weights=_cumulated(table, column))[0]

    # History

    def write_history(self, model, pks: list[int], *, start: datetime.date, linked=None) -> None:
        """Two history entries per record, as `coordination.history.record_history()` writes
        them (its columns, its many-to-many copies) but dated in the record's year and by
        one of the editors: created early in the year, changed a few months later.

        `linked`: the records that have many-to-many links (None: all), the only ones whose
        links are copied; looking for the links of the others took a third of the build."""
        created = datetime.datetime.combine(start, datetime.time(8), datetime.UTC)
        last = datetime.datetime.combine(REFERENCE_DAY, datetime.time(17), datetime.UTC)
        changed = min(created + datetime.timedelta(days=self.rng.randint(30, 200)), last)
        linked = pks if linked is None else linked
        self.history_rows(model, pks, linked, "+", created)
        self.history_rows(model, pks, linked, "~", changed)
        key = f"history rows: {model._meta.model_name}"
        self.counts[key] = self.counts.get(key, 0) + 2 * len(pks)

    def history_rows(self, model, pks, linked, history_type: str, when) -> None:
        from django.db import connection
        from simple_history.models import HistoricalRecords

        from coordination.history import copy_links, m2m_fields, pk_in

        history_model = model.history.model
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in history_model.tracked_fields)
        date = connection.ops.adapt_datetimefield_value(when)
        in_batch, params = pk_in(pks)
        sql = (
            f"INSERT INTO {quote(history_model._meta.db_table)} ({columns}, history_date, "
            f"history_change_reason, history_type, history_user_id) "
            f"SELECT {columns}, %s, '', %s, %s FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} {in_batch}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [date, history_type, self.rng.choice(self.editors), *params])
        in_linked, linked_params = pk_in(linked)
        for m2m_field in m2m_fields(model) if linked else ():
            copy_links(
                history_model,
                HistoricalRecords.m2m_models[m2m_field],
                m2m_field,
                f"h.history_date = %s AND h.history_type = %s AND h.id {in_linked}",
                [date, history_type, *linked_params],
            )


# {status: (weight in years before 2025, in 2025, in 2026)}: old work is mostly settled, the
# current year's mostly open; what is still open from past years is overdue.
TASK_STATUSES = {
    "done": (78, 55, 25),
    "carried_over": (6, 10, 0),
    "cancelled": (4, 3, 2),
    "in_progress": (6, 17, 43),
    "not_started": (6, 15, 30),
}
FOLLOWUP_STATUSES = {
    "resolved": (76, 55, 28),
    "carried_over": (6, 10, 0),
    "closed": (8, 5, 2),
    "in_progress": (4, 15, 30),
    "open": (6, 15, 40),
}


def make_extras(sizes_of: dict[str, int], seed: int) -> dict[str, int]:
    """Signatories, review meetings (with the follow-up items raised at them) and indicators,
    drawn from their own random sequence and from what the database holds, so that `extend`
    adds them to a province built before they existed and `build` makes the same."""
    from django.db import connection, transaction

    from coordination.bulk import insert_records
    from coordination.models import (
        Agreement,
        AgreementParty,
        FollowUp,
        Indicator,
        Meeting,
        Person,
        Signatory,
    )

    rng = random.Random(f"{seed}-extras")
    counts: dict[str, int] = {}
    person_of = dict(Person.objects.values_list("unit_id", "pk"))
    parties: dict[int, list[int]] = {}
    for agreement, unit in AgreementParty.objects.order_by("agreement", "unit").values_list(
        "agreement", "unit"
    ):
        parties.setdefault(agreement, []).append(unit)
    agreements = list(
        Agreement.objects.order_by("pk").values_list("pk", "start_year", "end_year", "signed_on")
    )
    with transaction.atomic():
        signatories = [
            Signatory(
                agreement_id=agreement,
                person_id=person_of[unit],
                unit_id=unit,
                position=rng.choice(POSITIONS),
                signed_on=signed_on,
            )
            for agreement, _start, _end, signed_on in agreements
            for unit in parties.get(agreement, [])
            if unit in person_of
        ]
        persons = Person.objects.in_bulk(person_of.values())
        for signatory in signatories:
            signatory.person = persons[signatory.person_id]
            signatory.prepare_for_save()
        insert_records(Signatory, signatories)
        counts["signatories"] = len(signatories)

        in_force = {
            year: [a for a in agreements if a[1] <= year <= a[2] and a[0] in parties]
            for year in YEARS
        }
        meetings_of_year: dict[int, list[int]] = {}
        links = {"agreements": [], "co_chairs": [], "attending_units": []}
        for year, count in year_counts(sizes_of["meetings"]).items():
            chosen = [rng.choice(in_force[year]) for _ in range(count)]
            meetings = []
            for agreement, _start, _end, _signed in chosen:
                kind = rng.choice(["interim", "final", "assessment", "assessment"])
                meetings.append(
                    Meeting(
                        title=f"Hội nghị {dict(REVIEW_TITLES)[kind]} năm {year} "
                        f"(quy chế {agreement})",
                        kind=kind,
                        held_on=random_day(rng, year),
                        venue="Hội trường Ủy ban nhân dân",
                        period_from_year=year,
                        period_to_year=year,
                        summary="Đánh giá kết quả thực hiện quy chế phối hợp trong năm.",
                        conclusions="Các đơn vị khắc phục hạn chế, tồn tại đã nêu.",
                    )
                )
            for meeting in meetings:
                meeting.prepare_for_save()
            insert_records(Meeting, meetings)
            meetings_of_year[year] = [meeting.pk for meeting in meetings]
            for meeting, (agreement, *_rest) in zip(meetings, chosen, strict=True):
                units = parties[agreement]
                links["agreements"].append((meeting.pk, agreement))
                links["attending_units"] += [(meeting.pk, unit) for unit in units]
                links["co_chairs"] += [
                    (meeting.pk, person_of[unit]) for unit in units[:2] if unit in person_of
                ]
        for field, pairs in links.items():
            through = getattr(Meeting, field).through
            own, other = (f.attname for f in through._meta.fields if f.is_relation)
            insert_links(through, [through(**{own: a, other: b}) for a, b in pairs])
        counts["meetings"] = sum(len(pks) for pks in meetings_of_year.values())

        # One item in ten was raised at a review meeting of its year: consecutive meeting
        # numbers, so one UPDATE a year picks them by the item's number.
        table = connection.ops.quote_name(FollowUp._meta.db_table)
        linked = 0
        every = round(1 / MEETING_ITEMS)
        with connection.cursor() as cursor:
            for year, pks in meetings_of_year.items():
                if not pks:
                    continue
                cursor.execute(
                    f"UPDATE {table} SET meeting_id = %s + (id %% %s) "
                    f"WHERE year = %s AND id %% %s = 0",
                    [pks[0], len(pks), year, every],
                )
                linked += cursor.rowcount
        counts["follow-up items raised at meetings"] = linked

        indicators, seen = [], set()
        for year, count in year_counts(sizes_of["indicators"]).items():
            for _ in range(count):
                agreement, *_rest = rng.choice(in_force[year])
                unit = rng.choice(parties[agreement])
                name = rng.choice(INDICATOR_NAMES)
                if (agreement, year, unit, name) in seen:
                    continue
                seen.add((agreement, year, unit, name))
                target = rng.choice([5, 10, 20, 50, 80, 95, 100])
                indicators.append(
                    Indicator(
                        agreement_id=agreement,
                        year=year,
                        unit_id=unit,
                        name=name,
                        measure="%" if name.startswith("Tỷ lệ") else "",
                        target=target,
                        actual=(
                            None
                            if year == REFERENCE_DAY.year and rng.random() < 0.6
                            else round(target * rng.uniform(0.6, 1.2), 2)
                        ),
                    )
                )
        for indicator in indicators:
            indicator.prepare_for_save()
        insert_records(Indicator, indicators)
        counts["indicators"] = len(indicators)
    return counts


REVIEW_TITLES = [
    ("interim", "sơ kết"),
    ("final", "tổng kết"),
    ("assessment", "đánh giá kết quả"),
]


def insert_links(through, links: list) -> None:
    """Rows of a many-to-many table: COPY on PostgreSQL as for records, else bulk_create()
    (`insert_records()` passes an option only the records' own querysets know)."""
    from django.db import connection

    from coordination.bulk import insert_records

    if connection.vendor == "postgresql":
        insert_records(through, links)
    else:
        through.objects.bulk_create(links, batch_size=2000)


def _department_name(name: str) -> str:
    if "Lâm Đồng" in name or name.startswith("Kho bạc"):
        return name
    if name.endswith(("tỉnh", "Tỉnh ủy")):
        return f"{name} Lâm Đồng"
    return f"{name} tỉnh Lâm Đồng"


def _department_kind(name: str) -> str:
    if name.startswith("Ủy ban nhân dân"):
        return "peoples_committee"
    if name.startswith("Ủy ban Mặt trận"):
        return "fatherland_front"
    if "Tỉnh ủy" in name or name.startswith("Đảng ủy"):
        return "party_body"
    return "other"


def _cumulated(table: dict, column: int) -> list[float]:
    return list(_accumulate(weights[column] for weights in table.values()))


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total


def make_accounts(province: Province) -> dict:
    """The auditor and the staff member of the biggest unit, as the demo's roles."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from coordination.models import UnitMember

    User = get_user_model()
    auditor = User.objects.create_user(AUDITOR, password=None, is_staff=True)
    auditor.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
    staff = User.objects.create_user(STAFF, password=None, is_staff=True)
    staff.groups.add(Group.objects.get(name="Cán bộ đơn vị"))
    UnitMember.objects.create(user=staff, unit_id=province.big_units[0])
    return {"auditor": auditor, "staff": staff}


# Databases


def database_url(args) -> str:
    if args.db == "sqlite":
        path = ROOT / "var" / "bench" / f"{args.name}.sqlite3"
        return f"sqlite:///{path}"
    return f"{args.pg_admin_url.rsplit('/', 1)[0]}/{args.name}"


def create_database(args) -> None:
    if args.db == "sqlite":
        path = ROOT / "var" / "bench" / f"{args.name}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.name}" WITH (FORCE)')
        admin.execute(f"CREATE DATABASE \"{args.name}\" TEMPLATE template0 ENCODING 'UTF8'")


def drop_database(args) -> None:
    if args.db == "sqlite":
        (ROOT / "var" / "bench" / f"{args.name}.sqlite3").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.name}" WITH (FORCE)')


def setup_django(args) -> None:
    os.environ["DATABASE_URL"] = database_url(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(args) -> None:
    from django.core.management import call_command
    from django.db import connection

    create_database(args)
    setup_django(args)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    progress(f"migrated in {time.perf_counter() - started:.1f} s; generating (scale {args.scale})")
    province = Province(scale=args.scale, seed=args.seed)
    counts = province.build()
    make_accounts(province)
    if connection.vendor == "postgresql":
        # As autovacuum leaves tables loaded long ago: statistics and visibility maps.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    total = time.perf_counter() - started
    print(
        f"\nProvince built (scale {args.scale}, seed {args.seed}, {connection.vendor}) in "
        f"{total:.0f} s, generation {counts.pop('seconds')} s:\n"
    )
    print("| Records | Count |")
    print("|---|---|")
    for name, count in counts.items():
        print(f"| {name} | {count:,} |")
    print()


def extend(args) -> None:
    """Adds what `build` now makes after the follow-up items (signatories, meetings,
    indicators) to a province built before it did, as `build` would have."""
    from django.db import connection

    from coordination.models import Meeting

    if Meeting.objects.exists():
        raise SystemExit("This province already has its meetings.")
    started = time.perf_counter()
    counts = make_extras(sizes(args.scale), args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"\nProvince extended in {time.perf_counter() - started:.0f} s:\n")
    print("| Records | Count |")
    print("|---|---|")
    for name, count in counts.items():
        print(f"| {name} | {count:,} |")
    print()


# Pages


def refresh_counts() -> None:
    """What the jobs' worker does every 30 seconds (and `manage.py count_outstanding`): the
    outstanding table's stored counts brought up to date — after a build, or on a new day,
    every unit counted again."""
    from coordination.reports import tallies

    started = time.perf_counter()
    tallies.refresh_all()
    progress(
        f"outstanding table's stored counts up to date in {time.perf_counter() - started:.1f} s "
        "(the jobs' worker's housekeeping)"
    )


def measure_pages(*, repeat: int, only: list[str] | None = None) -> list[dict]:
    """Each page as each user, `repeat` times: timings (ms), size (KB), queries, status.

    With `only`, just the pages whose "user: page" holds one of its strings (ignoring case).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client, override_settings

    from coordination.models import FollowUp, Task, UnitMember

    User = get_user_model()
    staff = User.objects.get(username=STAFF)
    big = UnitMember.objects.get(user=staff).unit_id
    item = FollowUp.objects.filter(responsible_unit=big).order_by("-year", "pk").first()

    def largest(records, field):
        """The `field` (a meeting, an agreement) of the most `records`."""
        return (
            records.values(field)
            .annotate(n=Count("pk"))
            .order_by("-n", field)
            .values_list(field, flat=True)
            .first()
        )

    # Each user's largest meeting (by the items it raised) and agreement (by its tasks): the
    # staff member's among their unit's.
    raised = FollowUp.objects.filter(meeting__isnull=False)
    largest_of = {
        AUDITOR: {
            "meeting": largest(raised, "meeting"),
            "agreement": largest(Task.objects.all(), "agreement"),
        },
        STAFF: {
            "meeting": largest(raised.filter(meeting__attending_units=big), "meeting"),
            "agreement": largest(Task.objects.filter(agreement__parties=big), "agreement"),
        },
    }
    autocomplete = "/admin/autocomplete/?app_label=coordination&model_name=task&field_name="
    pages = [
        ("/records/followups/ page 1", "/records/followups/"),
        ("/records/followups/ last page", "/records/followups/?page=999999"),
        ("/records/tasks/ page 1", "/records/tasks/"),
        ("/records/tasks/ last page", "/records/tasks/?page=999999"),
        (
            "/records/followups/ year + big unit + outstanding",
            f"/records/followups/?year=2025&unit={big}&outstanding=yes",
        ),
        ("/records/outstanding/?year=2026", "/records/outstanding/?year=2026"),
        ("/records/outstanding/ (default)", "/records/outstanding/"),
        (
            "/records/outstanding/ every year, last page",
            "/records/outstanding/?year=&page=999999",
        ),
        ("admin follow-up list page 1", "/admin/coordination/followup/"),
        ("admin follow-up list last page", "/admin/coordination/followup/?p={last}"),
        ("admin task list page 1", "/admin/coordination/task/"),
        ("admin task list last page", "/admin/coordination/task/?p={last}"),
        ("autocomplete units “ub”", f"{autocomplete}lead_unit&term=ub"),
        ("autocomplete people “ng”", f"{autocomplete}assignee&term=ng"),
        ("follow-up item page", f"/records/followups/{item.pk}/"),
        ("yearly report of the big unit", f"/records/report/?year=2025&unit={big}"),
        # Unit staff land here after logging in (the auditor sees every unit's work on it).
        ("landing page /records/my-work/", "/records/my-work/"),
    ]
    if largest_of[AUDITOR]["meeting"]:
        # Kinds a province of another shape may hold in numbers: meetings, signatories,
        # indicators, agreements (`make_extras`).
        pages += [
            ("/records/meetings/ page 1", "/records/meetings/"),
            ("/records/meetings/ last page", "/records/meetings/?page=999999"),
            ("/records/indicators/ last page", "/records/indicators/?page=999999"),
            ("/records/signatories/ last page", "/records/signatories/?page=999999"),
            ("/records/agreements/ last page", "/records/agreements/?page=999999"),
            ("meeting page (most items)", "/records/meetings/{meeting}/"),
            ("agreement page (most tasks)", "/records/agreements/{agreement}/"),
            ("admin meeting list last page", "/admin/coordination/meeting/?p={last}"),
            ("admin indicator list last page", "/admin/coordination/indicator/?p={last}"),
            ("admin meeting change page", "/admin/coordination/meeting/{meeting}/change/"),
            ("admin agreement change page", "/admin/coordination/agreement/{agreement}/change/"),
            (
                "yearly report of the biggest agreement",
                "/records/report/?year=2025&agreement={agreement}",
            ),
        ]
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    results = []
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        for role, username in (("auditor", AUDITOR), ("unit staff", STAFF)):
            client = Client()
            client.force_login(User.objects.get(username=username))
            client.get("/records/")  # templates compiled, session read: not measured
            for label, url in pages:
                name = f"{role}: {label}".casefold()
                if only and not any(part.casefold() in name for part in only):
                    continue
                url = url.replace("{meeting}", str(largest_of[username]["meeting"]))
                url = url.replace("{agreement}", str(largest_of[username]["agreement"]))
                if "{last}" in url:
                    # The admin's own paginator links name its last page (?p=N, from 0).
                    first = client.get(url.split("?")[0]).content.decode()
                    last = max(map(int, re.findall(r"\?p=(\d+)", first)), default=0)
                    url = url.format(last=last)
                timings = []
                for _run in range(repeat):
                    queries.clear()
                    with connection.execute_wrapper(count):
                        started = time.perf_counter()
                        response = client.get(url)
                        content = b"".join(response) if response.streaming else response.content
                        timings.append((time.perf_counter() - started) * 1000)
                result = {
                    "role": role,
                    "page": label,
                    "url": url,
                    "timings": timings,
                    "kb": len(content) / 1024,
                    "queries": len(queries),
                    "status": response.status_code,
                }
                results.append(result)
                progress(
                    f"  {role}: {label}: p50 {statistics.median(timings):,.0f} ms, "
                    f"{result['kb']:,.0f} KB, {len(queries)} queries, status {response.status_code}"
                )
    return results


def login_cookie(user) -> str:
    """A session of `user` in the database, as a login would leave it: the cookie's value."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    # The first backend that loads users (django-axes' comes first and only counts failures).
    session[BACKEND_SESSION_KEY] = next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(import_string(path), "get_user")
    )
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def fetch(port: int, url: str, cookie: str) -> tuple[float, int, int]:
    """GET `url` from gunicorn: (milliseconds, bytes, status); status 0 when it failed."""
    import http.client

    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", url, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = connection.getresponse()
        body = response.read()
        status = response.status
    except OSError:
        body, status = b"", 0
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, len(body), status


def start_gunicorn(args):
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env={
            **os.environ,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_ACCESS_LOG": "/dev/null",
            "DJANGO_LOG_LEVEL": "ERROR",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def measure_gunicorn(args, results: list[dict]) -> int:
    """The same pages from outside through gunicorn, one user at a time, then `--users`
    auditors at once for `--duration` seconds; prints both tables, returns the misses."""
    import threading

    from django.contrib.auth import get_user_model

    User = get_user_model()
    cookies = {
        "auditor": login_cookie(User.objects.get(username=AUDITOR)),
        "unit staff": login_cookie(User.objects.get(username=STAFF)),
    }
    server, port = start_gunicorn(args)
    try:
        single = []
        for result in results:
            cookie = cookies[result["role"]]
            fetch(port, result["url"], cookie)  # each worker's first use is not measured
            runs = [fetch(port, result["url"], cookie) for _run in range(args.repeat)]
            single.append(
                {
                    **result,
                    "timings": [ms for ms, _size, _status in runs],
                    "kb": runs[-1][1] / 1024,
                    "status": max(status for _ms, _size, status in runs),
                    "queries": "—",
                }
            )
            progress(f"  gunicorn, {result['role']}: {result['page']}: done")
        print(f"\nThe same pages through gunicorn ({args.workers} sync workers), one at a time:")
        missed = print_pages(args, single)
        urls = [result["url"] for result in results if result["role"] == "auditor"]
        sessions = [login_cookie(User.objects.get(username=AUDITOR)) for _n in range(args.users)]
        timings, errors, lock = [], [], threading.Lock()
        deadline = time.monotonic() + args.duration

        def auditor(number: int) -> None:
            rng = random.Random(number)
            while time.monotonic() < deadline:
                ms, _size, status = fetch(port, rng.choice(urls), sessions[number])
                with lock:
                    (timings if status == 200 else errors).append(ms)

        progress(f"  {args.users} auditors for {args.duration} s …")
        started = time.monotonic()
        threads = [threading.Thread(target=auditor, args=(n,)) for n in range(args.users)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    rate = len(timings) / elapsed
    p50, p95 = percentile(timings or [0], 0.5), percentile(timings or [0], 0.95)
    ok = rate >= CONCURRENT_RATE and p95 < CONCURRENT_P95_MS and not errors
    print(
        f"\n{args.users} auditors at once, {args.duration} s (each asks one of the auditor's "
        f"pages above at random, again as soon as the answer arrives):\n"
    )
    print("| Requests | Errors | Req/s | p50 | p95 | Target | Result |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(timings):,} | {len(errors)} | {rate:.1f} | {p50:,.0f} ms | {p95:,.0f} ms "
        f"| ≥ {CONCURRENT_RATE} req/s, p95 < {CONCURRENT_P95_MS:,} ms, no errors "
        f"| {'PASS' if ok else 'FAIL'} |"
    )
    return missed + (0 if ok else 1)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: with 5 runs, p95 is the slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def print_pages(args, results: list[dict]) -> int:
    """The table of `results` against the targets; returns the number of misses."""
    from django.db import connection

    print(
        f"\nProvince pages ({connection.vendor}, database {args.name}), "
        f"{args.repeat} run(s) each, {datetime.date.today()}, {os.cpu_count()} CPUs\n"
    )
    print("| User | Page | p50 | p95 | Size | Queries | Status | Target | Result |")
    print("|---|---|---|---|---|---|---|---|---|")
    missed = 0
    for result in results:
        timings, size = result["timings"], result["kb"]
        p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
        if result["page"].startswith("autocomplete"):
            target = f"p95 < {AUTOCOMPLETE_MS} ms"
            ok = p95 < AUTOCOMPLETE_MS
        else:
            target = f"p95 < {PAGE_MS} ms, < {PAGE_KB} KB"
            ok = p95 < PAGE_MS and size < PAGE_KB
        ok = ok and result["status"] == 200
        missed += 0 if ok else 1
        print(
            f"| {result['role']} | {result['page']} | {p50:,.0f} ms | {p95:,.0f} ms "
            f"| {size:,.0f} KB | {result['queries']} | {result['status']} | {target} "
            f"| {'PASS' if ok else 'FAIL'} |"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["build", "extend", "pages", "all", "drop"])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the full province")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each page")
    parser.add_argument(
        "--quick", action="store_true", help="scale 0.01 in database bench_province_quick"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help='only the pages whose "user: page" holds TEXT (repeatable), e.g. "staff: admin"',
    )
    parser.add_argument("--name", help="the scratch database (default bench_province[_quick])")
    parser.add_argument(
        "--gunicorn",
        action="store_true",
        help="also measure from outside through gunicorn, then --users auditors at once",
    )
    parser.add_argument("--workers", type=int, default=5, help="gunicorn's workers")
    parser.add_argument("--users", type=int, default=20, help="concurrent auditors")
    parser.add_argument("--duration", type=int, default=60, help="seconds of the concurrent run")
    parser.add_argument(
        "--keep", action="store_true", help="with `all`: keep the database at the end"
    )
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", PG_ADMIN_URL)
    )
    args = parser.parse_args()
    if args.quick:
        args.scale = 0.01
    args.name = args.name or ("bench_province_quick" if args.quick else "bench_province")
    if not args.name.startswith("bench_province"):
        parser.error("the database's name must start with bench_province")
    if args.step == "drop":
        drop_database(args)
        return 0
    try:
        if args.step in ("build", "all"):
            build(args)
        else:
            setup_django(args)
        if args.step == "extend":
            extend(args)
        missed = 0
        if args.step in ("pages", "all"):
            refresh_counts()
            results = measure_pages(repeat=args.repeat, only=args.only)
            missed = print_pages(args, results)
            if args.gunicorn:
                missed += measure_gunicorn(args, results)
    finally:
        if args.step == "all" and not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
