"""`manage.py export_records KIND [filters] --output FILE`: the admin's export, in batch."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds
from coordination.exporting import FORMATS, write_export
from coordination.selectors import ExportFilterError, export_queryset


class Command(BaseCommand):
    help = "Export coordination records to .xlsx or .csv (the format follows the extension)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(kinds.names()), help="the kind of records")
        parser.add_argument("--year", type=int, help="records of this year")
        parser.add_argument("--unit", help="records involving this unit (full or short name)")
        parser.add_argument("--status", help="records with this status (label or code)")
        parser.add_argument(
            "--outstanding", action="store_true", help="tasks or follow-ups not yet finished"
        )
        parser.add_argument("--output", required=True, help="the file to write (.xlsx or .csv)")

    def handle(self, *args, kind, year, unit, status, outstanding, output, **options):
        translation.activate("vi")
        path = Path(output)
        file_format = path.suffix.lower().lstrip(".")
        if file_format not in FORMATS:
            raise CommandError(_("The output file must end in .xlsx or .csv."), returncode=2)
        try:
            queryset = export_queryset(
                kind, year=year, unit=unit, status=status, outstanding=outstanding
            )
        except ExportFilterError as error:
            raise CommandError(str(error), returncode=2) from None
        try:
            with path.open("wb") as stream:
                write_export(kind, queryset, stream, file_format)
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": output, "error": error.strerror},
                returncode=2,
            ) from None
        self.stdout.write(
            _("%(count)d records written to %(file)s.")
            % {"count": queryset.count(), "file": output}
        )
