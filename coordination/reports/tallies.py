"""The outstanding table's counts per unit and year, stored (`models/tallies.py`), so that the
table of every year of a province reads some 44,000 stored rows instead of counting a million
records on each visit.

The stored counts answer only when the table counts every record of its kind that way — all
of them, or one year's — as an auditor's or an administrator's table does with no unit chosen;
a table narrowed to a user's units, or to a unit, counts its records (few) as before. They are
the same counts: `reports.counts.counts()` over the kind's `records()`, grouped by the unit the
reports count under and the year, as the table's own statement groups them.

Before they are read (`stored_cells`), they are brought up to date (`refresh`):

- the units the triggers marked since (an edit, an import, a merger) are counted again — by
  a page at most once per FIGURES_CACHE_SECONDS, and never while another process counts
  them: meanwhile the counts are read as they are, and the page says when they were counted;
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
from datetime import timedelta

from django.conf import settings
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
    #: When they were counted, if units were marked since (changes not counted yet).
    counted_at: datetime.datetime | None = None


@dataclass(frozen=True)
class Standing:
    """A kind's stored counts on a database: their state, and whether units were marked."""

    state: CountState | None
    marked: bool

    def valid(self, names, today: datetime.date) -> bool:
        """Counted for `today` and for these counts (marked units aside)."""
        return self.state is not None and (self.state.counted_for, self.state.layout) == (
            today,
            "\n".join(names),
        )

    def recent(self) -> bool:
        """Counted again within FIGURES_CACHE_SECONDS: as fresh as the table's cache."""
        seconds = settings.FIGURES_CACHE_SECONDS
        refreshed = self.state and self.state.refreshed_at
        return bool(
            seconds and refreshed and timezone.now() - refreshed < timedelta(seconds=seconds)
        )


def standing(kind, *, using: str) -> Standing:
    return Standing(
        CountState.objects.using(using).filter(kind=kind.name).first(),
        CountMark.objects.using(using).filter(kind=kind.name).exists(),
    )


def stored_cells(kind, records, *, year, names, today) -> StoredCells | None:
    """The stored cells (unit_id, year, the counts `names`, in order) of `kind` — every year,
    or `year` — for `today`, if `records` are every record of the kind (of that year); None
    when they are narrower (counted from the records).

    Read where `records` are read (an auditor's page: the replica, if there is one). Units
    marked since the last count are counted again first (on the primary), unless that count
    is younger than the table's cache (FIGURES_CACHE_SECONDS) or another process is counting
    right now: then the cells are read as they are, and the page says when they were counted,
    as it does for figures from the cache. Under a stream of imports the jobs' worker and at
    most one page a minute count, not every visit."""
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
    now = standing(kind, using=using)
    valid = now.valid(names, today)
    if valid and now.marked and now.recent():
        return select_cells(kind, names, year, using, counted_at=now.state.refreshed_at)
    if not (valid and not now.marked):
        primary = router.db_for_write(CountedCell)
        # One year's records are counted in a quarter of a second: a table of one year
        # counts them rather than wait for every year to be counted again (a new day, a
        # large import). With valid counts, a page does not wait for another's count.
        outcome = refresh(
            kind,
            names,
            today,
            using=primary,
            whole=year is None,
            wait=not valid,
            standing_now=now if using == primary else None,
        )
        if outcome == BUSY:
            return select_cells(kind, names, year, using, counted_at=now.state.refreshed_at)
        if outcome != DONE:
            return None
        using = primary
    return select_cells(kind, names, year, using)


def select_cells(kind, names, year, using, *, counted_at=None) -> StoredCells:
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
    return StoredCells(sql, params, using, counted_at)


def refresh_all(today: datetime.date | None = None) -> None:
    """Bring every kind's stored counts up to date (the jobs' worker's housekeeping)."""
    today = today or timezone.localdate()
    for name in KINDS:
        kind = registry.get(name)
        refresh(kind, value_names(kind, today), today, using=router.db_for_write(CountedCell))


#: What `refresh` did: counted what was marked (or nothing was), found another process
#: counting (and did not wait), or left everything to count to another time.
DONE, BUSY, DEFERRED = "done", "busy", "deferred"


class _NotNow(Exception):
    """The refresh is not to be done now: `outcome` says why."""

    def __init__(self, outcome: str):
        self.outcome = outcome


def refresh(
    kind,
    names,
    today: datetime.date,
    *,
    using: str,
    whole: bool = True,
    wait: bool = True,
    standing_now: "Standing | None" = None,
) -> str:
    """Count again the units marked since the last refresh, or everything on a new day.

    With `whole` false, leave the counts as they are rather than count everything again
    (DEFERRED); with `wait` false, rather than wait for another process counting the same
    kind (BUSY, PostgreSQL). `standing_now` is the kind's standing on `using` if the caller
    has just read it."""
    layout = "\n".join(names)
    now = standing_now or standing(kind, using=using)
    if now.valid(names, today) and not now.marked:
        return DONE
    if not whole and not now.valid(names, today):
        return DEFERRED
    connection = connections[using]
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One refresh of a kind at a time; the second finds the counts fresh. No JIT
                # (compiling the counts' expressions costs more than counting), and room for
                # the hash of 44,000 cells in memory.
                lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
                cursor.execute(
                    f"SELECT {lock}(%s), set_config('jit', 'off', true), "
                    "set_config('work_mem', '64MB', true)",
                    [zlib.crc32(f"coordination counts {kind.name}".encode())],
                )
                if cursor.fetchone()[0] is False:
                    raise _NotNow(BUSY)
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
                raise _NotNow(DEFERRED)  # the marks taken are put back
            cells = CountedCell.objects.using(using).filter(kind=kind.name)
            if everything:
                cells.delete()
            elif units:
                cells.filter(unit_id__in=units).delete()
            if everything or units:
                store(kind, names, cursor, None if everything else units, using=using)
            written = {"counted_for": today, "layout": layout, "refreshed_at": timezone.now()}
            if state is None:
                CountState.objects.using(using).create(kind=kind.name, **written)
            else:
                CountState.objects.using(using).filter(kind=kind.name).update(**written)
    except _NotNow as not_now:
        return not_now.outcome
    return DONE


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
