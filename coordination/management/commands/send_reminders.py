"""`manage.py send_reminders`: the daily reminder e-mail to each unit's staff (`digest`)."""

from django.core.management.base import BaseCommand

from coordination.digest import digests_send


class Command(BaseCommand):
    help = (
        "E-mail each unit's staff their units' overdue and due-soon tasks and follow-up items "
        "(once a day; run it every morning from cron or a systemd timer)."
    )

    def handle(self, *args, **options):
        run = digests_send()
        for user, error in run.failed:
            self.stderr.write(f"failed={user.get_username()} {error}")
        self.stdout.write(
            f"sent={len(run.sent)} nothing_due={run.nothing_due} "
            f"already_sent={run.already_sent} failed={len(run.failed)}"
        )
        if run.failed:
            raise SystemExit(1)
