from django.db import migrations

# PostgreSQL: the units in Vietnamese alphabetical order (the collation of migration 0017),
# so that a list sorted by its unit walks the units in order and each unit's records by
# their foreign key's index, instead of sorting every record (coordination.filters.SortFilter).
# SQLite sorts a province's units in memory; its collation is a Python function that an
# index would make every other program opening the file need.
CREATE = (
    "CREATE INDEX IF NOT EXISTS coordination_unit_name_order "
    "ON coordination_unit ((full_name COLLATE vietnamese), id)"
)
DROP = "DROP INDEX IF EXISTS coordination_unit_name_order"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0020_natural_key_indexes"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
