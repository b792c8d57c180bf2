"""Admin actions: merging units into a successor (with a confirmation page of its own, and a
second step listing every outstanding record when the work is split among several successors),
and the messages a bulk action reports."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelectMultiple
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from coordination import mergers, scoping, services
from coordination.collation import vietnamese
from coordination.models import FollowUp, Task, Unit


class MergeUnitsForm(forms.Form):
    """The successor and the dissolution date of a unit merger."""

    successor = forms.ModelChoiceField(
        label=capfirst(Unit._meta.get_field("successor").verbose_name),
        queryset=Unit.objects.none(),
        help_text=_("The outstanding tasks and follow-up items of the selected units move here."),
    )
    dissolved_on = forms.DateField(
        label=capfirst(Unit._meta.get_field("dissolved_on").verbose_name),
        initial=timezone.localdate,
        widget=AdminDateWidget,
        help_text=_("dd/mm/yyyy; today or earlier."),
    )

    other_successors = forms.ModelMultipleChoiceField(
        label=_("Other successors"),
        queryset=Unit.objects.none(),
        required=False,
        help_text=_(
            "To split the work among several units: the units besides the successor that take "
            "over some of the outstanding records. The next page lists every record, to choose "
            "which unit takes it."
        ),
    )

    def __init__(self, *args, selected, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a unit that still exists in its own right can take over, never a merged one.
        takers = Unit.objects.filter(is_active=True, dissolved_on__isnull=True).exclude(
            pk__in=selected.values("pk")
        )
        self.fields["successor"].queryset = takers
        # Searched as the unit form's successor is: thousands of communes fit no select box.
        # Set before the queryset, which gives the widget its choices.
        self.fields["other_successors"].widget = AutocompleteSelectMultiple(
            Unit._meta.get_field("successor"), admin_site
        )
        self.fields["other_successors"].queryset = takers

    def successors(self) -> list[Unit]:
        """The default successor first, then the others chosen, each once."""
        default = self.cleaned_data["successor"]
        others = [unit for unit in self.cleaned_data["other_successors"] if unit != default]
        return [default, *sorted(others, key=lambda unit: (str(unit), unit.pk))]


def may_merge_units(modeladmin, request) -> bool:
    """Merging moves records between units: only for users who manage every unit."""
    return modeladmin.has_change_permission(request) and (
        scoping.allowed_unit_ids(request.user) is None
    )


def _outstanding_count(queryset, unit_field: str):
    """The number of records of `queryset` whose `unit_field` is the outer unit, 0 if none."""
    counts = (
        queryset.filter(**{unit_field: OuterRef("pk")})
        .order_by()
        .values(unit_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts), 0)


def merge_preview(selected):
    """The selected units, each with the outstanding records that would move (one query)."""
    return (
        Unit.objects.filter(pk__in=selected.values("pk"))
        .annotate(
            led_count=_outstanding_count(Task.objects.outstanding(), "lead_unit"),
            coordinated_count=_outstanding_count(
                Task.coordinating_units.through.objects.filter(task__in=Task.objects.outstanding()),
                "unit",
            ),
            followup_count=_outstanding_count(FollowUp.objects.outstanding(), "responsible_unit"),
        )
        .order_by(vietnamese("locality"), vietnamese("full_name"), "pk")
    )


#: The button of the first step asking to split the work, and the second step's marker.
SPLIT = "split"


@admin.action(description=_("Merge selected units into a successor…"), permissions=["merge"])
def merge_units(modeladmin, request, queryset):
    """Ask for the successor and the date, then hand the units' outstanding work over; asked to
    split it among several successors, list every record to choose its successor first."""
    if not may_merge_units(modeladmin, request):
        raise PermissionDenied
    form = MergeUnitsForm(
        request.POST if request.POST.get("post") else None,
        selected=queryset,
        admin_site=modeladmin.admin_site,
    )
    if form.is_bound and form.is_valid():
        if SPLIT in request.POST or request.POST.get("step") == SPLIT or form.successors()[1:]:
            return split_work(modeladmin, request, queryset, form)
        try:
            result = services.unit_merge(
                units=queryset,
                successor=form.cleaned_data["successor"],
                dissolved_on=form.cleaned_data["dissolved_on"],
                user=request.user,
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else NON_FIELD_ERRORS, field_errors)
        else:
            report_merger(modeladmin, request, result)
            return None

    units = list(merge_preview(queryset))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Merge units"),
        "subtitle": None,
        "opts": modeladmin.model._meta,
        "form": form,
        "units": units,
        "totals": {
            "led": sum(unit.led_count for unit in units),
            # Counted apart: a task two selected units coordinate moves once.
            "coordinated": Task.objects.outstanding()
            .filter(coordinating_units__in=queryset.values("pk"))
            .distinct()
            .count(),
            "followups": sum(unit.followup_count for unit in units),
        },
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/coordination/merge_units.html", context)


def report_merger(modeladmin, request, result) -> None:
    """Say what a merger dissolved and handed over, and to whom when the work was split."""
    successor = result.shares[0].successor
    message = ngettext(
        "%(count)d unit merged into %(successor)s.",
        "%(count)d units merged into %(successor)s.",
        result.units,
    ) % {"count": result.units, "successor": successor}
    moved = _(
        "Handed over: %(tasks)d tasks led, %(coordinations)d tasks coordinated, "
        "%(followups)d follow-up items."
    ) % {
        "tasks": result.tasks_moved,
        "coordinations": result.coordinations_moved,
        "followups": result.followups_moved,
    }
    if result.aliases_moved:
        moved += " " + ngettext(
            "%(count)d alias now names the successor.",
            "%(count)d aliases now name the successor.",
            result.aliases_moved,
        ) % {"count": result.aliases_moved}
    if result.co_responsibilities_moved:
        moved += " " + ngettext(
            "%(n)d follow-up item answered for jointly.",
            "%(n)d follow-up items answered for jointly.",
            result.co_responsibilities_moved,
        ) % {"n": result.co_responsibilities_moved}
    if len(result.shares) > 1:
        moved += " " + "; ".join(
            _("%(successor)s took %(tasks)d tasks and %(followups)d follow-up items")
            % {"successor": share.successor, "tasks": share.tasks, "followups": share.followups}
            for share in result.shares
        )
        moved += "."
    modeladmin.message_user(request, f"{message} {moved}", messages.SUCCESS)


@dataclass
class SplitRow:
    """One outstanding record of the preview, with the successor chosen for it."""

    kind: str
    record: object
    target: Unit

    @property
    def field(self) -> str:
        return f"assign-{self.kind}-{self.record.pk}"

    @property
    def kind_label(self) -> str:
        return capfirst(self.record._meta.verbose_name)

    @property
    def lead(self) -> Unit:
        return getattr(self.record, mergers.WORK_KINDS[self.kind].lead)


def split_work(modeladmin, request, queryset, form):
    """The second step of a split merger: every outstanding record of the selected units with
    a successor to choose (the default one preselected) and how many each would take. Nothing
    is written until confirmed, and only over the list as it was shown (its fingerprint)."""
    successors = form.successors()
    by_pk = {str(unit.pk): unit for unit in successors}
    records = mergers.merger_records(queryset)
    rows = [
        SplitRow(kind=kind, record=record, target=successors[0])
        for kind, listed in records.items()
        for record in listed
    ]
    fingerprint = mergers.work_fingerprint(row.record for row in rows)
    shown = request.POST.get("step") == SPLIT
    errors = []
    if shown and request.POST.get("fingerprint") != fingerprint:
        errors.append(
            _(
                "The outstanding records of these units changed after the list was shown: "
                "nothing was merged. Check the list below again, then confirm."
            )
        )
    for row in rows if shown else ():
        value = request.POST.get(row.field) or str(successors[0].pk)
        if value in by_pk:
            row.target = by_pk[value]
        else:
            errors.append(
                _("Choose one of the listed successors for %(kind)s “%(record)s”.")
                % {"kind": row.record._meta.verbose_name, "record": row.record}
            )
    if shown and "confirm" in request.POST and not errors:
        try:
            result = services.unit_merge(
                units=queryset,
                successor=successors[0],
                dissolved_on=form.cleaned_data["dissolved_on"],
                user=request.user,
                assignments={
                    (row.kind, row.record.pk): row.target
                    for row in rows
                    if row.target != successors[0]
                },
            )
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            report_merger(modeladmin, request, result)
            return None
    shares = [
        {
            "successor": unit,
            "tasks": sum(row.kind == "tasks" and row.target == unit for row in rows),
            "followups": sum(row.kind == "followups" and row.target == unit for row in rows),
        }
        for unit in successors
    ]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Split the work of the merged units"),
        "subtitle": None,
        "opts": modeladmin.model._meta,
        "form": form,
        "units": list(queryset.order_by(vietnamese("full_name"), "pk")),
        "rows": rows,
        "successors": successors,
        "shares": shares,
        "fingerprint": fingerprint,
        "errors": errors,
        "step": SPLIT,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/coordination/merge_units_split.html", context)


def report_result(modeladmin, request, result, changed_message, skipped_message):
    """Say how many records a bulk action changed and how many it left alone, and why."""
    if result.changed:
        modeladmin.message_user(request, changed_message(result.changed), messages.SUCCESS)
    if result.skipped:
        modeladmin.message_user(request, skipped_message(result.skipped), messages.WARNING)
