"""Read queries shared by the admin and the views, with the joins their pages need."""

from django.db.models import Prefetch, QuerySet

from coordination.models import Agreement, AgreementParty, FollowUp, Task


def agreement_list() -> QuerySet[Agreement]:
    """Agreements with their parties' units, for lists that show who signed."""
    # One query for every party of the page instead of one per agreement row.
    return Agreement.objects.prefetch_related(
        Prefetch("party_links", queryset=AgreementParty.objects.select_related("unit"))
    )


def task_list() -> QuerySet[Task]:
    """Tasks with the agreement, lead unit and assignee every list shows."""
    return Task.objects.select_related("agreement", "lead_unit", "assignee")


def followup_list() -> QuerySet[FollowUp]:
    """Follow-up items with the unit, agreement and meeting every list shows."""
    return FollowUp.objects.select_related("responsible_unit", "agreement", "meeting")
