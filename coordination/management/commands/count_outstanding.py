"""`manage.py count_outstanding`: bring the outstanding table's stored counts up to date."""

import time

from django.core.management.base import BaseCommand

from coordination.reports import tallies


class Command(BaseCommand):
    help = (
        "Count again the outstanding table's stored counts of the units changed since, or of "
        "every unit on a new day (the jobs' worker does it every 30 seconds; run it after "
        "loading records by other means, or from cron just after midnight without a worker)."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        tallies.refresh_all()
        self.stdout.write(f"counted in {time.perf_counter() - started:.2f} s")
