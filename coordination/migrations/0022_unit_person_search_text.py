"""`search_text` on units and people: their searched names kept folded (`SearchableMixin`),
with a trigram index on each (PostgreSQL), as tasks and follow-up items have (migration 0008).

The admin's autocomplete and search boxes and the unit names a `q` search resolves matched
`LOWER(TRANSLATE(name, …))` row by row: the indexes of migration 0018 serve a word of three
letters or more, but one or two letters (the first keystrokes of a type-ahead) folded every
unit's and person's names again, about 1 s at a province's 4,000 units. A stored folded copy
is matched with a plain LIKE, a few milliseconds for 4,000 rows, and its trigram index serves
the longer words.
"""

from django.db import migrations, models

from coordination.text import fold

DOCUMENTS = {
    # model: the fields copied, in the order of the model's `search_document_fields`
    "unit": ("full_name", "short_name", "locality"),
    "person": ("full_name", "position"),
}
INDEXES = {
    "unit": "coordination_unit_search_trgm",
    "person": "coordination_person_search_trgm",
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
        ("coordination", "0021_unit_name_order_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.AddField(
            model_name="unit",
            name="search_text",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search text"
            ),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
