"""The outstanding table's counts per unit and year, stored (`models/tallies.py`), so that the
table of every year of a province reads some 44,000 stored rows instead of counting a million
records on each visit.

The stored counts answer only when the table counts every record of its kind that way — all
of them, or one year's — as an auditor's or an administrator's table does with no unit chosen;
a table narrowed to a user's units, or to a unit, counts its records (few) as before. They are
the same counts: `reports.counts.counts()` over the kind's `records()`, grouped by the unit the
reports count under and the year, as the table's own statement groups them.

Before they are read (`stored_cells`), they are brought up to date (`refresh`):

- the units the triggers marked since (an edit, an import, a merger) are counted again;
- on a new day, or when the list of counts changed, everything is counted again (about a
  second for a province): the jobs' worker does it in its housekeeping, so that a page rarely
  waits for it.

A refresh runs in one transaction under a lock (PostgreSQL: an advisory lock per kind; SQLite
takes its write lock at BEGIN): the marks it removes are the ones it read, and the records it
counts were committed before it read them, so a change committed meanwhile keeps its mark for
the next refresh.
"""

import datetime
import zlib
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router, transaction
from django.utils import timezone

from coordination import registry
from coordination.models.tallies import COUNT_COLUMNS, CountedCell, CountMark, CountState
from coordination.reports.counts import counts

#: Marked units above which everything is counted again (one pass, not thousands of lookups).
FULL_COUNT_UNITS = 400
#: The kinds the outstanding table counts (`reports.parameters.OutstandingForm`).
KINDS = ("followups", "tasks")


def value_names(kind, today: datetime.date) -> dict:
    """The counts of the outstanding table of `kind`, as `reports/outstanding.py` asks them."""
    return counts(kind.model, today, kind.report_counts)


@dataclass(frozen=True)
class StoredCells:
    """The SELECT of a kind's stored cells: unit_id, year, then the counts in order."""

    sql: str
    params: list
    #: The database to read them from.
    using: str


def stored_cells(kind, records, *, year, names, today) -> StoredCells | None:
    """The stored cells (unit_id, year, the counts `names`, in order) of `kind` — every year,
    or `year` — up to date for `today`, if `records` are every record of the kind (of that
    year); None when they are narrower (counted from the records).

    Read where `records` are read (an auditor's page: the replica, if there is one) when the
    counts there are fresh; otherwise brought up to date on the primary and read there."""
    if len(names) > COUNT_COLUMNS or kind.name not in KINDS:
        return None
    plain = kind.records().order_by()
    if year is not None:
        plain = plain.filter(year=year)
    try:
        if str(records.order_by().query) != str(plain.query):
            return None
    except (EmptyResultSet, FullResultSet):  # a filter matching nothing: not every record
        return None
    using = records.db
    if not is_fresh(kind, names, today, using=using):
        using = router.db_for_write(CountedCell)
        # One year's records are counted in a quarter of a second: a table of one year
        # counts them rather than wait for every year to be counted again (a new day, a
        # large import).
        if not refresh(kind, names, today, using=using, whole=year is None):
            return None
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(f"n{index}") for index in range(len(names)))
    sql = (
        f"SELECT {quote('unit_id')}, {quote('year')}, {columns} "
        f"FROM {quote(CountedCell._meta.db_table)} WHERE {quote('kind')} = %s"
    )
    params = [kind.name]
    if year is not None:
        sql += f" AND {quote('year')} = %s"
        params.append(year)
    return StoredCells(sql, params, using)


def is_fresh(kind, names, today: datetime.date, *, using: str) -> bool:
    """Whether `kind`'s stored counts on `using` are for `today` and these counts, with no
    unit marked since."""
    state = CountState.objects.using(using).filter(kind=kind.name).first()
    return (
        state is not None
        and state.counted_for == today
        and state.layout == "\n".join(names)
        and not CountMark.objects.using(using).filter(kind=kind.name).exists()
    )


def refresh_all(today: datetime.date | None = None) -> None:
    """Bring every kind's stored counts up to date (the jobs' worker's housekeeping)."""
    today = today or timezone.localdate()
    for name in KINDS:
        kind = registry.get(name)
        refresh(kind, value_names(kind, today), today, using=router.db_for_write(CountedCell))


class _Whole(Exception):
    """Everything would be counted again, and the caller did not want it."""


def refresh(kind, names, today: datetime.date, *, using: str, whole: bool = True) -> bool:
    """Count again the units marked since the last refresh, or everything on a new day.

    With `whole` false, leave the counts as they are rather than count everything again, and
    say so (False)."""
    layout = "\n".join(names)
    if is_fresh(kind, names, today, using=using):
        return True
    state = CountState.objects.using(using).filter(kind=kind.name).first()
    if not whole and (state is None or (state.counted_for, state.layout) != (today, layout)):
        return False
    connection = connections[using]
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One refresh of a kind at a time; the second finds the counts fresh. No JIT
                # (compiling the counts' expressions costs more than counting), and room for
                # the hash of 44,000 cells in memory.
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s), set_config('jit', 'off', true), "
                    "set_config('work_mem', '64MB', true)",
                    [zlib.crc32(f"coordination counts {kind.name}".encode())],
                )
            state = CountState.objects.using(using).filter(kind=kind.name).first()
            cursor.execute(
                f"DELETE FROM {CountMark._meta.db_table} WHERE kind = %s RETURNING unit_id",
                [kind.name],
            )
            units = {unit for (unit,) in cursor.fetchall() if unit is not None}
            everything = (
                state is None
                or state.counted_for != today
                or state.layout != layout
                or len(units) > FULL_COUNT_UNITS
            )
            if everything and not whole:
                raise _Whole  # the marks taken are put back
            cells = CountedCell.objects.using(using).filter(kind=kind.name)
            if everything:
                cells.delete()
            elif units:
                cells.filter(unit_id__in=units).delete()
            if everything or units:
                store(kind, names, cursor, None if everything else units, using=using)
            if state is None:
                CountState.objects.using(using).create(
                    kind=kind.name, counted_for=today, layout=layout
                )
            else:
                CountState.objects.using(using).filter(kind=kind.name).update(
                    counted_for=today, layout=layout
                )
    except _Whole:
        return False
    return True


def store(kind, names, cursor, units, *, using) -> None:
    """Count `kind`'s records of `units` (None: all) per unit and year, and store the rows,
    in one INSERT … SELECT (a province: 1.2 s; read and written back row by row, 2.7 s)."""
    unit_id = f"{kind.report_unit}_id"
    records = kind.records().using(using).order_by().filter(**{f"{unit_id}__isnull": False})
    if units is not None:
        records = records.filter(**{f"{unit_id}__in": units})
    select, params = (
        records.values(unit_id, "year").annotate(**names).query.get_compiler(using).as_sql()
    )
    columns = ", ".join(f"n{index}" for index in range(len(names)))
    cursor.execute(
        f"INSERT INTO {CountedCell._meta.db_table} (kind, unit_id, year, {columns}) "
        f"SELECT %s, counted.* FROM ({select}) counted",
        [kind.name, *params],
    )
