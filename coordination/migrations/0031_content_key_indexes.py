"""The natural-key indexes of tasks and follow-up items on a hash of their content
(`db_functions.ContentKey`) instead of its lower-cased first 100 characters: a third the size
(the follow-up items' index of a million rows took 212 MB), so that an import's lookups and
new entries touch a third of the pages (issue 17: an import into a province's table within
1.3x of one into an empty table).

And no index of its own on a follow-up item's responsible unit nor on a task's lead unit: the
index beginning with the unit (their `_unit_st_due`) serves every lookup by unit. Dropped by
name, without the table made anew: SQLite would lose the triggers of migration 0026.
"""

import django.db.models.deletion
from django.db import migrations, models

import coordination.db_functions

#: (model, field, table, column, the index Django made for the link).
UNIT_LINKS = [
    (
        "followup",
        "responsible_unit",
        "coordination_followup",
        "responsible_unit_id",
        "coordination_followup_responsible_unit_id_c5134082",
    ),
    (
        "task",
        "lead_unit",
        "coordination_task",
        "lead_unit_id",
        "coordination_task_lead_unit_id_149e1182",
    ),
]
VERBOSE = {"responsible_unit": "responsible unit", "lead_unit": "lead unit"}
RELATED = {"responsible_unit": "followups", "lead_unit": "led_tasks"}


def unindexed_link(model, field, table, column, index):
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name=model,
                name=field,
                field=models.ForeignKey(
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name=RELATED[field],
                    to="coordination.unit",
                    verbose_name=VERBOSE[field],
                ),
            )
        ],
        database_operations=[
            migrations.RunSQL(
                f"DROP INDEX IF EXISTS {index}",
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})",
            )
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0030_import_write_costs"),
    ]

    operations = [
        *(unindexed_link(*link) for link in UNIT_LINKS),
        migrations.RemoveIndex(
            model_name="followup",
            name="coordination_fu_natural_key",
        ),
        migrations.RemoveIndex(
            model_name="task",
            name="coordination_task_natural_key",
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(
                models.F("year"),
                models.F("responsible_unit"),
                models.F("kind"),
                coordination.db_functions.ContentKey("content"),
                name="coordination_fu_natural_key",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                models.F("agreement"),
                models.F("year"),
                coordination.db_functions.ContentKey("content"),
                name="coordination_task_natural_key",
            ),
        ),
    ]
