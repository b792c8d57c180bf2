"""`manage.py load_demo`: the demo data of the README, from the workbooks of fixtures/demo/.

The records are the spreadsheets `fixtures/demo/NN-KIND.xlsx`, imported in the order of their
numbers by `import_records()`, as `manage.py import_records KIND FILE --user admin` does, so
every `make demo` runs the importer. What a spreadsheet cannot hold is made here: the demo
users with the README's passwords, their roles and unit, and the links from each follow-up
item carried over to the next year's item that continues it (a workbook names a record by its
number, and the numbers are only known once the rows exist).

All or nothing: a refused row stops the load and nothing is written. Run again, it imports
the same workbooks: records are matched by their natural key and set back to the demo's
values, records added since are kept, and the demo passwords and roles are reset.
"""

import importlib
import io

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds
from coordination.choices import FollowUpStatus
from coordination.importing import import_records
from coordination.models import FollowUp, Unit, UnitMember
from coordination.spreadsheets import write_csv

DEMO_DIR = settings.BASE_DIR / "fixtures" / "demo"
ROLES = importlib.import_module("coordination.migrations.0005_roles")
STAFF_UNIT = "Ủy ban nhân dân huyện Hàm Tân"
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
