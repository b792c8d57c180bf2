"""Database upkeep the jobs worker runs between jobs (`manage.py jobs_worker`'s housekeeping).

The trigram indexes of the search text (PostgreSQL) take new entries into a pending list
(migration 0029) so that an import does not merge them into the index while the user waits;
`merge_search_index_pending` merges them, off the request, so that searches read few of them.

SQLite writes a transaction's pages to its write-ahead log, and the connection that commits
past 1,000 pages of log copies them back into the database (a checkpoint) before its commit
returns: for an import into a province's tables, a third of the confirmation
(`checkpoint_later`). An import leaves the checkpoint to `checkpoint_log`.
"""

from contextlib import contextmanager

from django.db import connections, router

from coordination.models import FollowUp, Task

#: The trigram index of each model's search text (migration 0008), with a pending list.
SEARCH_INDEXES = {
    FollowUp: "coordination_fu_search_trgm",
    Task: "coordination_task_search_trgm",
}


def merge_search_index_pending(models=None) -> dict[str, int]:
    """Merge the pending entries of the search indexes (of `models`, or all) into the indexes
    (PostgreSQL; nothing elsewhere): the number of index pages each merge emptied, by index.

    `manage.py import_records` runs it for its kind once its rows are committed: the next
    import of the kind, which may be waiting for the kind's lock, then starts with an empty
    list instead of merging this import's entries while it holds the lock.
    """
    merged = {}
    for model, index in SEARCH_INDEXES.items():
        if models is not None and model not in models:
            continue
        connection = connections[router.db_for_write(model)]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
            merged[index] = cursor.fetchone()[0]
    return merged


@contextmanager
def checkpoint_later(connection):
    """SQLite: commits inside leave the write-ahead log as it is, for `checkpoint_log` (the jobs
    worker's housekeeping, `manage.py import_records` once it has written) or the next write
    of another connection; elsewhere nothing."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (pages,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")


def settle_writes(models=None) -> None:
    """What written rows leave behind, done off the request: the search indexes' pending
    entries of `models` (or all) merged, SQLite's log copied back. The jobs worker's
    housekeeping runs it, and `manage.py import_records` for its kind once its rows are
    committed, outside the kind's lock."""
    merge_search_index_pending(models)
    checkpoint_log()


def checkpoint_log(connection=None) -> None:
    """SQLite: copy the write-ahead log back into the database, as far as no reader needs it
    (a passive checkpoint: it waits for no one); elsewhere nothing."""
    connection = connection or connections["default"]
    # Inside a transaction (a test's) the log holds its pages until it ends: nothing to copy.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
