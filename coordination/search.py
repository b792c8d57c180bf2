"""Search that ignores case and Vietnamese diacritics, the same on SQLite and PostgreSQL."""

from django.db.models import CharField, TextField, Transform

from coordination.text import FOLD_SOURCE, FOLD_TARGET, fold

SQLITE_FOLD_FUNCTION = "coordination_fold"


class Fold(Transform):
    """`name__fold__contains="ham tan"`: compare text folded by `coordination.text.fold`.

    PostgreSQL folds with TRANSLATE (no extension needed, and the same on every locale);
    SQLite calls the Python function itself, registered on each new connection.
    """

    lookup_name = "fold"
    output_field = TextField()

    def as_sql(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"LOWER(TRANSLATE({lhs}, %s, %s))", (*params, FOLD_SOURCE, FOLD_TARGET)

    def as_sqlite(self, compiler, connection):
        lhs, params = compiler.compile(self.lhs)
        return f"{SQLITE_FOLD_FUNCTION}({lhs})", tuple(params)


def register_fold(sender, connection, **kwargs):
    """Give each new SQLite connection the `coordination_fold` SQL function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FOLD_FUNCTION, 1, fold, deterministic=True)


def register_lookups():
    CharField.register_lookup(Fold)
    TextField.register_lookup(Fold)
