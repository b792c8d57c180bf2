"""Trigram indexes on the folded names of units and people, for the admin's autocomplete and
search box and the unit names a `q` search resolves (PostgreSQL only, as migration 0008).

A search compares `LOWER(TRANSLATE(column, …))` (`coordination.db_functions.Fold`) with
LIKE '%word%': each index is on that very expression, built from the same constants, so that
the planner recognises it. Changing the folding (`coordination.text.FOLD_SOURCE`) needs these
indexes rebuilt by a new migration, or the searches scan the tables again.
"""

from django.db import migrations

from coordination.db_functions import fold_sql_source
from coordination.text import FOLD_TARGET

INDEXES = {
    # index name: (model, column)
    "coordination_unit_name_trgm": ("unit", "full_name"),
    "coordination_unit_short_trgm": ("unit", "short_name"),
    "coordination_unit_place_trgm": ("unit", "locality"),
    "coordination_person_name_trgm": ("person", "full_name"),
    "coordination_person_pos_trgm": ("person", "position"),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_name
    source = schema_editor.quote_value(fold_sql_source())
    target = schema_editor.quote_value(FOLD_TARGET)
    for index, (model_name, column) in INDEXES.items():
        table = apps.get_model("coordination", model_name)._meta.db_table
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(index)} ON {quote(table)} USING gin "
            f"((LOWER(TRANSLATE({quote(column)}, {source}, {target}))) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0017_vietnamese_collation"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
