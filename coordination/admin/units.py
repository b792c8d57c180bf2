"""Admin pages of units and people: reference data every user may look up by name."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from coordination import scoping
from coordination.admin.actions import merge_units
from coordination.admin.base import RecordAdmin
from coordination.admin.filters import UnitLinks
from coordination.admin.spreadsheets import SpreadsheetAdminMixin
from coordination.models import Person, Unit, UnitAlias
from coordination.unit_names import unit_key


class UnitAliasFormSet(BaseInlineFormSet):
    """Each alias checks itself against the database (`UnitAlias.clean`); two new rows of
    one page that spell the same name are caught here, before the unique key refuses them."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data.get("name") or data.get("DELETE"):
                continue
            key = unit_key(data["name"])
            if key in seen:
                form.add_error("name", _("This spelling is given twice."))
            seen.add(key)


class UnitAliasInline(admin.TabularInline):
    """The spellings offices use for the unit, which imports resolve to it."""

    model = UnitAlias
    formset = UnitAliasFormSet
    fields = ["name"]
    extra = 0


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
    inlines = [UnitAliasInline]

    def has_merge_permission(self, request):
        # A merger moves records between units: only for those who manage every unit.
        allowed = self.has_change_permission(request)
        return allowed and scoping.allowed_unit_ids(request.user) is None

    def changelist_view(self, request, extra_context=None):
        # A merger posted by a user who may not merge is refused outright (403), rather than
        # answered with the list as if no action had been chosen.
        posted = request.POST.get("action") if request.method == "POST" else None
        if posted == merge_units.__name__ and not self.has_merge_permission(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)


@admin.register(Person)
class PersonAdmin(SpreadsheetAdminMixin, RecordAdmin):
    autocomplete_unscoped = True
    list_display = ["full_name", "position", "unit", "is_active"]
    list_filter = [
        "is_active",
        "unit__kind",
        "unit__level",
        UnitLinks,
    ]
    autocomplete_fields = ["unit"]
