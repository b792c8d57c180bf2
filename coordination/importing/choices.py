"""The units a user picks for names of a file that named no single unit, in the preview.

An import keeps the unit names it could not resolve, unknown or ambiguous
(`ImportReport.unresolved_units`, each with its candidates). The admin's preview offers each
one; the user picks the unit meant, and may keep the spelling as an alias of that unit. The
picks stand for those names in this import only (`import_records(unit_choices=...)`, kept
with the upload until its confirmation); an alias makes the spelling resolve in every later
import, for everyone.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from coordination import services
from coordination.importing.lookups import UnresolvedName
from coordination.models import Unit, UnitAlias

#: Who may keep a spelling as an alias; without it, a pick applies to the import at hand.
ADD_ALIAS = "coordination.add_unitalias"


def may_save_aliases(user) -> bool:
    return user.has_perm(ADD_ALIAS)


def names_to_store(names: list[UnresolvedName]) -> list[dict]:
    """The unresolved names as kept with the upload (plain JSON)."""
    return [
        {
            "text": name.text,
            "key": name.key,
            "candidates": [unit.pk for unit in name.candidates],
            "ambiguous": name.ambiguous,
            "count": name.count,
        }
        for name in names
    ]


def names_from_store(stored) -> list[UnresolvedName]:
    """The kept names again, their candidates read with one query (gone ones left out)."""
    if not isinstance(stored, list):
        return []
    entries = [entry for entry in stored if isinstance(entry, dict)]
    ids = {pk for entry in entries for pk in entry.get("candidates", ()) if isinstance(pk, int)}
    units = Unit.objects.in_bulk(ids) if ids else {}
    return [
        UnresolvedName(
            text=str(entry.get("text", "")),
            key=str(entry.get("key", "")),
            candidates=[units[pk] for pk in entry.get("candidates", ()) if pk in units],
            ambiguous=bool(entry.get("ambiguous")),
            count=int(entry.get("count") or 1),
        )
        for entry in entries
    ]


@dataclass
class PickOutcome:
    """What the picks made: the choices for this import, the aliases kept, the refusals."""

    choices: dict[str, int] = field(default_factory=dict)
    aliases: list[UnitAlias] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def unit_picks_apply(
    *, user, names: list[UnresolvedName], picks: dict[int, Unit], keep: set[int]
) -> PickOutcome:
    """Turn the user's picks (index of a name in `names` → the unit picked) into choices for
    the import, and keep as aliases the spellings of the indexes in `keep`.

    A pick names any unit: units are reference data everyone may name, and the import's
    checks still refuse a row that gives another unit's record to a user who may not. Only
    users who may add aliases keep a spelling; anyone else's pick stands for this import
    only. An alias that cannot be kept (already naming a unit) is said so; its pick stands.
    """
    outcome = PickOutcome()
    allowed = may_save_aliases(user)
    for index, unit in sorted(picks.items()):
        if not 0 <= index < len(names) or unit is None:
            continue
        name = names[index]
        outcome.choices[name.key] = unit.pk
        if index not in keep:
            continue
        if not allowed:
            outcome.problems.append(
                _(
                    "“%(name)s” was not kept as an alias: you may not add aliases. Your choice "
                    "applies to this import only."
                )
                % {"name": name.text}
            )
            continue
        try:
            outcome.aliases.append(services.unit_alias_create(unit=unit, name=name.text, user=user))
        except ValidationError as error:
            outcome.problems.append(
                _("“%(name)s” was not kept as an alias: %(reason)s")
                % {"name": name.text, "reason": " ".join(error.messages)}
            )
    return outcome
