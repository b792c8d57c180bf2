"""`manage.py backup_database FILE`: a consistent copy of the database while it is in use.

SQLite: SQLite's online backup API copies the database page by page into FILE (a plain
SQLite file; restore by putting it in place of the database file with the application
stopped). PostgreSQL: `pg_dump --format=custom` into FILE (restore with `pg_restore`, see
README, "Backups"). Either way the copy holds every record, history entry and user.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Write a consistent backup of the database to FILE (SQLite copy or pg_dump archive)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="where to write the backup")

    def handle(self, *args, file: Path, **options):
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_name(f"{file.name}.partial")
        if connection.vendor == "sqlite":
            self.backup_sqlite(partial)
        elif connection.vendor == "postgresql":
            self.backup_postgresql(partial)
        else:
            raise CommandError(f"No backup method for {connection.vendor}.")
        # Only a complete backup takes the final name.
        partial.replace(file)
        self.stdout.write(f"backup={file} bytes={file.stat().st_size}")

    @staticmethod
    def backup_sqlite(target: Path) -> None:
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            with destination:
                connection.connection.backup(destination)
        finally:
            destination.close()

    @staticmethod
    def backup_postgresql(target: Path) -> None:
        if shutil.which("pg_dump") is None:
            raise CommandError(
                "pg_dump is not installed (Debian: apt-get install postgresql-client)."
            )
        settings = connection.settings_dict
        env = {**os.environ}
        if settings.get("PASSWORD"):
            env["PGPASSWORD"] = settings["PASSWORD"]
        command = [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--file={target}",
            f"--host={settings.get('HOST') or 'localhost'}",
            f"--port={settings.get('PORT') or 5432}",
            f"--username={settings.get('USER') or 'postgres'}",
            settings["NAME"],
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
