"""Units of the local political system and the people who work in them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from coordination.choices import UnitKind, UnitLevel
from coordination.collation import vietnamese
from coordination.constraints import FieldCheckConstraint, FieldUniqueConstraint
from coordination.db_functions import Fold, KeyPrefix, UnicodeLower, key_prefix
from coordination.models.base import Record, SearchableMixin, import_export_permissions
from coordination.unit_names import own_name_keys, unit_key


class Unit(SearchableMixin, Record):
    """A body that signs agreements and owns tasks: People's Committee, Front, unions, ..."""

    # The names a search finds it by, kept folded in `search_text` (SearchableMixin): the
    # autocomplete's one or two letters match 4,000 units without folding each row.
    search_document_fields = ("full_name", "short_name", "locality")

    full_name = models.CharField(_("full name"), max_length=255)
    short_name = models.CharField(
        _("short name"),
        max_length=100,
        blank=True,
        help_text=_("The name used in reports, e.g. “UBMTTQVN huyện”."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=UnitKind)
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel)
    locality = models.CharField(
        _("locality"),
        max_length=150,
        help_text=_("The place the unit serves, e.g. “huyện Hàm Tân, tỉnh Bình Thuận”."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    is_active = models.BooleanField(_("active"), default=True)
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="predecessors",
        help_text=_("The unit that took over this unit's work when it was dissolved or merged."),
    )

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        # Vietnamese alphabetical order (`coordination.collation`), place by place.
        ordering = [vietnamese("locality"), vietnamese("full_name"), "pk"]
        constraints = [
            FieldUniqueConstraint(
                UnicodeLower("locality"),
                UnicodeLower("full_name"),
                name="coordination_unit_unique_name_in_locality",
                error_field="full_name",
                violation_error_message=_(
                    "A unit with this full name already exists in this locality."
                ),
            ),
            FieldUniqueConstraint(
                UnicodeLower("locality"),
                UnicodeLower("short_name"),
                condition=~models.Q(short_name=""),
                name="coordination_unit_unique_short_name_in_locality",
                error_field="short_name",
                violation_error_message=_(
                    "A unit with this short name already exists in this locality."
                ),
            ),
            FieldCheckConstraint(
                condition=~models.Q(parent=models.F("pk")),
                name="coordination_unit_parent_not_self",
                error_field="parent",
                violation_error_message=_("A unit cannot be its own parent."),
            ),
            FieldCheckConstraint(
                condition=~models.Q(successor=models.F("pk")),
                name="coordination_unit_successor_not_self",
                error_field="successor",
                violation_error_message=_("A unit cannot be its own successor."),
            ),
            FieldCheckConstraint(
                condition=models.Q(successor__isnull=True) | models.Q(dissolved_on__isnull=False),
                name="coordination_unit_successor_needs_dissolution",
                error_field="dissolved_on",
                violation_error_message=_("A unit with a successor must have a dissolution date."),
            ),
            FieldCheckConstraint(
                condition=models.Q(dissolved_on__isnull=True) | models.Q(is_active=False),
                name="coordination_unit_dissolved_is_inactive",
                error_field="is_active",
                violation_error_message=_("A dissolved unit cannot be active."),
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "level"], name="coordination_unit_kind_level"),
            # The natural key an import finds its rows' units by (`importing.keys`).
            models.Index(
                key_prefix("locality"),
                key_prefix("full_name"),
                name="coordination_unit_natural_key",
            ),
        ]
        permissions = [
            *import_export_permissions("unit", "units"),
            ("manage_all_units", "Can manage the records of every unit"),
            ("view_all_units", "Can view the records of every unit"),
        ]

    def __str__(self):
        return self.full_name


class UnitAlias(Record):
    """Another spelling of a unit's name, as an office writes it in its lists.

    Kept by administrators (the unit's change page, or saved from an import's preview); an
    import resolves the spelling to the unit. One spelling names one unit: `key`, the name's
    `unit_key()`, is unique, and may not be another unit's own name. Not in the history
    tables: like units themselves, aliases are reference data, their changes in the admin log.
    """

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="aliases"
    )
    name = models.CharField(
        _("name as written"),
        max_length=255,
        help_text=_(
            "A spelling offices use for this unit, e.g. “MTTQ H. Hàm Tân”. Case, diacritics, "
            "spacing and the usual abbreviations do not matter."
        ),
    )
    key = models.CharField(_("comparison key"), max_length=255, editable=False)

    class Meta:
        verbose_name = _("alias")
        verbose_name_plural = _("aliases")
        ordering = ["unit", "name"]
        constraints = [
            FieldUniqueConstraint(
                fields=["key"],
                name="coordination_unitalias_unique_key",
                error_field="name",
                violation_error_message=_("This spelling already names a unit."),
            ),
        ]

    def __str__(self):
        return self.name

    def prepare_for_save(self) -> None:
        super().prepare_for_save()
        self.key = unit_key(self.name or "")

    def validate_constraints(self, exclude=None):
        # The unique key is checked by clean(), which names the unit holding the spelling.
        super().validate_constraints(exclude={*(exclude or ()), "key"})

    def clean(self):
        """One spelling, one unit: not another alias, not another unit's own name.

        Asked here rather than left to the constraint: `key` is no form field, so a form's
        unique checks would skip it.
        """
        self.prepare_for_save()
        if not self.key:
            raise ValidationError({"name": _("Enter a name with at least one letter or digit.")})
        taken = UnitAlias.objects.filter(key=self.key).exclude(pk=self.pk)
        other = taken.select_related("unit").first()
        if other is not None:
            raise ValidationError(
                {
                    "name": _("“%(name)s” is already an alias of %(unit)s.")
                    % {"name": other.name, "unit": other.unit}
                }
            )
        named = [
            unit
            for unit in Unit.objects.exclude(pk=self.unit_id).only(
                "full_name", "short_name", "locality"
            )
            if self.key in own_name_keys(unit)
        ]
        if named:
            raise ValidationError(
                {
                    "name": _(
                        "“%(name)s” is already the name of another unit: %(units)s. An alias "
                        "may only name one unit."
                    )
                    % {"name": self.name, "units": "; ".join(map(str, named[:5]))}
                }
            )


class Person(SearchableMixin, Record):
    """A cadre (cán bộ) who signs agreements, chairs meetings or carries out tasks."""

    # The text a search finds a person by, kept folded in `search_text` (SearchableMixin).
    search_document_fields = ("full_name", "position")

    full_name = models.CharField(_("full name"), max_length=150)
    position = models.CharField(
        _("current position"),
        max_length=255,
        blank=True,
        help_text=_(
            "The position held now; signatures keep the position held on the signing date."
        ),
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = [vietnamese("full_name"), "pk"]
        indexes = [
            # An import reads the people its cells name by their folded names
            # (`PersonWidget.named_records`).
            models.Index(KeyPrefix(Fold("full_name")), name="coordination_person_name_key"),
        ]
        permissions = import_export_permissions("person", "people")

    def __str__(self):
        return f"{self.full_name} ({self.position})" if self.position else self.full_name


class UnitMember(Record):
    """A user who works for a unit: unit staff import and edit only their units' records."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="unit_memberships",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="members"
    )

    class Meta:
        verbose_name = _("unit member")
        verbose_name_plural = _("unit members")
        ordering = ["user", "unit"]
        constraints = [
            FieldUniqueConstraint(
                fields=["user", "unit"],
                name="coordination_unitmember_unique_unit",
                error_field="unit",
                violation_error_message=_("This user is already a member of this unit."),
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.unit}"
