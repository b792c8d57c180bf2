"""`manage.py next_year_programme --agreement NUMBER --year Y [--meeting ID] [--dry-run]
[--user USERNAME]`: next year's programme from this year's, as the agreement's admin page
drafts it (`coordination.programme`)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from coordination import programme
from coordination.models import Agreement, Meeting

EXIT_USAGE = 2


class Command(BaseCommand):
    help = (
        "Create next year's programme of an agreement from the tasks of a year: recurring "
        "tasks repeated, open tasks carried, a meeting's conclusions turned into tasks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agreement", required=True, help="the agreement's number")
        parser.add_argument("--year", type=int, required=True, help="the year drafted from")
        parser.add_argument("--meeting", type=int, help="the id of the meeting concluding it")
        parser.add_argument("--dry-run", action="store_true", help="list, write nothing")
        parser.add_argument("--user", help="as this user: their unit scope applies")

    def handle(self, *args, agreement, year, meeting, dry_run, user, **options):
        translation.activate("vi")
        found = Agreement.objects.filter(number=agreement.strip()).first()
        if found is None:
            raise self.usage(_("No agreement numbered %(number)s.") % {"number": agreement})
        chosen = None
        if meeting is not None:
            chosen = Meeting.objects.filter(pk=meeting).first()
            if chosen is None:
                raise self.usage(_("No meeting with id %(id)s.") % {"id": meeting})
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise self.usage(_("No user named %(user)s.") % {"user": user})
        try:
            draft = programme.draft_next_year(found, year, meeting=chosen, user=account)
            self.show(draft)
            if dry_run:
                self.stdout.write(_("Dry run: nothing was created."))
                return
            created = programme.create_next_year(draft, account)
        except PermissionDenied:
            raise CommandError(
                _("%(user)s may not draft this agreement's programme.") % {"user": user}
            ) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            _("Created %(total)d tasks for %(year)s in %(number)s.")
            % {"total": created.total, "year": created.year, "number": created.target.number}
        )

    def usage(self, message):
        return CommandError(message, returncode=EXIT_USAGE)

    def show(self, draft):
        self.stdout.write(
            _("Programme %(next)s of %(number)s, from %(year)s:")
            % {"next": draft.next_year, "number": draft.target.number, "year": draft.year}
        )
        for group in programme.GROUPS:
            planned, skipped = draft.group(group), draft.skipped_in(group)
            self.stdout.write(f"{programme.GROUP_LABELS[group]}: {len(planned)}")
            for item in planned:
                self.stdout.write(f"  + {item.task.content}")
            for item in skipped:
                self.stdout.write(f"  - {item.source} ({item.reason})")
