"""Coordination agreements, their parties, signatories and indicators."""

from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coordination.choices import (
    AgreementKind,
    AgreementStatus,
    IndicatorComparison,
    PartyRole,
)
from coordination.constraints import FieldCheckConstraint, FieldUniqueConstraint
from coordination.db_functions import UnicodeLower, number_key_prefix
from coordination.history import unindexed_entry_fields
from coordination.models.base import (
    Record,
    RecordQuerySet,
    import_export_permissions,
    validate_year_within_agreement,
    year_range_constraint,
)
from coordination.models.units import Person, Unit

SCAN_EXTENSIONS = ["pdf", "jpg", "jpeg", "png", "tif", "tiff"]


class AgreementQuerySet(RecordQuerySet):
    def in_year(self, year: int):
        """Agreements whose span covers `year`."""
        return self.filter(start_year__lte=year, end_year__gte=year)


class AgreementParty(Record):
    """A unit taking part in an agreement, as its lead or as a party."""

    # Defined before Agreement: the agreement's history copies this table when it is created.
    agreement = models.ForeignKey(
        "coordination.Agreement",
        verbose_name=_("agreement"),
        on_delete=models.CASCADE,
        related_name="party_links",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="agreement_links",
    )
    role = models.CharField(_("role"), max_length=16, choices=PartyRole, default=PartyRole.PARTY)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["role", "pk"]
        constraints = [
            FieldUniqueConstraint(
                fields=["agreement", "unit"],
                name="coordination_agreementparty_unique_unit",
                error_field="unit",
                violation_error_message=_("This unit is already a party to the agreement."),
            ),
        ]

    def __str__(self):
        return f"{self.unit} ({self.get_role_display()})"


class Agreement(Record):
    """A coordination regulation, programme or plan signed by two or more units."""

    number = models.CharField(
        _("number"),
        max_length=100,
        help_text=_("Number and code of the document (số, ký hiệu), e.g. “01/QCPH-UBND-MTTQ”."),
    )
    title = models.CharField(_("title"), max_length=500)
    kind = models.CharField(_("kind"), max_length=16, choices=AgreementKind)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_year = models.PositiveSmallIntegerField(_("start year"))
    end_year = models.PositiveSmallIntegerField(_("end year"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AgreementStatus,
        default=AgreementStatus.IN_FORCE,
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent agreement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("The term regulation a yearly programme implements."),
    )
    supersedes = models.ForeignKey(
        "self",
        verbose_name=_("supersedes"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    scan = models.FileField(
        _("scanned document"),
        upload_to="agreements/%Y/",
        blank=True,
        validators=[FileExtensionValidator(SCAN_EXTENSIONS)],
        help_text=_("PDF or image (pdf, jpg, png, tif)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    parties = models.ManyToManyField(
        Unit,
        verbose_name=_("parties"),
        through=AgreementParty,
        related_name="agreements",
        blank=True,
    )

    objects = AgreementQuerySet.as_manager()
    # Each history entry keeps the parties (and their roles) as they were.
    history = HistoricalRecords(
        m2m_fields=[parties], no_db_index=unindexed_entry_fields("parent", "supersedes")
    )

    class Meta:
        verbose_name = _("coordination agreement")
        verbose_name_plural = _("coordination agreements")
        ordering = ["-start_year", "number"]
        constraints = [
            FieldUniqueConstraint(
                UnicodeLower("number"),
                name="coordination_agreement_unique_number",
                error_field="number",
                violation_error_message=_("An agreement with this number already exists."),
            ),
            FieldCheckConstraint(
                condition=models.Q(end_year__gte=models.F("start_year")),
                name="coordination_agreement_end_after_start",
                error_field="end_year",
                violation_error_message=_("The end year cannot be before the start year."),
            ),
            year_range_constraint("agreement", "start_year"),
            FieldCheckConstraint(
                condition=~models.Q(parent=models.F("pk")),
                name="coordination_agreement_parent_not_self",
                error_field="parent",
                violation_error_message=_("An agreement cannot be its own parent."),
            ),
            FieldCheckConstraint(
                condition=~models.Q(supersedes=models.F("pk")),
                name="coordination_agreement_supersedes_not_self",
                error_field="supersedes",
                violation_error_message=_("An agreement cannot supersede itself."),
            ),
        ]
        indexes = [
            models.Index(fields=["start_year", "end_year"], name="coordination_agr_years"),
            models.Index(fields=["status", "kind"], name="coordination_agr_status_kind"),
            # The natural key an import finds its rows' agreements by (`importing.keys`).
            models.Index(number_key_prefix("number"), name="coordination_agr_natural_key"),
        ]
        permissions = import_export_permissions("agreement", "agreements")

    def __str__(self):
        return f"{self.number} – {self.title}"


class Signatory(Record):
    """A person who signed an agreement for a unit, with the position held on that day."""

    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.CASCADE,
        related_name="signatories",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="signatures",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("signed for unit"),
        on_delete=models.PROTECT,
        related_name="signatures",
    )
    position = models.CharField(
        _("position at signing"),
        max_length=255,
        blank=True,
        help_text=_("Left empty, the person's current position is copied."),
    )
    signed_on = models.DateField(
        _("signed on"),
        null=True,
        blank=True,
        help_text=_("Left empty, the agreement's signing date is copied."),
    )

    class Meta:
        verbose_name = _("signatory")
        verbose_name_plural = _("signatories")
        ordering = ["agreement", "pk"]
        constraints = [
            FieldUniqueConstraint(
                fields=["agreement", "person"],
                name="coordination_signatory_unique_person",
                error_field="person",
                violation_error_message=_("This person has already signed this agreement."),
            ),
        ]
        permissions = import_export_permissions("signatory", "signatories")

    def __str__(self):
        return (
            f"{self.person.full_name} – {self.position}" if self.position else self.person.full_name
        )

    def prepare_for_save(self) -> None:
        # The position and date are a snapshot of the signing day: people change posts later.
        if not self.position and self.person_id:
            self.position = self.person.position
        if self.signed_on is None and self.agreement_id:
            self.signed_on = self.agreement.signed_on
        super().prepare_for_save()


class Indicator(Record):
    """A numeric target of an agreement for one unit and year, and what was achieved."""

    agreement = models.ForeignKey(
        Agreement,
        verbose_name=_("agreement"),
        on_delete=models.PROTECT,
        related_name="indicators",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="indicators",
    )
    name = models.CharField(_("indicator"), max_length=300)
    measure = models.CharField(
        _("unit of measure"),
        max_length=50,
        blank=True,
        help_text=_("e.g. “%”, “mô hình”."),
    )
    comparison = models.CharField(
        _("met when actual is"),
        max_length=16,
        choices=IndicatorComparison,
        default=IndicatorComparison.AT_LEAST,
    )
    target = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    actual = models.DecimalField(
        _("actual"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["-year", "agreement", "name"]
        constraints = [
            FieldUniqueConstraint(
                fields=["agreement", "year", "unit", "name"],
                name="coordination_indicator_unique_name",
                error_field="name",
                violation_error_message=_(
                    "This indicator already exists for this agreement, year and unit."
                ),
            ),
            year_range_constraint("indicator"),
            FieldCheckConstraint(
                condition=models.Q(target__gte=0),
                name="coordination_indicator_target_not_negative",
                error_field="target",
                violation_error_message=_("The target cannot be negative."),
            ),
            FieldCheckConstraint(
                condition=models.Q(actual__gte=0),
                name="coordination_indicator_actual_not_negative",
                error_field="actual",
                violation_error_message=_("The actual value cannot be negative."),
            ),
        ]
        indexes = [
            models.Index(fields=["year", "unit"], name="coordination_ind_year_unit"),
        ]
        permissions = import_export_permissions("indicator", "indicators")

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        validate_year_within_agreement(self)

    @property
    def is_met(self) -> bool | None:
        """Whether the actual value meets the target; None while nothing is reported."""
        if self.actual is None:
            return None
        if self.comparison == IndicatorComparison.AT_MOST:
            return self.actual <= self.target
        return self.actual >= self.target
