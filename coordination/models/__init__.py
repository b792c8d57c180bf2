"""The coordination data model (see shared DOMAIN.md)."""

from coordination.models.agreements import (
    Agreement,
    AgreementParty,
    Indicator,
    Signatory,
)
from coordination.models.followups import FollowUp
from coordination.models.jobs import Job
from coordination.models.meetings import Meeting
from coordination.models.preferences import UserPreference
from coordination.models.reports import IssuedReport, ReportTemplate
from coordination.models.tallies import CountedCell, CountMark, CountState
from coordination.models.tasks import Task
from coordination.models.units import Person, Unit, UnitAlias, UnitMember

__all__ = [
    "Agreement",
    "AgreementParty",
    "CountMark",
    "CountState",
    "CountedCell",
    "FollowUp",
    "Indicator",
    "IssuedReport",
    "Job",
    "Meeting",
    "Person",
    "ReportTemplate",
    "Signatory",
    "Task",
    "Unit",
    "UnitAlias",
    "UnitMember",
    "UserPreference",
]
