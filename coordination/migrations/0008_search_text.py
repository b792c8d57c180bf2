"""`search_text`: the folded copy of a task's or follow-up item's own searched text, and a
trigram index on it for the free-text search `q` on PostgreSQL.

`coordination.models.base.SearchableMixin` keeps the column on every write path; this
migration fills it for the existing rows. pg_trgm is a "trusted" extension (PostgreSQL 13 and
later): the owner of the database may create it without being a superuser.
"""

from django.db import migrations, models

from coordination.text import fold

DOCUMENTS = {
    # model: the fields copied, in the order of the model's `search_document_fields`
    "task": ("content", "result"),
    "followup": ("content", "resolution", "source_reference"),
}
INDEXES = {
    "task": "coordination_task_search_trgm",
    "followup": "coordination_fu_search_trgm",
}
BATCH = 2000


def fill_search_text(apps, schema_editor):
    for model_name, fields in DOCUMENTS.items():
        model = apps.get_model("coordination", model_name)
        rows = model.objects.order_by("pk").values_list("pk", *fields)
        batch = []
        for pk, *values in rows.iterator(chunk_size=BATCH):
            batch.append(model(pk=pk, search_text=fold(" ".join(v or "" for v in values))))
            if len(batch) == BATCH:
                model._base_manager.bulk_update(batch, ["search_text"])
                batch = []
        if batch:
            model._base_manager.bulk_update(batch, ["search_text"])


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_name
    for model_name, index in INDEXES.items():
        table = apps.get_model("coordination", model_name)._meta.db_table
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(index)} ON {quote(table)} "
            f"USING gin ({quote('search_text')} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0007_m2m_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.AddField(
            model_name="task",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
