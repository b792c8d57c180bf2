"""Choice lists shared by models, admin, filters and spreadsheets."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    PEOPLES_COMMITTEE = "peoples_committee", _("People's Committee")
    PEOPLES_COUNCIL = "peoples_council", _("People's Council")
    FATHERLAND_FRONT = "fatherland_front", _("Fatherland Front")
    SOCIO_POLITICAL = "socio_political", _("Socio-political organisation")
    PARTY_BODY = "party_body", _("Party body")
    OTHER = "other", _("Other")


class UnitLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune")


class AgreementKind(models.TextChoices):
    REGULATION = "regulation", _("Coordination regulation")
    PROGRAMME = "programme", _("Coordination programme")
    PLAN = "plan", _("Coordination plan")


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_FORCE = "in_force", _("In force")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Superseded")


class PartyRole(models.TextChoices):
    LEAD = "lead", _("Lead")
    PARTY = "party", _("Party")


class MeetingKind(models.TextChoices):
    INTERIM = "interim", _("Interim review")
    FINAL = "final", _("Final review")
    ASSESSMENT = "assessment", _("Annual assessment")
    SIGNING = "signing", _("Signing conference")


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    # Not finished this year and carried into next year's programme, where its successor
    # (`Task.carried_over_to`) goes on: no longer outstanding this year.
    CARRIED_OVER = "carried_over", _("Carried over to next year")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpKind(models.TextChoices):
    LIMITATION = "limitation", _("Limitation")
    CONCLUSION = "conclusion", _("Conclusion")
    VOTER_PETITION = "voter_petition", _("Voter petition")
    SUPERVISION_RECOMMENDATION = (
        "supervision_recommendation",
        _("Supervision recommendation"),
    )
    COMPLAINT = "complaint", _("Complaint or denunciation")
    OTHER = "other", _("Other")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CARRIED_OVER = "carried_over", _("Carried over to next year")
    CLOSED = "closed", _("Closed")


class IndicatorComparison(models.TextChoices):
    AT_LEAST = "at_least", _("At least the target")
    AT_MOST = "at_most", _("At most the target")
