"""The outstanding table's stored counts: one row per kind, unit and year, kept by the database.

Counting every year of a province (a million follow-up items) takes a second; the table of
every year reads these rows instead (`reports/tallies.py`). They are kept right this way:

- a database trigger on each counted table (migration 0026) writes a `CountMark` for the unit
  of every row inserted, changed or deleted, on any path (the admin, imports, mergers, bulk
  updates, SQL typed by hand): on PostgreSQL once per unit and statement (migration 0030), on
  SQLite once per unit until it is counted;
- before the counts are read, the marked units are counted again, and the marks removed, in
  one transaction;
- the counts depend on the day (overdue, ageing): `CountState.counted_for` says for which
  day; on a new day everything is counted again, once (by the jobs' worker's housekeeping,
  or by the first page that needs them).

Units are plain numbers, not foreign keys: a unit's row is read with the counts, and rows of a
unit that no longer exists are never shown.
"""

from django.db import models

#: Counts a row holds at most (`n0` … `n19`); a kind counting more is counted from its records.
COUNT_COLUMNS = 20


class CountedCell(models.Model):
    """The counts of one kind, unit and year, in the order of `reports.counts.counts()`."""

    kind = models.CharField(max_length=32)
    unit_id = models.BigIntegerField()
    year = models.PositiveSmallIntegerField()
    # n0 … n19: added below.

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "unit_id", "year"], name="countedcell_kind_unit_year_unique"
            )
        ]
        indexes = [models.Index(fields=["kind", "year"], name="countedcell_kind_year")]

    def __str__(self):
        return f"{self.kind} {self.unit_id} {self.year}"


for _index in range(COUNT_COLUMNS):
    CountedCell.add_to_class(f"n{_index}", models.IntegerField(db_default=0))


class CountMark(models.Model):
    """A unit whose records of `kind` changed since its counts were stored (written by the
    database's triggers, removed when the unit is counted again)."""

    kind = models.CharField(max_length=32)
    unit_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "unit_id"], name="countmark_kind_unit")]

    def __str__(self):
        return f"{self.kind} {self.unit_id}"


class CountState(models.Model):
    """For which day, and for which list of counts, a kind's cells were counted."""

    kind = models.CharField(max_length=32, primary_key=True)
    counted_for = models.DateField()
    #: The names of the counts, in the order of the columns (a change counts everything again).
    layout = models.TextField()
    #: When the marked units (or everything) were last counted again.
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"{self.kind} {self.counted_for}"
