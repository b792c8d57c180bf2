"""The record kinds, one module each, registered in the order people work.

Each module declares everything particular to its kind — spreadsheet columns, list filters,
list query, /records/ table and detail fields — as a `RecordKind` that the other layers read
through `coordination.registry`. Importing this package (the app's `ready()` does) completes
the registry.
"""

from coordination.kinds import (
    agreements,
    followups,
    indicators,
    meetings,
    people,
    signatories,
    tasks,
    units,
)
from coordination.registry import all_kinds, for_model, get, names, register

# The order of the admin's import pages, the command line's KINDs and an import of every
# kind: referenced records first.
for _module in (units, people, agreements, signatories, meetings, tasks, followups, indicators):
    register(_module.KIND)

__all__ = ["all_kinds", "for_model", "get", "names"]
