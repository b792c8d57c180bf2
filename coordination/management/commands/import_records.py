"""`manage.py import_records KIND FILE [--dry-run] [--user NAME]`: the admin import, in batch."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import kinds
from coordination.importing import PROBLEMS_LISTED, import_records
from coordination.maintenance import settle_writes

# Exit statuses: 0 written (or a clean dry run), 1 rows refused (nothing written), 2 usage or
# unreadable file.
EXIT_REFUSED = 1
EXIT_USAGE = 2


class Command(BaseCommand):
    help = (
        "Import a spreadsheet (.xlsx, .xlsm, .ods, .xls or .csv) of coordination records, "
        "all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(kinds.names()), help="the kind of records")
        parser.add_argument("file", help="the .xlsx, .xlsm, .ods, .xls or .csv file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--user",
            help="import as this user: their unit scope applies and the admin log names them",
        )

    def handle(self, *args, kind, file, dry_run, user, **options):
        translation.activate("vi")
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror},
                returncode=EXIT_USAGE,
            ) from None
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(
                    _("No user named %(user)s.") % {"user": user}, returncode=EXIT_USAGE
                )
        report = import_records(
            kind=kind,
            data=data,
            file_name=path.name,
            user=account,
            dry_run=dry_run,
            progress=self.progress_bar() if sys.stderr.isatty() else None,
        )
        for message in report.file_errors:
            self.stderr.write(_("Error: %(message)s") % {"message": message})
        for message in report.warnings:
            self.stderr.write(_("Warning: %(message)s") % {"message": message})
        problems = report.problems
        for problem in problems[:PROBLEMS_LISTED]:
            where = _("row %(row)s") % {"row": problem.row}
            if problem.column:
                where += f", {problem.column}"
            value = f" [{problem.value}]" if problem.value else ""
            self.stderr.write(f"{where}: {problem.message}{value}")
        if len(problems) > PROBLEMS_LISTED:
            more = len(problems) - PROBLEMS_LISTED
            self.stderr.write(
                ngettext(
                    "…and %(count)d more problem: correct these and run the import again.",
                    "…and %(count)d more problems: correct these and run the import again.",
                    more,
                )
                % {"count": more}
            )
        for outcome in report.outcomes:
            for note in outcome.notes:
                self.stderr.write(_("row %(row)s: %(note)s") % {"row": outcome.row, "note": note})
            for change in outcome.changes:
                self.stdout.write(
                    _("row %(row)s, %(column)s: %(old)s → %(new)s")
                    % {
                        "row": outcome.row,
                        "column": change.column,
                        "old": change.old or _("(empty)"),
                        "new": change.new or _("(empty)"),
                    }
                )
        self.stdout.write(report.summary_line())
        if report.written:
            # The entries this import added to the search index, merged now rather than by
            # the next import while it holds the kind's lock; SQLite's log copied back.
            settle_writes([kinds.get(kind).model])
        if report.file_errors and not report.outcomes and report.header_row is None:
            sys.exit(EXIT_USAGE)
        if report.has_errors:
            sys.exit(EXIT_REFUSED)

    def progress_bar(self):
        def show(done: int, total: int):
            width = 40
            filled = width * done // max(total, 1)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

        return show
