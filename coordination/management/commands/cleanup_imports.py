"""`manage.py cleanup_imports`: delete uploads whose preview was never confirmed."""

from django.core.management.base import BaseCommand

from coordination.uploads import purge_expired


class Command(BaseCommand):
    help = "Delete uploaded spreadsheets older than IMPORT_UPLOAD_TTL_HOURS (abandoned imports)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, help="age limit instead of the setting")

    def handle(self, *args, hours, **options):
        removed = purge_expired(hours)
        self.stdout.write(f"removed={removed}")
