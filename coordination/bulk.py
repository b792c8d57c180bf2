"""Fast insertion of many new records, for imports.

On PostgreSQL, `COPY` writes 10,000 follow-up items in about 0.25 s where `bulk_create()`
takes 1.1 s (measured in bench/); the ids are drawn from the table's sequence first, so the
records come back with their primary keys as from `bulk_create()`. Other databases use
`bulk_create()`. Callers run `prepare_for_save()` on the records beforehand; rows go in exactly
as the records hold them, so the database's constraints still check every one.
"""

import enum

from django.db import connection, models
from django.utils import timezone

# Fields whose Python value PostgreSQL's COPY takes as it is.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.DateField,
    models.DecimalField,
    models.ForeignKey,
)


def insert_records(model, objs: list, *, batch_size: int = 2000) -> None:
    """Insert `objs` (new records of `model`, already prepared) and set their primary keys."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size, prepared=True)
        return
    fields = list(model._meta.concrete_fields)
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(objs)],
        )
        for obj, (pk_value,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk_value
            obj._state.adding = False
            obj._state.db = connection.alias
        converters = [_converter(field) for field in fields]
        columns = ", ".join(quote(field.column) for field in fields)
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([convert(obj) for convert in converters])


def _converter(field):
    attname = field.attname
    if isinstance(field, models.CharField | models.TextField):
        # Choice defaults are enum members; COPY wants their stored value.
        def text(obj):
            value = getattr(obj, attname)
            return value.value if isinstance(value, enum.Enum) else value

        return text
    if isinstance(field, _PLAIN) or field.primary_key:
        return lambda obj: getattr(obj, attname)
    if isinstance(field, models.DateTimeField):
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)
