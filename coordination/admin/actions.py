"""Admin actions: merging units into a successor (with a confirmation page of its own), and
the messages a bulk action reports."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from coordination import scoping, services
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

    def __init__(self, *args, selected, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a unit that still exists in its own right can take over, never a merged one.
        self.fields["successor"].queryset = Unit.objects.filter(
            is_active=True, dissolved_on__isnull=True
        ).exclude(pk__in=selected.values("pk"))


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


@admin.action(description=_("Merge selected units into a successor…"), permissions=["merge"])
def merge_units(modeladmin, request, queryset):
    """Ask for the successor and the date, then hand the units' outstanding work over."""
    if not may_merge_units(modeladmin, request):
        raise PermissionDenied
    form = MergeUnitsForm(request.POST if request.POST.get("post") else None, selected=queryset)
    if form.is_bound and form.is_valid():
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
            message = ngettext(
                "%(count)d unit merged into %(successor)s.",
                "%(count)d units merged into %(successor)s.",
                result.units,
            ) % {"count": result.units, "successor": form.cleaned_data["successor"]}
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
            modeladmin.message_user(request, f"{message} {moved}", messages.SUCCESS)
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


def report_result(modeladmin, request, result, changed_message, skipped_message):
    """Say how many records a bulk action changed and how many it left alone, and why."""
    if result.changed:
        modeladmin.message_user(request, changed_message(result.changed), messages.SUCCESS)
    if result.skipped:
        modeladmin.message_user(request, skipped_message(result.skipped), messages.WARNING)
