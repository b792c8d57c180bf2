"""Records built once for a module's tests instead of once per test.

pytest-django has no module- or class-scoped database fixture. `rolled_back` opens a
transaction around a module's tests, and a module-scoped fixture builds its records inside
it; each test then runs in its own savepoint (pytest-django's `db`), so what a test writes is
rolled back after it, and the whole transaction is rolled back at the end of the module.

A function-scoped fixture hands each test `fresh(built)`: its own deep copy of the built
Python objects, as Django's `setUpTestData` does, so that what a test changes on them in
memory (a field set, a cached attribute such as a user's `_coordination_unit_ids`) does not
reach the next test.

Only for modules without transactional tests (`transaction=True`, `transactional_db`,
`live_server`): those flush the database and cannot run inside the module's transaction.
"""

import copy
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def rolled_back(django_db_blocker):
    """A transaction around a module's tests, rolled back at its end: what the module builds
    in it is there for each test (inside the test's own savepoint) and gone afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def fresh(built):
    """A test's own copy of objects built once for the module (identity kept within it)."""
    return copy.deepcopy(built)
