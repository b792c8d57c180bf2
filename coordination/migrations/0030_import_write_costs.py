"""What an import writes beyond its rows, made cheaper (issue 17):

- the history tables keep no index of their own on the record id (the index of migration 0028
  serves it) nor on their links to other records (`history.unindexed_entry_fields`);
- the meetings and the people get an index on their folded names, by which an import reads
  those its cells name (every title of the table was folded, or the people's trigram index
  searched name by name);
- PostgreSQL: the triggers of migration 0026 mark each unit once per statement, as that
  migration meant (an insert of 30,000 rows wrote 30,000 marks).
"""

import django.db.models.deletion
from django.db import migrations, models

import coordination.db_functions

#: The history tables given an index on (id, history_date, history_id) by migration 0028.
HISTORY_TABLES = [
    "coordination_historicalagreement",
    "coordination_historicalfollowup",
    "coordination_historicaltask",
]


def last_change_index(table: str) -> str:
    name = f"{table.removeprefix('coordination_')}_last_change"
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} (id, history_date, history_id)"


#: (kind, table, the unit a record is counted under), as in migration 0026.
COUNTED = [
    ("followups", "coordination_followup", "responsible_unit_id"),
    ("tasks", "coordination_task", "lead_unit_id"),
]
TRANSITION_TABLES = {
    "insert": ["new_rows"],
    "delete": ["old_rows"],
    "update": ["new_rows", "old_rows"],
}


def mark_functions(distinct: bool):
    for kind, _table, unit in COUNTED:
        for event, names in TRANSITION_TABLES.items():
            sources = " UNION ".join(f"SELECT {unit} FROM {rows}" for rows in names)
            yield f"""
                CREATE OR REPLACE FUNCTION coordination_{kind}_{event}_marks()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO coordination_countmark (kind, unit_id)
                    SELECT {"DISTINCT " if distinct else ""}'{kind}', {unit}
                    FROM ({sources}) changed;
                    RETURN NULL;
                END $$;
            """


def one_mark_per_unit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in mark_functions(distinct=True):
            schema_editor.execute(statement)


def one_mark_per_row(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in mark_functions(distinct=False):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0029_search_index_pending_list"),
    ]

    operations = [
        # Going back, the same: after the fields below are altered back.
        *(
            migrations.RunSQL(migrations.RunSQL.noop, last_change_index(table))
            for table in HISTORY_TABLES
        ),
        migrations.AlterField(
            model_name="historicalagreement",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AlterField(
            model_name="historicalagreement",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="The term regulation a yearly programme implements.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.agreement",
                verbose_name="parent agreement",
            ),
        ),
        migrations.AlterField(
            model_name="historicalagreement",
            name="supersedes",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.agreement",
                verbose_name="supersedes",
            ),
        ),
        migrations.AlterField(
            model_name="historicalagreementparty",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="agreement",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.agreement",
                verbose_name="agreement",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="carried_over_from",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                error_messages={"unique": "This item has already been carried over."},
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.followup",
                verbose_name="carried over from",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="meeting",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.meeting",
                verbose_name="raised at meeting",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="repeats",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="An earlier item this one raises again: a voter petition raised again (tái kiến nghị), a limitation that recurs.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.followup",
                verbose_name="repeats",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="responsible_unit",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.unit",
                verbose_name="responsible unit",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup",
            name="task",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="The task of a programme that carries this item out.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.task",
                verbose_name="carried out by task",
            ),
        ),
        migrations.AlterField(
            model_name="historicalfollowup_co_responsible_units",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="agreement",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.agreement",
                verbose_name="agreement",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.person",
                verbose_name="assignee",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="carried_over_from",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                error_messages={"unique": "This task has already been carried over."},
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.task",
                verbose_name="carried over from",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="lead_unit",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.unit",
                verbose_name="lead unit",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="meeting",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.meeting",
                verbose_name="from meeting",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask",
            name="repeats",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                error_messages={"unique": "This task has already been repeated."},
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="coordination.task",
                verbose_name="repeats the task of",
            ),
        ),
        migrations.AlterField(
            model_name="historicaltask_coordinating_units",
            name="id",
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name="ID"),
        ),
        migrations.AddIndex(
            model_name="meeting",
            index=models.Index(
                coordination.db_functions.KeyPrefix(coordination.db_functions.Fold("title")),
                name="coordination_meeting_title_key",
            ),
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(
                coordination.db_functions.KeyPrefix(coordination.db_functions.Fold("full_name")),
                name="coordination_person_name_key",
            ),
        ),
        # SQLite altered the history tables by making them anew, without the indexes of
        # migration 0028 (written as SQL, unknown to the models): made again.
        *(
            migrations.RunSQL(last_change_index(table), migrations.RunSQL.noop)
            for table in HISTORY_TABLES
        ),
        migrations.RunPython(one_mark_per_unit, one_mark_per_row),
    ]
