"""Admin pages of units and people: reference data every user may look up by name."""

from django.contrib import admin

from coordination import scoping
from coordination.admin.actions import merge_units
from coordination.admin.base import RecordAdmin
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.models import Person, Unit


@admin.register(Unit)
class UnitAdmin(SpreadsheetAdminMixin, RecordAdmin):
    autocomplete_unscoped = True
    list_display = [
        "full_name",
        "short_name",
        "kind",
        "level",
        "locality",
        "parent",
        "is_active",
        "dissolved_on",
        "successor",
    ]
    list_filter = ["kind", "level", "is_active", "locality"]
    autocomplete_fields = ["parent", "successor"]
    actions = [merge_units]

    def has_merge_permission(self, request):
        # A merger moves records between units: only for those who manage every unit.
        allowed = self.has_change_permission(request)
        return allowed and scoping.allowed_unit_ids(request.user) is None


@admin.register(Person)
class PersonAdmin(SpreadsheetAdminMixin, RecordAdmin):
    autocomplete_unscoped = True
    list_display = ["full_name", "position", "unit", "is_active"]
    list_filter = [
        "is_active",
        "unit__kind",
        "unit__level",
        ("unit", admin.RelatedOnlyFieldListFilter),
    ]
    autocomplete_fields = ["unit"]
