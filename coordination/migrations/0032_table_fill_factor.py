"""PostgreSQL: the follow-up items' and tasks' tables fill their pages to 75 % (`fillfactor`).

A new row goes to a page whose free space (in the free-space map that VACUUM keeps) holds
the row and the room the fill factor keeps back: with the default of 100, any page with a
row's worth left over at its end. A table filled by a bulk load, then vacuumed, has such a
remnant on nearly every page, so an import's 10,000 short rows went one to a page, to 10,000
pages across the table: each page read, dirtied, and logged whole after a checkpoint, and
the new entries of every index ordered by the row's place (the unset links, kind and year,
status) spread to as many leaf pages. Measured on a province of 1,000,000 follow-up items
built by another script than ours: 192 MB of WAL for one 10,000-row import, 32 MB into the
empty table.

With 75 %, a page takes a new row only if 2,048 bytes stay free beside it. A remnant is
smaller than the row that did not fit, and no row is longer than about 2,030 bytes (a longer
one has its texts compressed or moved out of line, TOAST), so no remnant takes a new row,
whoever filled the table: the rows go to new pages at the end of the table (41 MB of WAL
with 90 %, which still let short rows into the remnants of rows of 1,500 characters). Free
space left by deleted or moved rows is still used. The room kept back on each page takes an
item's later changes (its status, its resolution) on the same page.

`ALTER TABLE … SET` rewrites nothing: the existing pages stay as they are.
"""

from django.db import migrations

TABLES = ["coordination_followup", "coordination_task"]
FILL_FACTOR = 75


def set_fill_factor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")


def reset_fill_factor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0031_content_key_indexes"),
    ]

    operations = [migrations.RunPython(set_fill_factor, reset_fill_factor)]
