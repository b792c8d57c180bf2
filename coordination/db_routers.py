"""Reads from a PostgreSQL streaming replica where that is safe, everything else on the primary.

The rule, in one place (README, "Growing past one server"; docs/architecture.md):

- every write goes to the primary (`PrimaryReplicaRouter.db_for_write`), and so do migrations
  and tests (`allow_migrate`; the replica's TEST is a MIRROR of the primary);
- a read goes to the replica only inside a view marked `replica_reads` (the auditors' read-only
  /records/ pages), only for GET and HEAD, and only while
  - nothing was written yet in this request (`ReplicaMiddleware` keeps the request's state;
    the first write sends its later reads to the primary),
  - the user did not write within REPLICA_PIN_SECONDS (a mark in the shared cache, set after
    any request of theirs that wrote or was not a GET): nobody misses their own change
    while the replica catches up, whichever server answers,
  - the replica answers and is at most REPLICA_MAX_LAG_SECONDS behind (`replica_usable`,
    asked at most every REPLICA_CHECK_SECONDS by each process). If it fails in the middle of a
    page, the page is read again from the primary.

Without DATABASE_REPLICA_URL there is no `replica` database and everything reads the primary.
"""

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

PRIMARY = "default"
REPLICA = "replica"
READ_ONLY_METHODS = ("GET", "HEAD")
PIN_KEY = "coordination:replica-pin:{}"


@dataclass
class RequestState:
    """What the router knows of the request being served."""

    #: The view's reads may go to the replica (set by `replica_reads` around the view).
    replica: bool = False
    #: Something was written: every later read of the request goes to the primary.
    wrote: bool = False
    #: The view that allowed the replica answered with a stream (an export), read after the
    #: view returned: the chunks are read as the view was.
    replica_stream: bool = False


_state: ContextVar[RequestState | None] = ContextVar("coordination_db_request", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class PrimaryReplicaRouter:
    """Django's database router (settings.DATABASE_ROUTERS when a replica is configured)."""

    def db_for_read(self, model, **hints):
        state = _state.get()
        if state is not None and state.replica and not state.wrote:
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        state = _state.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # The replica is the same database, a moment late.
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaMiddleware:
    """Keeps the request's state for the router, and marks a user who wrote (the pin)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        state = RequestState()
        token = _state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _state.reset(token)
        if state.wrote or request.method not in READ_ONLY_METHODS:
            pin(getattr(request, "user", None))
        if getattr(response, "streaming", False) and state.replica_stream:
            response.streaming_content = _within(state, response.streaming_content)
        return response


def pin(user) -> None:
    """Send `user`'s reads to the primary for REPLICA_PIN_SECONDS."""
    if user is not None and user.is_authenticated and settings.REPLICA_PIN_SECONDS > 0:
        cache.set(PIN_KEY.format(user.pk), time.time(), settings.REPLICA_PIN_SECONDS)


def pinned(user) -> bool:
    """Whether `user` wrote within REPLICA_PIN_SECONDS (on any server: the cache is shared)."""
    if not user.is_authenticated or settings.REPLICA_PIN_SECONDS <= 0:
        return False
    written = cache.get(PIN_KEY.format(user.pk))
    return written is not None and time.time() - written < settings.REPLICA_PIN_SECONDS


def replica_reads(view):
    """Let a read-only view read from the replica when the rule above allows it."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        state = _state.get()
        if (
            state is None
            or request.method not in READ_ONLY_METHODS
            or state.wrote
            # The user (and so the session) is read here, from the primary: a session
            # written a moment ago may not be on the replica yet.
            or pinned(request.user)
            or not replica_usable()
        ):
            return view(request, *args, **kwargs)
        state.replica = True
        try:
            response = view(request, *args, **kwargs)
        except DatabaseError:
            if state.wrote:
                raise
            # The replica went away in the middle of the page: read it from the primary.
            _forget_replica()
            state.replica = False
            return view(request, *args, **kwargs)
        finally:
            state.replica = False
        if getattr(response, "streaming", False):
            state.replica_stream = True
        return response

    return wrapper


def _within(state: RequestState, chunks: Iterable) -> Iterator:
    """`chunks`, each read with the replica allowed, as the view that made them was."""
    iterator = iter(chunks)
    while True:
        token = _state.set(state)
        state.replica = not state.wrote
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            state.replica = False
            _state.reset(token)
        yield chunk


# ---------------------------------------------------------------------------------------------
# Is the replica fit to read from?
# ---------------------------------------------------------------------------------------------

# Each process asks for itself (its own connection to the replica is what matters), at most
# every REPLICA_CHECK_SECONDS: (monotonic time of the last answer, its verdict).
_last_check: list = [float("-inf"), False]


def replica_usable() -> bool:
    """Whether the replica answers and is at most REPLICA_MAX_LAG_SECONDS behind."""
    if not replica_configured():
        return False
    now = time.monotonic()
    if now - _last_check[0] < settings.REPLICA_CHECK_SECONDS:
        return _last_check[1]
    lag = replica_lag()
    usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    _last_check[:] = [now, usable]
    return usable


def replica_lag() -> float | None:
    """How many seconds the replica is behind at most (0: it has replayed all the primary
    wrote); None when it does not answer or is not a standby (promoted: it no longer follows).

    Behind, the bound is the age of the last change it replayed: the first change it lacks is
    younger, so the true delay is no longer than that.
    """
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (primary_position,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn, "
                "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())",
                [primary_position],
            )
            standby, caught_up, age = cursor.fetchone()
    except DatabaseError:
        _close_replica()
        return None
    if not standby:
        return None
    if caught_up:
        return 0.0
    return None if age is None else max(0.0, float(age))


def _forget_replica() -> None:
    """Read the primary until the next check, and drop the broken connection."""
    _last_check[:] = [time.monotonic(), False]
    _close_replica()


def _close_replica() -> None:
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()
