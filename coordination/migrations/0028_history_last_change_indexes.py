"""An index per history table on (id, history_date, history_id): a record's last change (the
lists' "last changed by", `history.with_last_change`) is then one index probe.

With the record's id alone indexed, PostgreSQL may instead walk the history_date index from
the newest entry, filtering by id, to save sorting a record's few entries: under a stream of
imports, with statistics taken before them, that walk read 82,000 entries for each of the
fifty rows of a page and two of its subqueries (1.8 s a page). Written as SQL: the history
models are made by django-simple-history, which takes no indexes of ours."""

from django.db import migrations

TABLES = [
    "coordination_historicalagreement",
    "coordination_historicalfollowup",
    "coordination_historicaltask",
]


def name(table: str) -> str:
    return f"{table.removeprefix('coordination_')}_last_change"


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0027_job_queue_watch"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {name(table)} ON {table} (id, history_date, history_id)",
            f"DROP INDEX {name(table)}",
        )
        for table in TABLES
    ]
