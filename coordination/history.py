"""Change history (django-simple-history), on the bulk paths as on save().

`save()` and `delete()` record history through simple-history's signals, with the user the
HistoryRequestMiddleware knows. Imports and admin actions write with bulk statements that
send no signals; they call `record_history()`, which copies the rows just written into the
history table with one INSERT … SELECT per 5,000 records, so history costs a few queries
however many rows change, and holds exactly what was stored.

Agreements keep their parties and tasks their coordinating units in each entry (simple-
history's `m2m_fields`): `record_history()` copies those links too, and the admin records
one entry per save, after the related sets are saved (see `coordination.admin.base.HistoryAdmin`),
instead of one for the record and one more for each change of a set.
"""

from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone
from simple_history.models import HistoricalRecords

CREATED, CHANGED = "+", "~"
BATCH = 5000


def unindexed_entry_fields(*links: str) -> list[str]:
    """The fields of a history table to leave without an index of their own (simple-
    history's `no_db_index`): its record id, which the (id, history_date, history_id) index
    of migration 0028 serves, and its links to other records, which no page asks for. Each
    index is written by every entry: an import of 30,000 follow-up items wrote seven of them
    for nothing."""
    return ["id", *links]


def has_history(model) -> bool:
    return hasattr(model, "history") and hasattr(model.history, "model")


def record_history(
    model, pks: Iterable[int], *, history_type: str, user=None, reason: str = ""
) -> None:
    """Add one history entry per record of `model` in `pks`, as the database now stores it."""
    if not has_history(model):
        return
    pks = sorted(set(pks))
    if not pks:
        return
    history_model = model.history.model
    quote = connection.ops.quote_name
    columns = [field.column for field in history_model.tracked_fields]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    links = m2m_fields(model)
    for start in range(0, len(pks), BATCH):
        batch = pks[start : start + BATCH]
        in_batch, batch_params = pk_in(batch)
        # The entries this batch adds are those of its records past the last entry now: the
        # links are copied for them alone (a range of the primary key), not for every entry
        # of this moment. No one else adds an entry of these records meanwhile: the caller
        # has written them in this transaction, which holds their rows (or made them).
        last_entry = last_history_id(history_model) if links else None
        sql = (
            f"INSERT INTO {quote(history_model._meta.db_table)} "
            f"({', '.join(map(quote, columns))}, {quote('history_date')}, "
            f"{quote('history_change_reason')}, {quote('history_type')}, "
            f"{quote('history_user_id')}) "
            f"SELECT {', '.join(map(quote, columns))}, %s, %s, %s, %s "
            f"FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} {in_batch}"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [now, reason[:100], history_type, getattr(user, "pk", None), *batch_params]
            )
        for m2m_field in links:
            copy_links(
                history_model,
                HistoricalRecords.m2m_models[m2m_field],
                m2m_field,
                f"h.{quote('history_id')} > %s AND h.{quote('id')} {in_batch}",
                [last_entry, *batch_params],
            )


def last_history_id(history_model) -> int:
    """The id of the latest entry of `history_model` (0 if none): ids only grow, so the
    entries added after this read have greater ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX({connection.ops.quote_name('history_id')}) "
            f"FROM {connection.ops.quote_name(history_model._meta.db_table)}"
        )
        return cursor.fetchone()[0] or 0


def pk_in(pks: list[int]) -> tuple[str, list]:
    """SQL and parameters for "column is one of `pks`": one array parameter on PostgreSQL
    (psycopg would otherwise parse a statement of thousands of placeholders on every call),
    a list of placeholders elsewhere."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [list(pks)]
    return f"IN ({', '.join(['%s'] * len(pks))})", list(pks)


@contextmanager
def one_entry(obj, history_type: str, *, user=None, reason: str = ""):
    """Save `obj` and its related sets inside the block with one history entry, written at
    the end and holding the sets, instead of one per save() and per change of a set."""
    obj.skip_history_when_saving = True
    try:
        yield obj
    finally:
        del obj.skip_history_when_saving
    record_history(type(obj), [obj.pk], history_type=history_type, user=user, reason=reason)


def skip_history_of_fixture_rows(sender, instance, raw=False, **kwargs):
    """`loaddata` saves rows as they are (raw) and then sets their many-to-many links, which
    simple-history would record as a new change dated today. A fixture carries its history
    rows itself: record nothing for the rows it loads."""
    if raw and has_history(sender):
        instance.skip_history_when_saving = True


def m2m_fields(model) -> list:
    """The many-to-many fields whose links each history entry of `model` keeps."""
    return list(getattr(model.history.model, "_history_m2m_fields", ()))


def copy_links(history_model, links_model, m2m_field, where: str, params) -> None:
    """Copy the current links of `m2m_field` into `links_model` for the history entries of
    `history_model` (alias `h`) that `where` selects and that hold no links yet."""
    quote = connection.ops.quote_name
    through = m2m_field.remote_field.through
    owner = through._meta.get_field(m2m_field.m2m_field_name()).column
    columns = [
        model_field.column
        for model_field in links_model._meta.concrete_fields
        if model_field.name not in ("m2m_history_id", "history")
    ]
    history_id = links_model._meta.get_field("history").column
    links_table = quote(links_model._meta.db_table)
    sql = (
        f"INSERT INTO {links_table} ({', '.join(map(quote, columns))}, {quote(history_id)}) "
        f"SELECT {', '.join('t.' + quote(column) for column in columns)}, h.{quote('history_id')} "
        f"FROM {quote(through._meta.db_table)} t "
        f"JOIN {quote(history_model._meta.db_table)} h ON h.{quote('id')} = t.{quote(owner)} "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM {links_table} l "
        f"WHERE l.{quote(history_id)} = h.{quote('history_id')})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def with_last_change(queryset: QuerySet) -> QuerySet:
    """Annotate who changed each record last and when, from its history (one subquery)."""
    history = queryset.model.history.model.objects.filter(id=OuterRef("pk")).order_by(
        "-history_date", "-history_id"
    )
    return queryset.annotate(
        last_changed_at=Subquery(history.values("history_date")[:1]),
        last_changed_by=Subquery(history.values("history_user__username")[:1]),
        last_changed_by_name=Subquery(
            history.annotate(
                name=Concat(
                    "history_user__last_name",
                    Value(" "),
                    "history_user__first_name",
                    output_field=CharField(),
                )
            ).values("name")[:1]
        ),
    )
