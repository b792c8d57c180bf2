"""The figures of a page of the outstanding table (`reports/outstanding.py`), counted by the
database in one statement.

A province's year is some 250,000 follow-up items. The statement reads them once, counting
them per unit and year (`cells`: the ORM's own query of the kind's FilterSet, with the counts
of `reports/counts.py`), and sums those cells for everything else the page shows:

- the page's rows, in the table's order — level (province, district, commune), locality and
  unit in Vietnamese order (the `vietnamese` collation, `coordination.collation`), latest year
  first — and the number of rows;
- the subtotal of each group (locality and level) on the page, over all its units;
- the grand total;
- the units with the most outstanding records for the chart, and how many units have any.

Plain SQL over the ORM's query, since the ORM has no common table expressions; the same on
SQLite and PostgreSQL. A second pass over the records would double the page's time. The units
are put in order first (a few thousand names compared by the collation), and the cells by
their unit's rank and year: sorting 44,000 cells by their units' names took 120 ms.
"""

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from coordination.choices import UnitLevel
from coordination.collation import COLLATION
from coordination.models import Unit
from coordination.reports.tallies import StoredCells


@dataclass
class OutstandingFigures:
    """What one page of the table shows, as the database counted it."""

    page: Page
    #: The counts of each (unit, year) row of the page, in the table's order.
    rows: list[dict]
    #: The subtotals of the page's groups, by (locality, level).
    groups: dict[tuple[str, str], dict]
    total: dict
    #: The chart's units, most outstanding first: unit_id, outstanding, overdue.
    chart: list[dict]
    #: How many units have anything outstanding.
    units_outstanding: int
    #: The unit of the row before the page, if any.
    before: int | None = None
    #: When the figures were counted, if they came from the cache.
    counted_at: datetime.datetime | None = None


def outstanding_figures(
    records: QuerySet,
    *,
    unit_field: str,
    value_names: dict,
    page,
    per_page: int,
    chart_units: int,
    stored: StoredCells | None = None,
    today: datetime.date | None = None,
) -> OutstandingFigures:
    """Every figure of one page of the table, in one statement over `records`.

    `records` are counted once, per unit and year (the `cells` of the statement, the ORM's
    own query); the page's rows, its groups' subtotals, the grand total and the chart's units
    are sums over those cells. A province's year is some 250,000 records: a second pass over
    them would double the page's time. The page number is clamped in the statement, as
    `Paginator.get_page` does (not a number: the first page; past the end: the last one).

    `stored` is the SQL of the same cells stored (`reports/tallies.py`), read instead of
    counting `records` when it is given; `today` is the day the counts are for.
    """
    try:
        number = max(int(page), 1)
    except (TypeError, ValueError):
        number = 1
    # Past any possible page: the last one (the statement clamps it).
    number = min(number, 10**9)
    names = list(value_names)
    unit_id = f"{unit_field}_id"
    if stored:
        cells_sql, cells_params, database = stored.sql, stored.params, stored.using
    else:
        cells_sql, cells_params = (
            records.values(unit_id, "year")
            .annotate(**value_names)
            .query.get_compiler(records.db)
            .as_sql()
        )
        database = records.db
    connection = connections[database]
    quote = connection.ops.quote_name
    unit_table = quote(Unit._meta.db_table)
    columns = ", ".join(quote(f"n_{index}") for index in range(len(names)))
    sums = ", ".join(f"SUM({quote(f'n_{index}')})" for index in range(len(names)))
    level_order = " ".join(
        f"WHEN u.{quote('level')} = %s THEN {index}" for index in range(len(UnitLevel.values))
    )
    collate = f"COLLATE {quote(COLLATION)}"
    outstanding = quote(f"n_{names.index('outstanding')}")
    overdue = quote(f"n_{names.index('overdue')}")
    # The chart's units: the most outstanding, then the most overdue; a tie at the cut goes
    # to the lower unit number, so that every page draws the same chart.
    # Every part of the UNION: (part, position, unit, year, locality, level, n, counts...);
    # the first part's columns are typed, and the chart's, a subquery's (PostgreSQL would
    # take their NULLs for text).
    number_null, text_null = "CAST(NULL AS BIGINT)", "CAST(NULL AS VARCHAR(255))"
    no_counts = ", ".join(["NULL"] * len(names))
    chart_sums = ", ".join(
        f"SUM({quote(f'n_{index}')})" if name in ("outstanding", "overdue") else number_null
        for index, name in enumerate(names)
    )
    sql = f"""
        WITH cells (unit_id, year, {columns}) AS ({cells_sql}),
        ranked AS (
            SELECT u.{quote("id")} AS unit_id, u.{quote("locality")} AS locality,
                u.{quote("level")} AS level,
                ROW_NUMBER() OVER (
                    ORDER BY CASE {level_order} ELSE {len(UnitLevel.values)} END,
                        u.{quote("locality")} {collate},
                        u.{quote("full_name")} {collate}, u.{quote("id")}
                ) AS unit_rank
            FROM {unit_table} u WHERE u.{quote("id")} IN (SELECT unit_id FROM cells)
        ),
        keyed AS (
            SELECT cells.*, ranked.locality, ranked.level,
                ROW_NUMBER() OVER (ORDER BY ranked.unit_rank, cells.year DESC) AS position
            FROM cells INNER JOIN ranked ON ranked.unit_id = cells.unit_id
        ),
        shown AS (
            SELECT CASE WHEN row_count = 0 THEN 1
                WHEN %s > (row_count + %s - 1) / %s THEN (row_count + %s - 1) / %s
                ELSE %s END AS number, row_count
            FROM (SELECT COUNT(*) AS row_count FROM cells) counted
        ),
        page AS (
            SELECT keyed.* FROM keyed, shown
            WHERE keyed.position >= (shown.number - 1) * %s
                AND keyed.position <= shown.number * %s
        )
        SELECT 'row', position, unit_id, year, locality, level, {number_null}, {columns}
        FROM page
        UNION ALL
        SELECT 'group', NULL, NULL, NULL, locality, level, NULL, {sums} FROM keyed
        WHERE EXISTS (
            SELECT 1 FROM page
            WHERE page.locality = keyed.locality AND page.level = keyed.level
        )
        GROUP BY locality, level
        UNION ALL
        SELECT 'total', (SELECT number FROM shown), NULL, NULL, NULL, NULL,
            (SELECT row_count FROM shown), {sums} FROM cells
        UNION ALL
        SELECT 'chart units', NULL, NULL, NULL, NULL, NULL, COUNT(*), {no_counts}
        FROM (SELECT unit_id FROM cells GROUP BY unit_id HAVING SUM({outstanding}) > 0) units
        UNION ALL
        SELECT * FROM (
            SELECT 'chart', {number_null}, unit_id, {number_null}, {text_null}, {text_null},
                {number_null}, {chart_sums}
            FROM cells GROUP BY unit_id HAVING SUM({outstanding}) > 0
            ORDER BY SUM({outstanding}) DESC, SUM({overdue}) DESC, unit_id
            LIMIT %s
        ) chart
    """
    params = [
        *cells_params,
        *UnitLevel.values,
        number,
        *[per_page] * 4,
        number,
        per_page,
        per_page,
        chart_units,
    ]
    # The same statement (the same filters, scope, day and page) within FIGURES_CACHE_SECONDS is
    # answered from the cache, and the page says when it was counted: every year of a
    # province is a million records, a second of counting.
    key = (
        "coordination:outstanding:"
        + hashlib.sha256(f"{database}\n{today}\n{sql}\n{params!r}".encode()).hexdigest()
    )
    seconds = settings.FIGURES_CACHE_SECONDS
    cached = cache.get(key) if seconds else None
    counted_at = None
    if cached is not None:
        results, counted_at = cached
    else:
        with transaction.atomic(using=database), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The statement's hundred-odd expressions cross PostgreSQL's JIT threshold,
                # and compiling them took 400 ms on a province, more than counting its records.
                # Every year of a province is some 44,000 unit × year cells: their hash table
                # and the page's sort spilled to disk under the default 4 MB work_mem (EXPLAIN:
                # five batches, 17 MB written per worker). Both for this transaction only.
                cursor.execute(
                    "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
                )
            cursor.execute(sql, params)
            results = cursor.fetchall()
        # Stored counts with changes not counted yet: the page says when they were counted.
        counted_at = stored.counted_at if stored else None
        if seconds:
            cache.set(key, (results, counted_at or timezone.now()), seconds)

    def counted(result) -> dict:
        return {name: int(value or 0) for name, value in zip(names, result[7:], strict=True)}

    rows, groups, chart = [], {}, []
    total, shown, count, before, units_outstanding = {}, 1, 0, None, 0
    for result in results:
        part = result[0]
        if part == "row":
            rows.append((result[1], {"unit_id": result[2], "year": result[3], **counted(result)}))
        elif part == "group":
            groups[result[4], result[5]] = counted(result)
        elif part == "total":
            shown, count, total = result[1], int(result[6] or 0), counted(result)
        elif part == "chart units":
            units_outstanding = int(result[6] or 0)
        else:
            chart.append({"unit_id": result[2], **counted(result)})
    rows.sort(key=lambda item: item[0])
    first = (shown - 1) * per_page + 1
    if rows and rows[0][0] < first:
        before = rows.pop(0)[1]["unit_id"]
    paginator = Paginator(range(count), per_page)
    return OutstandingFigures(
        page=paginator.page(shown),
        rows=[values for _position, values in rows],
        groups=groups,
        total=total,
        chart=chart,
        units_outstanding=units_outstanding,
        before=before,
        counted_at=counted_at,
    )
