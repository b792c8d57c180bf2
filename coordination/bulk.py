"""Fast insertion of many new records, for imports.

Django's `bulk_create()` renders every value of every row through its insert compiler
(placeholders, `pre_save`, `get_db_prep_save` per field and row): for a 10,000-row import of
follow-up items, a third of the confirmation's time on SQLite. Here each field's conversion
is chosen once, and the rows go to the database in one statement:

- PostgreSQL: `COPY` writes 10,000 follow-up items in about 0.25 s where `bulk_create()`
  takes 1.1 s (measured in bench/); the ids are drawn from the table's sequence first;
- SQLite: one prepared `INSERT` run with `executemany`, the ids given from the table's
  highest id (or its AUTOINCREMENT sequence) up, in the same transaction, which holds the
  database's write lock (IMMEDIATE transactions, config/settings.py);
- other databases: `bulk_create()`.

The records come back with their primary keys, as from `bulk_create()`. Callers run
`prepare_for_save()` on the records beforehand; rows go in exactly as the records hold them,
so the database's constraints still check every one, and a record pointing at an unsaved
one is refused as `bulk_create()` refuses it.
"""

import enum

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

# Fields whose Python value the database driver takes as it is.
_PLAIN = (
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


def insert_records(model, objs: list, *, batch_size: int = 2000) -> None:
    """Insert `objs` (new records of `model`, already prepared) and set their primary keys."""
    if not objs:
        return
    generated = isinstance(model._meta.pk, AutoFieldMixin)
    if (
        connection.vendor not in ("postgresql", "sqlite")
        or not generated
        or any(obj.pk is not None for obj in objs)
    ):
        model.objects.bulk_create(objs, batch_size=batch_size, prepared=True)
        return
    fields = list(model._meta.concrete_fields)
    check_related_saved(model, objs)
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    if connection.vendor == "postgresql":
        _copy(model, objs, fields)
    else:
        _executemany(model, objs, fields)


def check_related_saved(model, objs) -> None:
    """Refuse a record linked to a record not saved yet, as `bulk_create()` does (its link
    would be lost); a link set before its record was saved takes its id. Django's own check
    runs only for the records whose links need it."""
    relations = [
        (field.name, field.attname, field.target_field.attname)
        for field in model._meta.concrete_fields
        if field.is_relation
    ]
    for obj in objs:
        cache = obj._state.fields_cache
        for name, attname, target_attname in relations:
            target = cache.get(name)
            if target is not None and getattr(obj, attname) != getattr(target, target_attname):
                obj._prepare_related_fields_for_save(operation_name="bulk_create")
                break


def _copy(model, objs, fields) -> None:
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
        converters = [_copy_converter(field) for field in fields]
        columns = ", ".join(quote(field.column) for field in fields)
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([convert(obj) for convert in converters])


def _executemany(model, objs, fields) -> None:
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), model._meta.pk
    # An import's transaction, or one of its own: the ids read and the rows written at once.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The write lock is held from here (IMMEDIATE): no other writer takes these ids.
        cursor.execute(f"SELECT MAX({quote(pk.column)}) FROM {table}")
        highest = cursor.fetchone()[0] or 0
        # Django's AUTOINCREMENT never reuses the id of a deleted last row.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
        found = cursor.fetchone()
        highest = max(highest, found[0] if found else 0)
        for offset, obj in enumerate(objs, start=1):
            obj.pk = highest + offset
            obj._state.adding = False
            obj._state.db = connection.alias
        converters = [_sqlite_converter(field) for field in fields]
        columns = ", ".join(quote(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
            [[convert(obj) for convert in converters] for obj in objs],
        )


def _text_converter(attname):
    def text(obj):
        value = getattr(obj, attname)
        if value is None or type(value) is str:
            return value
        # Choice defaults are enum members; the database wants their stored value.
        return value.value if isinstance(value, enum.Enum) else str(value)

    return text


def _copy_converter(field):
    attname = field.attname
    if isinstance(field, models.CharField | models.TextField):
        return _text_converter(attname)
    if isinstance(field, (*_PLAIN, models.DateField, models.DecimalField)) or field.primary_key:
        # psycopg sends dates, times and decimals in COPY's own formats.
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def _sqlite_converter(field):
    """The value `bulk_create()` would send for `field` (`get_db_prep_save`), chosen once."""
    attname = field.attname
    if isinstance(field, models.CharField | models.TextField):
        return _text_converter(attname)
    if isinstance(field, _PLAIN) or field.primary_key:
        return lambda obj: getattr(obj, attname)
    if isinstance(field, models.DateTimeField):
        # The same moment in every record (created_at, updated_at): converted once.
        adapt, last = connection.ops.adapt_datetimefield_value, [object(), None]

        def moment(obj):
            value = getattr(obj, attname)
            if value is not last[0]:
                last[:] = [value, adapt(value)]
            return last[1]

        return moment
    if isinstance(field, models.DateField):
        adapt_date = connection.ops.adapt_datefield_value
        return lambda obj: adapt_date(getattr(obj, attname))
    # The connection itself, not its per-thread proxy, asked once.
    database = connections[DEFAULT_DB_ALIAS]
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), database)
