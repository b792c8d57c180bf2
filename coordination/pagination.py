"""Pages that cost the same at any depth: OFFSET over primary keys, then the page's rows.

A page of `queryset[offset:offset + limit]` makes the database build every row it skips:
its joins and, worse, each row's subqueries (who changed the record last, from its history),
a million times on the last page of a province's follow-up items. `DeferredJoinPaginator`
selects the primary keys of the page in a subquery, in the list's order, and the rows with
their joins and annotations for those keys only (`WHERE id = ANY(ARRAY(SELECT id … LIMIT …
OFFSET …))` on PostgreSQL, `id IN (…)` on SQLite: a "deferred join"): the skipped rows cost an
index walk, and a page is still one query, as Django's own pages are.

A page nearer the end than the start is read from the end, in the reverse order: the last
page costs what the first does. A list sorted by a column the user chose (one no index may
order) is paged `max_depth` rows deep from either end; a page between is not served — the
nearest one that is, with `clamped` set for the page to say why.

A long list's count (`CACHED_COUNT_FROM` rows or more: a COUNT(*) over a province's million
items costs about 0.1 s of both cores) is kept for `settings.FIGURES_CACHE_SECONDS` in
Django's cache, keyed by its SQL: paging through a list counts it once. `counted_at` is
then when it was counted, for the page to say so; a short list is always counted exactly.
"""

import datetime
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.core.paginator import Paginator
from django.db import router
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from coordination.db_functions import AmongIds
from coordination.scoping import scoped_count, without_scope

#: How deep, in rows from either end, a list in an order the user chose may be paged: an
#: OFFSET in an order no index gives sorts the rows it skips (5,000 rows: 100 pages of 50).
SORTED_DEPTH = 5_000
#: A count of at least this many rows is kept in the cache for FIGURES_CACHE_SECONDS.
CACHED_COUNT_FROM = 10_000


class DeferredJoinPaginator(Paginator):
    """A Paginator whose pages select the page's ids, then the rows of those ids only.

    `rows`, if given, turns the queryset into the one that loads a page's rows (annotations
    only the shown rows need, such as `history.with_last_change`); the count and the ids
    come from the queryset as given. The order is made total (the primary key breaks ties),
    so that OFFSET finds the same rows each time and no row is on two pages. A list that is
    not a queryset is paged as Django pages it.
    """

    def __init__(
        self,
        object_list,
        per_page,
        orphans=0,
        allow_empty_first_page=True,
        error_messages=None,
        *,
        rows: Callable[[QuerySet], QuerySet] | None = None,
        max_depth: int | None = None,
    ):
        if isinstance(object_list, QuerySet):
            object_list = totally_ordered(object_list)
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, error_messages)
        self.rows = rows
        self.max_depth = max_depth
        #: (the page asked for, the page served) when the page asked for was too deep.
        self.clamped: tuple[int, int] | None = None
        #: When the count was made, if it came from the cache.
        self.counted_at: datetime.datetime | None = None

    @cached_property
    def count(self):
        if not isinstance(self.object_list, QuerySet):
            return super().count
        key = count_key(self.object_list)
        seconds = settings.FIGURES_CACHE_SECONDS
        cached = cache.get(key) if key and seconds else None
        if cached is not None:
            count, self.counted_at = cached
            return count
        # A unit's scope is counted path by path, each from its index.
        count = scoped_count(self.object_list)
        if key and seconds and count >= CACHED_COUNT_FROM:
            cache.set(key, (count, timezone.now()), seconds)
        return count

    def page(self, number):
        if not isinstance(self.object_list, QuerySet):
            return super().page(number)
        number = self.within_depth(self.validate_number(number))
        bottom, top = self.bounds(number)
        if bottom > self.count - top:
            # Nearer the end: the rows from the end, in the reverse order.
            sliced = self.object_list.reverse()[self.count - top : self.count - bottom]
        else:
            sliced = self.object_list[bottom:top]
        return self._get_page(self.page_rows(sliced), number, self)

    def bounds(self, number: int) -> tuple[int, int]:
        """The offsets of the first row of page `number` and of the row after its last."""
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return bottom, top

    def within_depth(self, number: int) -> int:
        """`number`, or the nearest page within `max_depth` rows of either end."""
        if self.max_depth is None:
            return number
        bottom, top = self.bounds(number)
        if min(bottom, self.count - top) < self.max_depth:
            return number
        from_start = max(1, self.max_depth // self.per_page)
        from_end = max(from_start, self.num_pages - from_start + 1)
        served = from_start if number - from_start <= from_end - number else from_end
        self.clamped = (number, served)
        return served

    def page_rows(self, sliced: QuerySet) -> QuerySet:
        """The rows of the page `sliced` (the list's queryset with OFFSET and LIMIT).

        One query: the rows whose ids the sliced query selects. That inner query has no joins
        or subqueries but those its filters and order need; the outer one builds the page's
        rows only, in the same total order.
        """
        # The ids are the scoped list's: the page's rows need not be scoped again. They are
        # one array on PostgreSQL (`AmongIds`: `id = ANY(ARRAY(SELECT … LIMIT 50))`), which
        # the planner reads by the primary key: `id IN (SELECT …)` let it start from the
        # list's other filters instead, a search's trigram index over the whole table for
        # fifty rows (4 s under load).
        queryset = without_scope(self.object_list).filter(AmongIds(F("pk"), sliced.values("pk")))
        return self.rows(queryset) if self.rows is not None else queryset


def count_key(queryset: QuerySet) -> str | None:
    """The cache key of the queryset's count: its database and its SQL with the values, so
    that two users with different scopes or filters never share one."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except (EmptyResultSet, FullResultSet):  # nothing to ask: counted, not cached
        return None
    alias = router.db_for_read(queryset.model)
    digest = hashlib.sha256(f"{alias}\n{sql}\n{params!r}".encode()).hexdigest()
    return f"coordination:count:{digest}"


def totally_ordered(queryset: QuerySet) -> QuerySet:
    """`queryset` in its own order, with the primary key last unless it is already there."""
    query = queryset.query
    if query.order_by:
        ordering = list(query.order_by)
    elif query.default_ordering:
        ordering = list(queryset.model._meta.ordering)
    else:
        ordering = []
    pk = queryset.model._meta.pk
    names = {"pk", pk.name, pk.attname}
    if any(isinstance(key, str) and key.lstrip("-") in names for key in ordering):
        return queryset
    return queryset.order_by(*ordering, "pk")
