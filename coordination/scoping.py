"""Which units' records a user may touch: everything, or the records of their own units."""

from django.db.models import F, ManyToManyField, Q, QuerySet
from django.db.models.sql.where import AND, OR, WhereNode
from django.utils.translation import gettext as _

from coordination import registry
from coordination.db_functions import AmongReadIds
from coordination.models import Person, Unit, UnitMember

MANAGE_ALL_UNITS = "coordination.manage_all_units"
VIEW_ALL_UNITS = "coordination.view_all_units"


def owning_paths(model) -> tuple[str, ...]:
    """The paths to the units whose staff may change a record of `model` (its kind's)."""
    kind = registry.for_model(model)
    return kind.owning_units if kind else ("pk",)


def involving_paths(model) -> tuple[str, ...] | None:
    """The paths to every unit a record of `model` involves; None for a model of no kind."""
    kind = registry.for_model(model)
    return kind.involving if kind else None


def allowed_unit_ids(user) -> set[int] | None:
    """None when the user may change every unit's records, else the ids of their units."""
    if user.is_superuser or user.has_perm(MANAGE_ALL_UNITS):
        return None
    return member_unit_ids(user)


def visible_unit_ids(user) -> set[int] | None:
    """None when the user may read every unit's records (auditors), else their units' ids."""
    if user.is_superuser or user.has_perm(MANAGE_ALL_UNITS) or user.has_perm(VIEW_ALL_UNITS):
        return None
    return member_unit_ids(user)


def member_unit_ids(user) -> set[int]:
    """The user's units, asked once per user object (that is, once per request)."""
    cached = getattr(user, "_coordination_unit_ids", None)
    if cached is None:
        cached = set(UnitMember.objects.filter(user=user).values_list("unit_id", flat=True))
        user._coordination_unit_ids = cached
    return set(cached)


def involving_units(queryset: QuerySet, unit_ids, paths=None) -> QuerySet:
    """The records of `queryset` that involve any of `unit_ids`, each once.

    One condition per path, all on the record's own row and ORed: a unit column is compared
    with the ids; a many-valued path (coordinating units) becomes the ids of the records its
    link table names for those units, read first (`AmongReadIds`). So each path is answered by its
    own index (the record's unit column, the link table's unit column), PostgreSQL ORs them
    and ANDs them with the list's other filters (year, status) on the record's indexes, and
    no join can repeat a record. The former `pk IN (SELECT … LEFT JOIN links … WHERE unit IN
    … OR link.unit IN …)` read every record and link of the province for every list.
    """
    paths = paths or involving_paths(queryset.model)
    unit_ids = sorted(set(unit_ids))
    if not unit_ids:
        return queryset.none()
    condition = Q()
    for path in paths:
        condition |= _involving(queryset.model, path, unit_ids)
    scoped = _without_implied_scope(queryset, unit_ids, paths).filter(condition)
    clause = scoped.query.where.children[-1] if scoped.query.where.children else None
    if type(clause) is WhereNode and clause.connector == OR and len(clause) == len(paths):
        # The clause just added, marked so that `scoped_count` finds it after other filters,
        # with what it asks, so that a narrower one replaces it.
        clause.__class__ = ScopeNode
        clause.unit_ids, clause.paths = set(unit_ids), set(paths)
    return scoped


def _without_implied_scope(queryset: QuerySet, unit_ids, paths) -> QuerySet:
    """`queryset` without an earlier scope that the one about to be added implies: a user's
    units by every path, then one of those units by some of the paths (unit staff's report of
    their own unit). Its OR would make the database read the records of the links' path only
    to drop them again (a big unit's ten thousand coordinated tasks)."""
    where = queryset.query.where
    if where.connector != AND or where.negated:
        return queryset
    implied = [
        child
        for child in where.children
        if isinstance(child, ScopeNode)
        and set(unit_ids) <= child.unit_ids
        and set(paths) <= child.paths
    ]
    if not implied:
        return queryset
    clone = queryset.all()
    clone.query.where.children = [
        child for child in clone.query.where.children if child not in implied
    ]
    return clone


class ScopeNode(WhereNode):
    """The condition `involving_units` adds to a query: the OR of its paths, and the units
    and paths it asks for (kept by the query's clones)."""

    unit_ids: set = frozenset()
    paths: set = frozenset()

    def clone(self):
        clone = super().clone()
        clone.unit_ids, clone.paths = self.unit_ids, self.paths
        return clone


def without_scope(queryset: QuerySet) -> QuerySet:
    """`queryset` without the scopes `involving_units` added to it: for the query that loads
    a page's rows by the ids an already scoped query chose."""
    where = queryset.query.where
    if where.connector != AND or where.negated:
        return queryset
    if not any(isinstance(child, ScopeNode) for child in where.children):
        return queryset
    clone = queryset.all()
    clone.query.where.children = [
        child for child in clone.query.where.children if not isinstance(child, ScopeNode)
    ]
    return clone


def scoped_count(queryset: QuerySet) -> int:
    """`queryset.count()`, counted path by path when the records are those involving some
    units by two paths (a follow-up item's responsible or co-responsible units).

    |A ∪ B| = |A| + |B| − |A ∩ B|: the records whose unit column names the units come from
    that column's index alone (an index-only scan: no row of the table is read), those the
    link table names are few; the OR of both can only be counted row by row, every row of a
    big unit's forty thousand read from the table.
    """
    paths = _scope_paths(queryset)
    if paths is None or len(paths) != 2:
        return queryset.count()
    first, second = paths
    return (
        _narrowed(queryset, [first]).count()
        + _narrowed(queryset, [second]).count()
        - _narrowed(queryset, [first, second]).count()
    )


def _narrowed(queryset: QuerySet, conditions: list) -> QuerySet:
    """`queryset` with its scope's clause replaced by all of `conditions`."""
    clone = queryset.all()
    children = clone.query.where.children
    index = next(i for i, child in enumerate(children) if isinstance(child, ScopeNode))
    children[index] = WhereNode(conditions, AND)
    return clone


def _scope_paths(queryset: QuerySet) -> list | None:
    """The conditions of the scope's paths, when `queryset` is a plain query scoped by
    `involving_units` over several paths; None otherwise."""
    query = queryset.query
    where = query.where
    scopes = [child for child in where.children if isinstance(child, ScopeNode)]
    plain = not (query.is_sliced or query.combinator or query.distinct or query.group_by)
    if not plain or where.connector != AND or where.negated or len(scopes) != 1:
        return None
    return list(scopes[0].children) if len(scopes[0]) > 1 else None


def scoped_counts(queryset: QuerySet, **counts) -> dict[str, int]:
    """`queryset.aggregate(**counts)` of `Count` aggregates, counted path by path as
    `scoped_count` does (a unit's overdue and near-due records on its landing page)."""
    paths = _scope_paths(queryset)
    if paths is None or len(paths) != 2:
        return queryset.aggregate(**counts)
    first, second = paths
    parts = [
        _narrowed(queryset, conditions).aggregate(**counts)
        for conditions in ([first], [second], [first, second])
    ]
    return {name: parts[0][name] + parts[1][name] - parts[2][name] for name in counts}


def scoped_first(queryset: QuerySet, order: list[str], rows: int) -> QuerySet:
    """The first `rows` records of `queryset` in `order` (fields, ascending, never NULL in
    the rows asked for, the last one unique), read path by path: each path's first `rows` by
    its own index, then the first of those. A big unit's ten longest-overdue items among ten
    thousand, without sorting them all (its landing page)."""
    paths = _scope_paths(queryset)
    if paths is None:
        return queryset.order_by(*order)[:rows]
    candidates = set()
    for condition in paths:
        first = _narrowed(queryset, [condition]).order_by(*order).values_list(*order)[:rows]
        candidates.update(first)
    pks = [values[-1] for values in sorted(candidates)[:rows]]
    return queryset.filter(pk__in=pks).order_by(*order)


def _involving(model, path: str, unit_ids: list[int]):
    """The condition "the unit(s) at `path` from `model` include one of `unit_ids`", on the
    record's own columns (or those of a record it points to), never joining a many-valued
    relation."""
    names = path.split("__")
    prefix = []
    for index, name in enumerate(names):
        if name == "pk":
            break
        model_field = model._meta.get_field(name)
        if model_field.many_to_many or model_field.one_to_many:
            rest = names[index + 1 :]
            column = "__".join(prefix) or "pk"
            return AmongReadIds(F(column), _holding(model_field, rest, unit_ids))
        prefix.append(name)
        model = model_field.related_model
    return Q(**{f"{path}__in": unit_ids})


def _holding(model_field, rest: list[str], unit_ids: list[int]) -> QuerySet:
    """The ids of the records (of `model_field`'s model) whose many-valued `model_field`,
    then `rest`, reaches one of `unit_ids`: from the link table alone when it links to the
    units themselves."""
    if isinstance(model_field, ManyToManyField) and not rest:
        through = model_field.remote_field.through
        source, target = model_field.m2m_field_name(), model_field.m2m_reverse_field_name()
        return through._base_manager.filter(**{f"{target}__in": unit_ids}).values(source)
    # Any other many-valued path (a reverse relation, or units further on): a subquery that
    # may name a record twice, which an "is among" condition does not mind.
    lookup = "__".join([model_field.name, *rest, "in"])
    return model_field.model._base_manager.filter(**{lookup: unit_ids}).values("pk")


def _is_multivalued(model, path: str) -> bool:
    for name in path.split("__"):
        if name == "pk":
            return False
        model_field = model._meta.get_field(name)
        if model_field.many_to_many or model_field.one_to_many:
            return True
        model = model_field.related_model
    return False


def visible_to(queryset: QuerySet, user) -> QuerySet:
    """The records of `queryset` the user may see."""
    allowed = visible_unit_ids(user)
    return queryset if allowed is None else involving_units(queryset, allowed)


def changeable_by(queryset: QuerySet, user) -> QuerySet:
    """The records of `queryset` the user may change (their units own them)."""
    allowed = allowed_unit_ids(user)
    if allowed is None:
        return queryset
    return involving_units(queryset, allowed, owning_paths(queryset.model))


def reference_choices(model, field, user) -> QuerySet | None:
    """The records `user` may pick for `model.field`, or None when the choice is open.

    A unit that owns the record must be one of the user's units; any other record named
    (an agreement, a meeting, a follow-up item) must be one the user may see. Units and
    people in other roles are reference data everyone may name.
    """
    related = field.related_model
    if related is Unit:
        allowed = allowed_unit_ids(user)
        if allowed is None or field.name not in owning_paths(model):
            return None
        return Unit.objects.filter(pk__in=allowed)
    if related is Person or registry.for_model(related) is None or visible_unit_ids(user) is None:
        return None
    return visible_to(related._default_manager.all(), user)


def may_change(user, record) -> bool:
    """Whether the user's units own `record` (one query for a restricted user)."""
    allowed = allowed_unit_ids(user)
    if allowed is None:
        return True
    model = type(record)
    return changeable_by(model.objects.filter(pk=record.pk), user).exists()


def may_view(user, record) -> bool:
    """Whether `record` involves one of the user's units (or the user reads every unit)."""
    if visible_unit_ids(user) is None:
        return True
    return visible_to(type(record).objects.filter(pk=record.pk), user).exists()


def owning_units_of(record) -> list:
    """The units whose staff may change `record` (the kind's `owning_units`)."""
    units = []
    for path in owning_paths(type(record)):
        if path == "pk":
            units.append(record)
        elif _is_multivalued(type(record), path):
            units.extend(getattr(record, path).all())
        elif (unit := getattr(record, path)) is not None:
            units.append(unit)
    return units


def read_only_reason(user, record) -> str:
    """Why `user`, who may read `record`, may not change it: no change permission, a unit
    that only takes part (the kind's `read_only_note`), or another unit's record."""
    kind = registry.for_model(record)
    if kind is None:
        return _("View only.")
    if not user.has_perm(kind.permission("change")):
        return _("View only: your account may read %(records)s but not change them.") % {
            "records": kind.title
        }
    owners = ", ".join(str(unit) for unit in owning_units_of(record))
    taking_part = [path for path in kind.involving if path not in kind.owning_units]
    mine = allowed_unit_ids(user) or set()
    model = type(record)
    if (
        kind.read_only_note
        and taking_part
        and involving_units(model.objects.filter(pk=record.pk), mine, taking_part).exists()
    ):
        return kind.read_only_note % {"owners": owners}
    if not owners:
        return _("View only: this record belongs to none of your units.")
    return _("View only: this record belongs to %(owners)s; only that unit's staff update it.") % {
        "owners": owners
    }
