"""Backups that restore (issue 5, point 5): `manage.py backup_database`, then the documented
restore into an empty database, which must hold every record, history entry and user."""

import io
import os
import sqlite3
import subprocess

import psycopg
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from tests.factories import ensure_roles

# Committed data, for pg_dump to see.
pytestmark = pytest.mark.django_db(transaction=True)


def tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    names = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    return sorted(names & existing)


def rows_of(cursor, table: str) -> list[tuple]:
    cursor.execute(f'SELECT * FROM "{table}"')
    # SQLite gives booleans back as 0/1 without Django's converters. Sorted whole: a
    # historical table's first column is the record's id, shared by its history rows, so
    # ordering by it alone leaves their order to the database (it differed after a restore).
    return sorted(
        tuple(str(int(value) if isinstance(value, bool) else value) for value in row)
        for row in cursor.fetchall()
    )


def snapshot() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        return {table: rows_of(cursor, table) for table in tables()}


def test_demo_data_survives_a_backup_and_restore(tmp_path):
    ensure_roles()  # an earlier transactional test's flush removed them
    call_command("load_demo", verbosity=0)
    before = snapshot()
    assert before["auth_user"] and before["coordination_historicaltask"]
    assert (
        before["coordination_followup"] and before["coordination_historicaltask_coordinating_units"]
    )
    backup = tmp_path / "hoso.backup"
    call_command("backup_database", backup, stdout=io.StringIO())
    assert backup.stat().st_size > 0
    assert not backup.with_name("hoso.backup.partial").exists()

    if connection.vendor == "sqlite":
        # Restore = the copy is the database file: open it as the application would.
        restored = sqlite3.connect(backup)
        try:
            cursor = restored.cursor()
            after = {table: rows_of(cursor, table) for table in before}
        finally:
            restored.close()
    else:
        after = restore_postgresql(backup, list(before))
    assert after == before


def restore_postgresql(backup, table_names) -> dict:
    """`createdb` + `pg_restore` as README "Backups" says, then read every table back."""
    settings = connection.settings_dict
    target = f"restore_check_{os.getpid()}"
    server = {
        "host": settings.get("HOST") or "localhost",
        "port": settings.get("PORT") or 5432,
        "user": settings.get("USER") or "postgres",
        "password": settings.get("PASSWORD") or None,
    }
    admin = psycopg.connect(dbname="postgres", autocommit=True, **server)
    admin.execute(f'CREATE DATABASE "{target}" TEMPLATE template0')
    try:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--host={server['host']}",
                f"--port={server['port']}",
                f"--username={server['user']}",
                f"--dbname={target}",
                str(backup),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PGPASSWORD": server["password"] or ""},
        )
        with psycopg.connect(dbname=target, **server) as restored, restored.cursor() as cursor:
            return {table: rows_of(cursor, table) for table in table_names}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.close()
