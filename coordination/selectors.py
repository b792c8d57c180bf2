"""Read queries shared by the admin and the views, with the joins their pages need."""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from coordination.choices import AgreementStatus, FollowUpStatus, TaskStatus
from coordination.importing import ImportLookups
from coordination.models import Agreement, AgreementParty, FollowUp, Meeting, Task
from coordination.resources import RESOURCES
from coordination.scoping import involving_units
from coordination.widgets import CellError, ChoiceWidget, UnitWidget


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


class ExportFilterError(ValueError):
    """A filter of `export_queryset` that does not apply or names nothing."""


def export_queryset(
    kind: str,
    *,
    year: int | None = None,
    unit: str | None = None,
    status: str | None = None,
    outstanding: bool = False,
) -> QuerySet:
    """The records of `kind` matching the command line's export filters."""
    model = RESOURCES[kind]._meta.model
    field_names = {field.name for field in model._meta.get_fields()}
    queryset = model.objects.all()
    if year is not None:
        if model is Agreement:
            queryset = queryset.in_year(year)
        elif model is Meeting:
            queryset = queryset.filter(held_on__year=year)
        elif "year" in field_names:
            queryset = queryset.filter(year=year)
        else:
            raise ExportFilterError(_("--year does not apply to %(kind)s.") % {"kind": kind})
    if unit:
        try:
            found = UnitWidget().find(unit, ImportLookups().units, {})
        except CellError as error:
            raise ExportFilterError(str(error)) from None
        queryset = involving_units(queryset, [found.pk])
    if status:
        status_field = model._meta.get_field("status") if "status" in field_names else None
        if status_field is None:
            raise ExportFilterError(_("--status does not apply to %(kind)s.") % {"kind": kind})
        choices = {Task: TaskStatus, FollowUp: FollowUpStatus, Agreement: AgreementStatus}[model]
        try:
            queryset = queryset.filter(status=ChoiceWidget(choices).clean(status))
        except CellError as error:
            raise ExportFilterError(str(error)) from None
    if outstanding:
        if not hasattr(queryset, "outstanding"):
            raise ExportFilterError(_("--outstanding applies to tasks and followups only."))
        queryset = queryset.outstanding()
    return queryset
