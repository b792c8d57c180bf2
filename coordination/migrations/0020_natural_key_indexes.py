# Indexes on the natural keys an import finds its rows by (issue 17): an import of a 10,000-row
# file no longer reads the records of every unit and year it names (`coordination.importing.keys`).

from django.db import migrations, models

import coordination.db_functions


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0018_folded_name_trigram_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="agreement",
            index=models.Index(
                coordination.db_functions.KeyPrefix(coordination.db_functions.NumberKey("number")),
                name="coordination_agr_natural_key",
            ),
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(
                models.F("year"),
                models.F("responsible_unit"),
                models.F("kind"),
                coordination.db_functions.KeyPrefix(
                    coordination.db_functions.UnicodeLower("content")
                ),
                name="coordination_fu_natural_key",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                models.F("agreement"),
                models.F("year"),
                coordination.db_functions.KeyPrefix(
                    coordination.db_functions.UnicodeLower("content")
                ),
                name="coordination_task_natural_key",
            ),
        ),
        migrations.AddIndex(
            model_name="unit",
            index=models.Index(
                coordination.db_functions.KeyPrefix(
                    coordination.db_functions.UnicodeLower("locality")
                ),
                coordination.db_functions.KeyPrefix(
                    coordination.db_functions.UnicodeLower("full_name")
                ),
                name="coordination_unit_natural_key",
            ),
        ),
    ]
