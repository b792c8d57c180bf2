"""`manage.py report`: the yearly report (báo cáo) as .docx or .xlsx, live or as issued.

    manage.py report --year Y (--unit NAME | --agreement NUMBER) --format docx|xlsx --output FILE
    manage.py report ... --issue --number "12/BC-UBND" --user USERNAME [--date D] [--corrects ID]
    manage.py report --issued ID --format docx|xlsx --output FILE

The live report counts every unit's records (the user's, with --user); --issue issues it as
that user would from the page (their permission and units), writes the issued files and
prints the issued report's id on its own line.
"""

import datetime
import io
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import HttpRequest, QueryDict
from django.utils import translation
from django.utils.translation import gettext as _

from coordination.importing import ImportLookups
from coordination.models import IssuedReport
from coordination.reports import issuing, write_report_xlsx, yearly_report
from coordination.reports.document import Edits, report_units
from coordination.reports.docx import TemplateProblem, render_docx, template_for
from coordination.widgets import AgreementWidget, CellError, UnitWidget

# Exit statuses, as import_records: 1 refused (nothing issued), 2 usage.
EXIT_REFUSED = 1
EXIT_USAGE = 2
FORMATS = ("docx", "xlsx")


def usage(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_USAGE)


class Command(BaseCommand):
    help = "Write the yearly report (.docx or .xlsx), issue it, or write an issued one."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="the report's year")
        parser.add_argument("--unit", help="a unit's report (full or short name)")
        parser.add_argument("--agreement", help="an agreement's report (its number)")
        parser.add_argument("--issued", type=int, help="write the issued report of this id")
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--output", required=True, help="the file to write")
        parser.add_argument("--date", help="the report's date, YYYY-MM-DD")
        parser.add_argument("--issue", action="store_true", help="issue the report")
        parser.add_argument("--number", default="", help="the number to issue it under")
        parser.add_argument("--user", help="act as this user (required to issue)")
        parser.add_argument("--corrects", type=int, help="the issued report this one corrects")

    def handle(self, *args, **options):
        translation.activate("vi")
        if options["issued"] is not None:
            if options["issue"] or options["unit"] or options["agreement"]:
                raise usage(_("--issued cannot be given with --issue, --unit or --agreement."))
            issued = IssuedReport.objects.filter(pk=options["issued"]).first()
            if issued is None:
                raise usage(_("No issued report has the id %(id)s.") % {"id": options["issued"]})
            content = bytes(issued.docx if options["format"] == "docx" else issued.xlsx)
            self.write(options["output"], content)
            return
        report, user = self.live_report(options)
        edits = Edits(number=options["number"], date=self.date(options["date"]))
        if options["issue"]:
            issued = self.issue(report, edits, user, options["corrects"])
            content = bytes(issued.docx if options["format"] == "docx" else issued.xlsx)
            self.write(options["output"], content)
            self.stderr.write(
                _("Report No. %(number)s issued (version %(version)d).")
                % {"number": issued.number, "version": issued.version}
            )
            self.stdout.write(str(issued.pk))
            return
        if options["format"] == "docx":
            document = issuing.draft(report, edits, issuing.latest_issued(report))
            try:
                content = render_docx(document, template_for(report_units(report)))
            except TemplateProblem as problem:
                raise CommandError(str(problem), returncode=EXIT_REFUSED) from None
        else:
            report.date = edits.date
            stream = io.BytesIO()
            write_report_xlsx(report, stream)
            content = stream.getvalue()
        self.write(options["output"], content)

    def date(self, text: str | None) -> datetime.date | None:
        if not text:
            return None
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise usage(_("--date must be a date written YYYY-MM-DD.")) from None

    def live_report(self, options):
        """The yearly report the options name, counted over what the user may read."""
        if options["year"] is None:
            raise usage(_("Give --year, with --unit or --agreement (or --issued)."))
        if bool(options["unit"]) == bool(options["agreement"]):
            raise usage(_("Give either --unit or --agreement."))
        if options["issue"] and not options["user"]:
            raise usage(_("--issue needs --user: the user who issues the report."))
        user = self.user(options["user"])
        params = QueryDict(mutable=True)
        params["year"] = str(options["year"])
        try:
            if options["unit"]:
                params["unit"] = str(UnitWidget().find(options["unit"], ImportLookups(), {}).pk)
            else:
                found = AgreementWidget().find(options["agreement"], ImportLookups(), {})
                params["agreement"] = str(found.pk)
        except CellError as error:
            raise usage(str(error)) from None
        request = HttpRequest()
        request.method = "GET"
        request.GET = params
        request.user = user
        report = yearly_report(request)
        named = [field for field in report.form if field.name in ("unit", "agreement")]
        if report.forbidden or (options["user"] and any(field.errors for field in named)):
            # The unit or agreement is not among those the user may read.
            raise CommandError(
                _("User %(user)s may not read these records.") % {"user": user.get_username()},
                returncode=EXIT_REFUSED,
            )
        if not report.valid:
            errors = [
                " ".join(str(error) for error in field.errors)
                for field in report.form
                if field.errors
            ] + [str(error) for error in report.form.non_field_errors()]
            raise usage(" ".join(errors) or _("The report's parameters are not valid."))
        return report, user

    def user(self, username: str | None):
        """The named user, or, for a report that is only written, one who reads everything."""
        User = get_user_model()
        if not username:
            return User(username="manage.py", is_superuser=True, is_active=True)
        account = User.objects.filter(username=username).first()
        if account is None:
            raise usage(_("No user named %(user)s.") % {"user": username})
        return account

    def issue(self, report, edits: Edits, user, corrects_id):
        if not issuing.may_issue(user, report):
            raise CommandError(
                _("User %(user)s may not issue this report.") % {"user": user.get_username()},
                returncode=EXIT_REFUSED,
            )
        corrects = None
        if corrects_id is not None:
            corrects = issuing.issued_reports(user).filter(pk=corrects_id).first()
            if corrects is None:
                raise usage(_("No issued report has the id %(id)s.") % {"id": corrects_id})
        try:
            return issuing.report_issue(report=report, edits=edits, user=user, corrects=corrects)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=EXIT_REFUSED) from None

    def write(self, output: str, content: bytes) -> None:
        try:
            Path(output).write_bytes(content)
        except OSError as error:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": output, "error": error.strerror},
                returncode=EXIT_USAGE,
            ) from None
        if sys.stdout.isatty():
            self.stderr.write(_("Written to %(file)s.") % {"file": output})
