"""PostgreSQL: the trigram indexes of the tasks' and follow-up items' search text take an
import's new entries into a pending list of up to 64 MB (`gin_pending_list_limit`, Debian's
default 4 MB), merged into the index by the jobs worker's housekeeping
(`coordination.maintenance.merge_search_index_pending`) rather than by the import itself.

Measured on a province of 1,000,000 follow-up items: inserting 10,000 rows cost 1.52 s with
the 4 MB list (the inserting statement merged it over and over), 1.08 s with 64 MB, 5.4 s
with no list at all; a search reads the pending entries too (+30 ms for 10,000 of them),
which the worker merges every --maintenance seconds (30 s)."""

from django.db import migrations

INDEXES = ["coordination_task_search_trgm", "coordination_fu_search_trgm"]
PENDING_LIST_KB = 64 * 1024


def set_limit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in INDEXES:
            schema_editor.execute(
                f"ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_LIST_KB})"
            )


def reset_limit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in INDEXES:
            schema_editor.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0028_history_last_change_indexes"),
    ]

    operations = [migrations.RunPython(set_limit, reset_limit)]
