"""Change history (django-simple-history), on the bulk paths as on save().

`save()` and `delete()` record history through simple-history's signals, with the user the
HistoryRequestMiddleware knows. Imports and admin actions write with bulk statements that
send no signals; they call `record_history()`, which copies the rows just written into the
history table with one INSERT … SELECT per 5,000 records, so history costs a few queries
however many rows change, and holds exactly what was stored.
"""

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

CREATED, CHANGED = "+", "~"
BATCH = 5000


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
    for start in range(0, len(pks), BATCH):
        batch = pks[start : start + BATCH]
        placeholders = ", ".join(["%s"] * len(batch))
        sql = (
            f"INSERT INTO {quote(history_model._meta.db_table)} "
            f"({', '.join(map(quote, columns))}, {quote('history_date')}, "
            f"{quote('history_change_reason')}, {quote('history_type')}, "
            f"{quote('history_user_id')}) "
            f"SELECT {', '.join(map(quote, columns))}, %s, %s, %s, %s "
            f"FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} IN ({placeholders})"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [now, reason[:100], history_type, getattr(user, "pk", None), *batch]
            )
