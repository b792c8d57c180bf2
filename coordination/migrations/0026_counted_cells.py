"""The outstanding table's stored counts (coordination/models/tallies.py) and the triggers
that mark a unit whose records changed, on both databases.

PostgreSQL: statement-level triggers with transition tables, so that an import of 10,000 rows
writes one mark per unit per statement, not per row. SQLite: row-level triggers, each writing
a unit's mark once (it has no transition tables).
"""

from django.db import migrations, models

#: (kind, table, the unit the outstanding table counts a record under).
COUNTED = [
    ("followups", "coordination_followup", "responsible_unit_id"),
    ("tasks", "coordination_task", "lead_unit_id"),
]
MARKS = "coordination_countmark"
STATES = "coordination_countstate"


def postgresql_triggers(kind, table, unit):
    rows = {"insert": ["new_rows"], "delete": ["old_rows"], "update": ["new_rows", "old_rows"]}
    for event, names in rows.items():
        name = f"coordination_{kind}_{event}_marks"
        sources = " UNION ".join(f"SELECT {unit} FROM {rows}" for rows in names)
        referencing = " ".join(
            f"{'NEW' if rows == 'new_rows' else 'OLD'} TABLE AS {rows}" for rows in names
        )
        yield f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {MARKS} (kind, unit_id)
                SELECT '{kind}', {unit} FROM ({sources}) changed;
                RETURN NULL;
            END $$;
            CREATE TRIGGER {name} AFTER {event.upper()} ON {table}
            REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}();
        """


def postgresql_truncate_trigger(kind, table):
    """TRUNCATE fires no trigger of a write: the kind's counts are forgotten, and counted
    again from the records."""
    name = f"coordination_{kind}_truncate_marks"
    return f"""
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {STATES} WHERE kind = '{kind}';
            RETURN NULL;
        END $$;
        CREATE TRIGGER {name} AFTER TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    """


def sqlite_triggers(kind, table, unit):
    rows = {"insert": ["NEW"], "delete": ["OLD"], "update": ["NEW", "OLD"]}
    for event, names in rows.items():
        marks = "".join(
            f"""
                INSERT INTO {MARKS} (kind, unit_id) SELECT '{kind}', {row}.{unit}
                WHERE NOT EXISTS (
                    SELECT 1 FROM {MARKS} WHERE kind = '{kind}' AND unit_id IS {row}.{unit}
                );"""
            for row in names
        )
        yield f"""
            CREATE TRIGGER coordination_{kind}_{event}_marks AFTER {event.upper()} ON {table}
            FOR EACH ROW BEGIN {marks}
            END;
        """


def create_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    make = postgresql_triggers if postgresql else sqlite_triggers
    for kind, table, unit in COUNTED:
        for statement in make(kind, table, unit):
            schema_editor.execute(statement)
        if postgresql:
            # SQLite has no TRUNCATE: its DELETE without WHERE fires the row triggers.
            schema_editor.execute(postgresql_truncate_trigger(kind, table))


def drop_triggers(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for kind, table, _unit in COUNTED:
        for event in ("insert", "delete", "update", "truncate"):
            name = f"coordination_{kind}_{event}_marks"
            if postgresql:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0025_unit_deadline_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="CountState",
            fields=[
                ("kind", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("counted_for", models.DateField()),
                ("layout", models.TextField()),
                ("refreshed_at", models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="CountedCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=32)),
                ("unit_id", models.BigIntegerField()),
                ("year", models.PositiveSmallIntegerField()),
                ("n0", models.IntegerField(db_default=0)),
                ("n1", models.IntegerField(db_default=0)),
                ("n2", models.IntegerField(db_default=0)),
                ("n3", models.IntegerField(db_default=0)),
                ("n4", models.IntegerField(db_default=0)),
                ("n5", models.IntegerField(db_default=0)),
                ("n6", models.IntegerField(db_default=0)),
                ("n7", models.IntegerField(db_default=0)),
                ("n8", models.IntegerField(db_default=0)),
                ("n9", models.IntegerField(db_default=0)),
                ("n10", models.IntegerField(db_default=0)),
                ("n11", models.IntegerField(db_default=0)),
                ("n12", models.IntegerField(db_default=0)),
                ("n13", models.IntegerField(db_default=0)),
                ("n14", models.IntegerField(db_default=0)),
                ("n15", models.IntegerField(db_default=0)),
                ("n16", models.IntegerField(db_default=0)),
                ("n17", models.IntegerField(db_default=0)),
                ("n18", models.IntegerField(db_default=0)),
                ("n19", models.IntegerField(db_default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["kind", "year"], name="countedcell_kind_year")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "unit_id", "year"), name="countedcell_kind_unit_year_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CountMark",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=32)),
                ("unit_id", models.BigIntegerField(null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["kind", "unit_id"], name="countmark_kind_unit")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
