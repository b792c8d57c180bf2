"""`manage.py load_demo`: the demo data of the README, from the workbooks of fixtures/demo/.

The records are the spreadsheets `fixtures/demo/NN-KIND.xlsx`, imported in the order of their
numbers by `import_records()`, as `manage.py import_records KIND FILE --user admin` does, so
every `make demo` runs the importer. What a spreadsheet cannot hold is made here: the demo
users with the README's passwords, their roles and unit, and the links from each follow-up
item carried over to the next year's item that continues it (a workbook names a record by its
number, and the numbers are only known once the rows exist), and the reorganisation of local
government on 1 July 2025 (the districts abolished, Kon Tum merged into Quảng Ngãi).

The workbooks hold the records as they were made: the units of before the reorganisation are
active in them, with their records. Once imported, each is dissolved into its successor by
`services.unit_merge`, the merger an administrator runs, so that the tasks still outstanding
on that day pass to the units that exist now, in the history as the admin's doing. Follow-up
items are found by their responsible unit, so the workbook writes an item still outstanding
under the unit that answers for it today (as the merger left it); one finished before the
reorganisation stays under the unit of its time, as does every finished task.

All or nothing: a refused row stops the load and nothing is written. Run again, it imports
the same workbooks: records are matched by their natural key and set back to the demo's
values (the dissolved units active again, the tasks handed over back with them), records
added since are kept, the reorganisation is applied again, and the demo passwords and roles
are reset.
"""

import datetime
import importlib
import io

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds
from coordination.choices import FollowUpStatus, UnitKind
from coordination.importing import import_records
from coordination.models import FollowUp, Unit, UnitMember
from coordination.services import unit_merge
from coordination.spreadsheets import write_csv

DEMO_DIR = settings.BASE_DIR / "fixtures" / "demo"
ROLES = importlib.import_module("coordination.migrations.0005_roles")
STAFF_UNIT = "Ủy ban nhân dân xã Tân Minh"
REORGANISED_ON = datetime.date(2025, 7, 1)
# The place whose bodies were dissolved on that day, the place of their successors. The names
# of the successor communes are illustrative (README, "The demo data").
REORGANISATION = [
    ("huyện A", "xã A"),
    ("tỉnh Kon Tum", "tỉnh Quảng Ngãi"),
    ("huyện Đầm Hà, tỉnh Quảng Ninh", "xã Đầm Hà, tỉnh Quảng Ninh"),
    ("huyện Hàm Tân, tỉnh Bình Thuận", "xã Tân Minh, tỉnh Lâm Đồng"),
    ("huyện Vĩnh Thuận, tỉnh Kiên Giang", "xã Vĩnh Thuận, tỉnh An Giang"),
]
# A body with no namesake in the new place: the organisations now work under the Front, the
# offices and departments pass to the People's Committee.
TAKEN_OVER_BY = {
    UnitKind.SOCIO_POLITICAL: UnitKind.FATHERLAND_FRONT,
    UnitKind.OTHER: UnitKind.PEOPLES_COMMITTEE,
}
# username, password (README, "Demo logins"), first name, last name, role (none: superuser)
USERS = [
    ("admin", "admin-demo-2026", "Minh Quân", "Phạm", None),
    ("canbo_hamtan", "canbo-demo-2026", "Thu Hà", "Nguyễn Thị", ROLES.UNIT_STAFF),
    ("kiemtra", "kiemtra-demo-2026", "Văn Nam", "Trần", ROLES.AUDITOR),
]
LINKS_FILE = "demo-carried-over.csv"


class Command(BaseCommand):
    help = "Load the demo users and the demo records of fixtures/demo/ (all or nothing)."

    def handle(self, *args, verbosity, **options):
        translation.activate("vi")
        self.verbosity = verbosity
        with transaction.atomic():
            users = self.users()
            admin = users["admin"]
            for path in sorted(DEMO_DIR.glob("*.xlsx")):
                kind = path.stem.partition("-")[2]
                if kinds.get(kind) is None:
                    raise CommandError(
                        _("%(file)s: the name must be NN-KIND.xlsx, KIND one of %(kinds)s.")
                        % {"file": path.name, "kinds": ", ".join(kinds.names())}
                    )
                self.run_import(kind, path.read_bytes(), path.name, admin)
            links = self.carried_over_links()
            if links:
                self.run_import("followups", links, LINKS_FILE, admin)
            self.reorganise(admin)
            unit = Unit.objects.filter(full_name=STAFF_UNIT).first()
            if unit is None:
                raise CommandError(_("The demo has no unit named %(unit)s.") % {"unit": STAFF_UNIT})
            UnitMember.objects.get_or_create(user=users["canbo_hamtan"], unit=unit)
        if verbosity:
            self.stdout.write(
                _("Demo loaded. Log in as %(users)s with the passwords given in the README.")
                % {"users": ", ".join(users)}
            )

    def users(self) -> dict:
        """The demo accounts as the README describes them, whatever they became since."""
        accounts = {}
        for username, password, first_name, last_name, role in USERS:
            account, _created = get_user_model().objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": f"{username}@example.com",
                    "is_active": True,
                    "is_staff": True,
                    "is_superuser": role is None,
                },
            )
            account.set_password(password)
            account.save(update_fields=["password"])
            groups = Group.objects.filter(name=role) if role else Group.objects.none()
            if role and not groups:
                raise CommandError(
                    _("The role “%(role)s” is missing: run “manage.py migrate” first.")
                    % {"role": role}
                )
            account.groups.set(groups)
            accounts[username] = account
        return accounts

    def run_import(self, kind: str, data: bytes, file_name: str, admin) -> None:
        report = import_records(
            kind=kind, data=data, file_name=file_name, user=admin, dry_run=False
        )
        if self.verbosity:
            self.stdout.write(f"{file_name}: {report.summary_line()}")
        problems = [*report.file_errors, *report.warnings]
        for problem in report.problems:
            where = _("row %(row)s") % {"row": problem.row}
            where += f", {problem.column}" if problem.column else ""
            value = f" [{problem.value}]" if problem.value else ""
            problems.append(f"{where}: {problem.message}{value}")
        if problems or not report.written:
            raise CommandError(
                _("The demo file %(file)s was refused; nothing was loaded:") % {"file": file_name}
                + "".join(f"\n  {problem}" for problem in problems)
            )

    def reorganise(self, admin) -> None:
        """Dissolve the bodies of each abolished district or merged province into the body of
        the new place that took over its work, with the project's merger service."""
        for old_place, new_place in REORGANISATION:
            successors = list(Unit.objects.filter(locality=new_place, is_active=True))
            groups = {}
            for unit in Unit.objects.filter(locality=old_place, is_active=True).order_by("pk"):
                successor = self.successor(unit, old_place, new_place, successors)
                groups.setdefault(successor, []).append(unit)
            for successor, units in groups.items():
                try:
                    result = unit_merge(
                        units=units, successor=successor, dissolved_on=REORGANISED_ON, user=admin
                    )
                except ValidationError as error:
                    raise CommandError("; ".join(error.messages)) from None
                if self.verbosity:
                    self.stdout.write(
                        _(
                            "%(count)d units dissolved into %(successor)s, "
                            "%(tasks)d tasks handed over."
                        )
                        % {
                            "count": result.units,
                            "successor": successor,
                            "tasks": result.tasks_moved,
                        }
                    )

    @staticmethod
    def successor(unit: Unit, old_place: str, new_place: str, successors: list) -> Unit:
        """The body of `new_place` of the same name (“huyện Hàm Tân” read “xã Tân Minh”), else
        its only body of the same kind, or of the kind that took this kind's work over."""
        place = old_place.partition(",")[0]
        namesake = unit.full_name.replace(place, new_place.partition(",")[0])
        for candidate in successors:
            if candidate.full_name == namesake:
                return candidate
        kind = TAKEN_OVER_BY.get(unit.kind, unit.kind)
        same_kind = [candidate for candidate in successors if candidate.kind == kind]
        if len(same_kind) != 1:
            raise CommandError(
                _("The demo names no single successor of %(unit)s in %(place)s.")
                % {"unit": unit, "place": new_place}
            )
        return same_kind[0]

    def carried_over_links(self) -> bytes | None:
        """A follow-up file linking each carried-over item not yet linked to its successor:
        next year's item of the same kind and content, as the carry-over action makes it."""
        items = FollowUp.objects.select_related("responsible_unit")
        by_content = {}
        for item in items.filter(carried_over_from__isnull=True):
            by_content.setdefault((item.year, item.kind, item.content), []).append(item)
        rows = []
        carried = FollowUp.objects.filter(
            status=FollowUpStatus.CARRIED_OVER, carried_over_to__isnull=True
        )
        for source in carried.order_by("pk"):
            successors = by_content.get((source.year + 1, source.kind, source.content), [])
            if len(successors) != 1:
                raise CommandError(
                    _(
                        "The carried-over item “%(item)s” of %(year)d needs exactly one item "
                        "of the same kind and content in %(next)d; the demo has %(count)d."
                    )
                    % {
                        "item": source,
                        "year": source.year,
                        "next": source.year + 1,
                        "count": len(successors),
                    }
                )
            item = successors[0]
            rows.append(
                [item.kind, item.year, item.content, item.responsible_unit.full_name, source.pk]
            )
        if not rows:
            return None
        columns = kinds.get("followups").resource.columns()
        header = [
            str(column.column_name)
            for name in ("kind", "year", "content", "responsible_unit", "carried_over_from")
            for column in columns
            if column.attribute == name
        ]
        stream = io.BytesIO()
        write_csv(stream, header=header, rows=rows)
        return stream.getvalue()
