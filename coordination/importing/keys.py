"""Finding records by a file's own keys: a few queries whatever the size of the table.

An import compares each row's natural key with the records'. Loading every record that
shares a year, a unit or a kind with some row, to compare keys in Python, reads most of a
province's table for a file that spans many units and years; instead each query here sends
the file's keys themselves, `(a, b, c) IN (VALUES (...), ...)`, which both databases answer
from an index on the key's columns, a few thousand keys per query.

Text compares by a prefix of its lower-cased form (`KEY_PREFIX` characters), a long text (a
task's or follow-up item's content) by a hash of it (`ContentKey`): the expressions the
natural-key indexes are built on (migrations 0020, 0031, 0033; a key part an index leaves out,
the follow-up item's kind, is compared on the row). The query may return a record whose text
only begins like a row's (or shares its hash), never misses one, and the caller compares the
whole keys.
"""

from django.db import connection, models
from django.db.models import Expression, F

from coordination.db_functions import (
    KEY_PREFIX,
    ContentKey,
    content_key,
    key_prefix,
    number_key_prefix,
)
from coordination.widgets.names import agreement_key

#: Keys per query on PostgreSQL (SQLite: as many as its parameter limit allows).
KEYS_PER_QUERY = 10000


def text_key(value: str) -> str:
    """The file's side of `key_prefix`."""
    return value.lower()[:KEY_PREFIX]


class KeysIn(Expression):
    """A condition for `QuerySet.filter()`: `model`'s records whose `expressions` equal one of
    `keys`.

    SQLite: the keys (`VALUES`) CROSS JOIN the table, which keeps the keys outside and looks
    each one up in the index (`(expression, ...) IN (VALUES ...)` read the whole table, testing
    each record against the list). PostgreSQL plans such a join by its guess of the rows
    behind each key and may read the whole table (a merge join over a million rows, 86 s);
    there each key is looked up on its own, in a LATERAL subquery that `OFFSET 0` keeps
    from being merged into a join, and the records found are then read by primary key. The
    keys go as one array per part (`unnest`): binding 20,000 parameters one by one cost more
    than the lookups.
    """

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, model, expressions, keys):
        super().__init__()
        self.model = model
        self.expressions = list(expressions)
        self.keys = [tuple(key) for key in keys]

    def get_source_expressions(self):
        return self.expressions

    def set_source_expressions(self, expressions):
        self.expressions = list(expressions)

    def compile_parts(self, compiler):
        parts, params = [], []
        for expression in self.expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        return parts, params

    def values(self) -> tuple[str, list]:
        row = "(" + ", ".join(["%s"] * len(self.expressions)) + ")"
        return ", ".join([row] * len(self.keys)), [v for key in self.keys for v in key]

    def as_sql(self, compiler, connection):
        parts, params = self.compile_parts(compiler)
        values, value_params = self.values()
        return f"({', '.join(parts)}) IN (VALUES {values})", [*params, *value_params]

    def as_sqlite(self, compiler, connection):
        parts, params = self.compile_parts(compiler)
        values, value_params = self.values()
        quote = connection.ops.quote_name
        table, pk = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
        # CROSS JOIN keeps SQLite's join order: the keys outside, one index search each.
        conditions = " AND ".join(
            f"{part} = key.column{i}" for i, part in enumerate(parts, start=1)
        )
        sql = (
            f"{table}.{pk} IN (SELECT {table}.{pk} FROM (VALUES {values}) AS key "
            f"CROSS JOIN {table} WHERE {conditions})"
        )
        return sql, [*value_params, *params]

    def as_postgresql(self, compiler, connection):
        parts, params = self.compile_parts(compiler)
        quote = connection.ops.quote_name
        table, pk = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
        names = [f"k{i}" for i in range(len(parts))]
        # One array per part of the key (a few parameters, however many keys).
        arrays = ", ".join(
            f"%s::{expression.output_field.db_type(connection)}[]"
            for expression in self.expressions
        )
        columns = [list(column) for column in zip(*self.keys, strict=True)]
        conditions = " AND ".join(
            f"{part} = key.{name}" for part, name in zip(parts, names, strict=True)
        )
        sql = (
            f"{table}.{pk} = ANY(ARRAY(SELECT found.id FROM unnest({arrays}) "
            f"AS key({', '.join(names)}) CROSS JOIN LATERAL (SELECT {table}.{pk} AS id "
            f"FROM {table} WHERE {conditions} OFFSET 0) AS found))"
        )
        return sql, [*columns, *params]


def keys_per_query(width: int) -> int:
    """How many keys of `width` values one query may send."""
    if connection.vendor == "sqlite":
        limit = connection.features.max_query_params or 999
        # Leave room for the parameters of the rest of the query (scope, text functions).
        return max(1, (limit - 200) // width)
    return KEYS_PER_QUERY


def chunks(keys: list, size: int):
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def filter_by_keys(queryset, expressions: list, keys) -> list:
    """The querysets (one per chunk of keys) of `queryset`'s records whose `expressions`
    equal one of `keys`: a few queries, each answered from the keys' index."""
    keys = sorted(set(keys), key=repr)
    if not keys:
        return []
    return [
        queryset.filter(KeysIn(queryset.model, expressions, chunk))
        for chunk in chunks(keys, keys_per_query(len(expressions)))
    ]


def key_expression(model_field, widget):
    """(SQL expression, function giving a cleaned cell's value for it) for one part of a
    natural key: its column itself, or for text its lower-cased prefix."""
    if model_field.is_relation:
        target = model_field.target_field

        def related(value):
            if isinstance(value, models.Model):
                value = value.pk
            if isinstance(value, int):
                return value
            return target.get_db_prep_value(value, connection)

        return F(model_field.attname), related
    if isinstance(model_field, models.TextField):
        return ContentKey(F(model_field.attname)), content_key
    if isinstance(model_field, models.CharField) and not model_field.choices:
        if getattr(widget, "compares_without_whitespace", False):
            return number_key_prefix(F(model_field.attname)), (
                lambda value: agreement_key(value)[:KEY_PREFIX]
            )
        return key_prefix(F(model_field.attname)), text_key

    def plain(value):
        # Numbers and text go as they are (asking the field costs more than the query).
        if isinstance(value, int | str) and not isinstance(value, bool):
            return value
        return model_field.get_db_prep_value(value, connection)

    return F(model_field.attname), plain
