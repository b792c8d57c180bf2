"""`manage.py export_records KIND [filters] --output FILE`: the admin's export, in batch.

The filters are the /records/ list's parameters of the same name, bound to the kind's
FilterSet (`selectors.record_filterset`) over every unit's records: `--year Y` is `year=Y`,
`--unit NAME` is `unit=` the unit of that name, `--status S` is `status=` the status whose
label or code is S, `--outstanding` is `outstanding=yes`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import kinds, selectors
from coordination.exporting import FORMATS, write_export
from coordination.importing import ImportLookups
from coordination.widgets import CellError, UnitWidget


def does_not_apply(parameter: str, kind: str) -> str:
    if parameter == "outstanding":
        return _("--outstanding applies to tasks and followups only.")
    if parameter == "year":
        return _("--year does not apply to %(kind)s.") % {"kind": kind}
    if parameter == "status":
        return _("--status does not apply to %(kind)s.") % {"kind": kind}
    return _("--unit does not apply to %(kind)s.") % {"kind": kind}


def filter_data(kind: str, *, year, unit, status, outstanding) -> dict:
    """The list parameters the options stand for; CommandError for an option that does not
    apply to `kind` or names nothing."""
    record_kind = kinds.get(kind)
    given = {"year": year is not None, "unit": unit, "status": status, "outstanding": outstanding}
    filters = record_kind.filterset.base_filters
    for parameter, value in given.items():
        if value and parameter not in filters:
            raise CommandError(does_not_apply(parameter, kind), returncode=2)
    data = {}
    if year is not None:
        data["year"] = year
    try:
        if unit:
            data["unit"] = UnitWidget().find(unit, ImportLookups(), {}).pk
        if status:
            # What a spreadsheet's status cell may say: the Vietnamese label or the code.
            column = record_kind.resource.fields.get("status")
            data["status"] = column.widget.clean(status) if column else status
    except CellError as error:
        raise CommandError(str(error), returncode=2) from None
    if outstanding:
        data["outstanding"] = "yes"
    return data


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
        data = filter_data(kind, year=year, unit=unit, status=status, outstanding=outstanding)
        filterset = selectors.record_filterset(kind, data, request=None)
        if not filterset.is_valid():
            raise CommandError(
                " ".join(
                    f"--{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()
                ),
                returncode=2,
            )
        queryset = filterset.qs
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
