"""SQL functions that behave the same on SQLite and PostgreSQL: diacritic folding, LOWER()."""

import hashlib

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Func, TextField, Transform
from django.db.models.lookups import In

from coordination import collation
from coordination.text import FOLD_SOURCE, FOLD_TARGET, fold

SQLITE_FOLD_FUNCTION = "coordination_fold"
SQLITE_LOWER_FUNCTION = "coordination_lower"
SQLITE_NUMBER_KEY_FUNCTION = "coordination_number_key"
SQLITE_CONTENT_KEY_FUNCTION = "coordination_content_key"
#: The characters Python's `str.split()` treats as white space.
WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
# TRANSLATE deletes the characters of its source that have no counterpart in its target:
# the combining marks, so text typed in NFD folds like NFC.
_FOLD_SQL_SOURCE = FOLD_SOURCE + "".join(map(chr, range(0x0300, 0x0370)))


def fold_sql_source() -> str:
    """The characters `Fold` translates on PostgreSQL (its trigram indexes, migration 0018,
    are built on the same expression)."""
    return _FOLD_SQL_SOURCE


class Fold(Transform):
    """`name__fold__contains="ham tan"`: compare text folded by `coordination.text.fold`.

    PostgreSQL folds with TRANSLATE (no extension needed, and the same on every locale);
    SQLite calls the Python function itself, registered on each new connection.
    """

    lookup_name = "fold"
    output_field = TextField()
    # Fold the searched value too, so `__fold__contains="Đầm Hà"` finds "ĐẦM HÀ".
    bilateral = True

    def as_sql(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"LOWER(TRANSLATE({lhs}, %s, %s))", (*params, _FOLD_SQL_SOURCE, FOLD_TARGET)

    def as_sqlite(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"{SQLITE_FOLD_FUNCTION}({lhs})", tuple(params)


class UnicodeLower(Func):
    """LOWER() that lower-cases every letter, not only ASCII, on SQLite as on PostgreSQL.

    Used by the case-insensitive unique constraints: SQLite's own LOWER() leaves "Ủ" alone.
    """

    function = "LOWER"
    arity = 1
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_LOWER_FUNCTION, **extra_context)


class NumberKey(Func):
    """A document number as it compares (`coordination.widgets.names.agreement_key`):
    lower-cased, without white space. PostgreSQL: TRANSLATE deletes the white space (its
    source characters have no counterpart); SQLite calls the Python function."""

    arity = 1
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        lhs, params = compiler.compile(self.source_expressions[0])
        return f"TRANSLATE(LOWER({lhs}), %s, '')", (*params, WHITESPACE)

    def as_sqlite(self, compiler, connection, **extra_context):
        lhs, params = compiler.compile(self.source_expressions[0])
        return f"{SQLITE_NUMBER_KEY_FUNCTION}({lhs})", tuple(params)


#: The characters of a text natural key its index holds and an import's queries compare
#: (`coordination.importing.keys`): a btree entry must stay small; texts that begin alike
#: are told apart in Python.
KEY_PREFIX = 100


class KeyPrefix(Func):
    """The first `KEY_PREFIX` characters of a text, the bounds written in the SQL itself:
    SQLite uses an expression index only for a query that spells the expression alike, and
    a bound sent as a parameter is not alike."""

    function = "SUBSTR"
    template = f"%(function)s(%(expressions)s, 1, {KEY_PREFIX})"
    arity = 1
    output_field = TextField()


#: Hex digits of a long text's natural key (`ContentKey`): 64 bits of its MD5.
CONTENT_KEY_DIGITS = 16


def content_key(value):
    """A long text as `ContentKey` gives it, computed in Python (a file's side of it)."""
    if not isinstance(value, str):
        return value
    return hashlib.md5(value.lower().encode()).hexdigest()[:CONTENT_KEY_DIGITS]


class ContentKey(Func):
    """A long text as a natural key compares it (a task's or follow-up item's content): the
    first `CONTENT_KEY_DIGITS` hex digits of the MD5 of its lower-cased form, the expression
    of their natural-key indexes. An index entry of some 40 bytes where the text's lower-cased
    first 100 characters took 150: the follow-up items' index of a million rows is a third
    the size, and an import's lookups and new entries touch a third of the pages. Texts of
    the same key are told apart in Python, as before."""

    arity = 1
    output_field = TextField()
    template = f"LEFT(MD5(LOWER(%(expressions)s)), {CONTENT_KEY_DIGITS})"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            function=SQLITE_CONTENT_KEY_FUNCTION,
            template="%(function)s(%(expressions)s)",
            **extra_context,
        )


def key_prefix(expression):
    """A text column as it compares in a natural key: lower-cased, its first characters
    (the expression of the natural-key indexes, migration 0020)."""
    return KeyPrefix(UnicodeLower(expression))


def number_key_prefix(expression):
    """A document number as it compares in a natural key (`NumberKey`), its first characters
    (the expression of the agreements' natural-key index, migration 0020)."""
    return KeyPrefix(NumberKey(expression))


def _number_key(value):
    return "".join(value.split()).lower() if isinstance(value, str) else value


class AmongIds(In):
    """`AmongIds(F("pk"), ids)`: the column is one of `ids`, a subquery or a list.

    PostgreSQL is given `column = ANY(ARRAY(subquery))`: the subquery runs once, before the
    scan (an InitPlan), and the condition on the column is one an index answers, which the
    planner can OR with conditions on other indexes (a BitmapOr) and AND with the list's own
    filters. `column IN (subquery)` ORed with another condition is instead checked row by row,
    over every row of the table. A list is sent as one array, `column = ANY(%s)`: the
    thousands of units a one-letter search names would otherwise be thousands of parameters,
    each quoted by the driver. Elsewhere (SQLite) it is `column IN (…)`, which SQLite's
    planner already serves from the indexes of an OR's terms.
    """

    lookup_name = "among_ids"  # built directly, never registered on a field

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if self.rhs_is_direct_value():
            values = [value for value in self.rhs if value is not None]
            if not values:
                raise EmptyResultSet
            # One text parameter: the driver quotes a list of ints one by one.
            array = "{" + ",".join(map(str, map(int, values))) + "}"
            return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, array)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


class AmongReadIds(AmongIds):
    """`AmongIds` whose subquery PostgreSQL reads first, in a query of its own, to send its
    ids as one constant array (`column = ANY('{…}'::bigint[])`); past `READ_FIRST_MAX` ids,
    as `AmongIds` sends it.

    An array the planner knows is counted into its estimates, still answered by an index in a
    BitmapOr, and, where it filters rows one by one (a list's ordered walk along its
    list-order index, ORDER BY … LIMIT 50), hashed: PostgreSQL hashes a constant array of
    more than eight elements. An array an InitPlan computes (`ANY(ARRAY(subquery))`) is
    searched element by element for every row the walk passes: a unit sharing 90,000 items
    made each row cost 90,000 comparisons, and each page seconds. Used by the scope's
    many-valued paths (`scoping._involving`); the ids are read when the SQL is made, so each
    statement sees the links as they are then.
    """

    lookup_name = "among_read_ids"
    #: More ids than this are not worth sending in the statement's text (about 7 bytes each).
    READ_FIRST_MAX = 200_000
    #: (the database's alias, what `read_ids` read there).
    read = None

    def as_postgresql(self, compiler, connection):
        if self.rhs_is_direct_value():
            return super().as_postgresql(compiler, connection)
        count, ids = self.read_ids(compiler, connection)
        if count == 0:
            raise EmptyResultSet
        if ids is None:
            return super().as_postgresql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, "{" + ids + "}")

    def read_ids(self, compiler, connection) -> tuple[int, str | None]:
        """How many ids the subquery names, and the ids as text (None past the maximum).

        Read once per condition and database: the queries of one list (its count by paths,
        its page, the page's rows) share the scope's conditions, and its copies."""
        if self.read is not None and self.read[0] == connection.alias:
            return self.read[1]
        rhs, rhs_params = self.process_rhs(compiler, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT cardinality(ids), CASE WHEN cardinality(ids) <= %s "
                f"THEN array_to_string(ids, ',') END FROM (SELECT ARRAY{rhs} AS ids) AS read",
                (self.READ_FIRST_MAX, *rhs_params),
            )
            result = cursor.fetchone()
        # Kept on the instance: its copies (a subquery's relabelled condition) made after
        # the first read share it.
        self.read = (connection.alias, result)
        return result


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_functions(sender, connection, **kwargs):
    """Give each new SQLite connection the SQL functions `Fold` and `UnicodeLower` call, and
    the Vietnamese collation (`coordination.collation`)."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation(collation.COLLATION, collation.compare)
        connection.connection.create_function(SQLITE_FOLD_FUNCTION, 1, fold, deterministic=True)
        connection.connection.create_function(SQLITE_LOWER_FUNCTION, 1, _lower, deterministic=True)
        connection.connection.create_function(
            SQLITE_NUMBER_KEY_FUNCTION, 1, _number_key, deterministic=True
        )
        connection.connection.create_function(
            SQLITE_CONTENT_KEY_FUNCTION, 1, content_key, deterministic=True
        )


def register_lookups():
    CharField.register_lookup(Fold)
    TextField.register_lookup(Fold)
