"""Work the background jobs' queue: `manage.py jobs_worker` (README, "Background jobs")."""

import logging
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from coordination.jobs import services as jobs
from coordination.maintenance import settle_writes
from coordination.reports import tallies

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the background jobs (imports, exports, reports): the database queue by default, "
        "the Redis queue with DJANGO_JOBS_BACKEND=rq. Every --maintenance seconds it also runs "
        "again the jobs of a worker that died and the waiting jobs the queue lost, and deletes "
        "old jobs with their files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument(
            "--maintenance", type=float, default=30.0, help="Seconds between housekeeping runs."
        )
        parser.add_argument(
            "--batch", action="store_true", help="Exit once no job is waiting (tests, benches)."
        )

    def handle(self, *, interval, maintenance, batch, verbosity, **options):
        logging.getLogger("coordination").setLevel(logging.INFO if verbosity else logging.WARNING)
        if settings.JOBS_BACKEND == "rq":
            self.work_rq(maintenance, batch)
        else:
            self.work_database(interval, maintenance, batch)

    def housekeeping(self) -> None:
        try:
            recovered = jobs.jobs_recover()
            removed = jobs.jobs_cleanup()
        except Exception:
            logger.exception("The jobs' housekeeping failed")
        else:
            if recovered["requeued"] or recovered["failed"] or removed:
                logger.warning(
                    "Jobs: %(requeued)d queued again, %(failed)d given up, %(removed)d removed",
                    {**recovered, "removed": removed},
                )
        try:
            # The outstanding table's stored counts: the units changed since, and on a new
            # day everything, counted here rather than by the first page that needs them.
            tallies.refresh_all()
        except Exception:
            logger.exception("Refreshing the outstanding table's stored counts failed")
        try:
            # The search indexes' entries an import left pending (migration 0029), and
            # SQLite's log an import left uncopied.
            settle_writes()
        except Exception:
            logger.exception("Merging the search indexes' pending entries or SQLite's log failed")
        finally:
            close_old_connections()

    def work_database(self, interval: float, maintenance: float, batch: bool) -> None:
        """django-tasks-db's worker, one task at a time, housekeeping in between (in this
        thread: SQLite has one writer at a time)."""
        from django_tasks_db.management.commands.db_worker import Worker

        worker = Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=1,
            worker_id=f"jobs-{int(time.time() * 1000) % 10**9}",
            excluded_queue_names=[],
        )
        worker.configure_signals()
        next_housekeeping = 0.0
        while worker.running:
            if time.monotonic() >= next_housekeeping:
                self.housekeeping()
                next_housekeeping = time.monotonic() + maintenance
            before = worker._run_tasks
            worker.run()
            if worker._run_tasks == before:
                if batch:
                    return
                time.sleep(interval)

    def work_rq(self, maintenance: float, batch: bool) -> None:
        """RQ's worker on Redis, housekeeping in a thread beside it."""
        import django_rq

        stop = threading.Event()

        def keep_house():
            while not stop.wait(maintenance):
                self.housekeeping()

        # Once before the worker starts, so that a job queued again (its worker died, or
        # Redis lost it) is on the queue for a --batch worker too.
        self.housekeeping()
        thread = threading.Thread(target=keep_house, daemon=True)
        thread.start()
        try:
            # django-tasks-rq's job class, which runs a django-tasks Task.
            worker = django_rq.get_worker("default", job_class="django_tasks_rq.backend.Job")
            worker.work(burst=batch, with_scheduler=False)
        finally:
            stop.set()
