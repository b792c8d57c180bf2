"""The chosen records of an inline set's type-ahead boxes, read in one query per field.

Django's `AutocompleteSelect` draws its chosen record with a query of its own: an
agreement's page with 30 indicators and their parties and signatories asked for 43 units and
people one by one. The inline's formset reads them all at once and hands each box its record.
"""

from django.contrib.admin.widgets import AutocompleteSelect
from django.forms.models import BaseInlineFormSet, ModelChoiceField
from django.utils.functional import cached_property


def preload_chosen(forms) -> None:
    """Give every type-ahead box of `forms` its chosen record, one query per field."""
    if not forms:
        return
    for name, field in forms[0].fields.items():
        widget = getattr(field.widget, "widget", field.widget)
        if not isinstance(field, ModelChoiceField) or not isinstance(widget, AutocompleteSelect):
            continue
        chosen = {str(form[name].value()) for form in forms} - {"None", ""}
        records = {}
        if chosen:
            records = {str(record.pk): record for record in field.queryset.filter(pk__in=chosen)}
        for form in forms:
            box = form.fields[name].widget
            box = getattr(box, "widget", box)
            if isinstance(box, PreloadedAutocompleteSelect):
                box.records = records


class PreloadedAutocompleteSelect(AutocompleteSelect):
    """A type-ahead box that draws its chosen record from `records` when given them."""

    records: dict | None = None

    def optgroups(self, name, value, attr=None):
        chosen = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if self.records is None or any(pk not in self.records for pk in chosen):
            # Not read beforehand, or a value the formset did not know: Django's own query.
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        if not self.is_required and not self.allow_multiple_selected:
            default[1].append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance
        for pk in chosen:
            index = len(default[1])
            default[1].append(
                self.create_option(name, pk, label(self.records[pk]), set(chosen), index)
            )
        return [default]


class PreloadedChoicesFormSet(BaseInlineFormSet):
    """An inline formset whose type-ahead boxes read their chosen records together."""

    @cached_property
    def forms(self):
        forms = super().forms
        preload_chosen(forms)
        return forms
