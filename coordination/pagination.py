"""Pages that cost the same at any depth: OFFSET over primary keys, then the page's rows.

A page of `queryset[offset:offset + limit]` makes the database build every row it skips:
its joins and, worse, each row's subqueries (who changed the record last, from its history),
a million times on the last page of a province's follow-up items. `DeferredJoinPaginator`
selects the primary keys of the page in a subquery, in the list's order, and the rows with
their joins and annotations for those keys only (`WHERE id IN (SELECT id … LIMIT … OFFSET …)`,
a "deferred join"): the skipped rows cost an index walk, and a page is still one query, as
Django's own pages are.
"""

from collections.abc import Callable

from django.core.paginator import Paginator
from django.db.models import QuerySet


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
    ):
        if isinstance(object_list, QuerySet):
            object_list = totally_ordered(object_list)
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, error_messages)
        self.rows = rows

    def page(self, number):
        page = super().page(number)
        if isinstance(self.object_list, QuerySet):
            page.object_list = self.page_rows(page.object_list)
        return page

    def page_rows(self, sliced: QuerySet) -> QuerySet:
        """The rows of the page `sliced` (the list's queryset with OFFSET and LIMIT).

        One query: the rows whose ids the sliced query selects. That inner query has no joins
        or subqueries but those its filters and order need; the outer one builds the page's
        rows only, in the same total order.
        """
        queryset = self.object_list.filter(pk__in=sliced.values("pk"))
        return self.rows(queryset) if self.rows is not None else queryset


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
