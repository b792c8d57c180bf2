"""Choices among many records (units, agreements) as a type-ahead box.

A province has thousands of units and agreements: a select listing them all weighs about a
megabyte on every page that offers it. `TypeaheadSelect` lists them as a plain select while
they are few (a unit's staff choosing among their own units); above `LIST_AT_MOST` it carries
the chosen record only and asks the admin's autocomplete (select2, shipped with Django) for
the names typed. The form field keeps its queryset, so a value typed into the URL is checked
as before: a record outside the user's choices is an error of the form, not a result.
"""

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property

#: A plain select lists up to this many choices; more are looked up as the user types.
LIST_AT_MOST = 50


class TypeaheadSelect(AutocompleteSelect):
    """A select of one record that becomes a type-ahead box when there are many to choose.

    `source` names a foreign key to the chosen model, as ("app_label", "model", "field"):
    the admin's autocomplete answers for that field with what its ModelAdmin lets the user
    look up (every unit: `UnitAdmin.autocomplete_unscoped`; the agreements the user may read).
    """

    def __init__(self, source: tuple[str, str, str], placeholder="", *, check, attrs=None):
        self.source = source
        self.placeholder = placeholder
        #: check(value, model field): raises ValidationError for a value the database
        #: cannot compare with the field (`coordination.filters.check_value`).
        self.check = check
        super().__init__(None, admin.site, attrs)

    # AutocompleteSelect keeps its source field as `field`; the models are not loaded when
    # the FilterSets are declared, so it is looked up when first needed.
    @cached_property
    def source_field(self):
        app_label, model_name, field_name = self.source
        return apps.get_model(app_label, model_name)._meta.get_field(field_name)

    @property
    def field(self):
        return self.source_field

    @field.setter
    def field(self, value):
        if value is not None:
            self.__dict__["source_field"] = value

    def __deepcopy__(self, memo):
        copied = super().__deepcopy__(memo)
        copied.__dict__.pop("many", None)  # asked again for each form
        return copied

    @cached_property
    def many(self) -> bool:
        """Whether there are more choices than a select lists: one query, which also gives
        the choices of a plain select."""
        iterator = self.choices
        rows = list(iterator.queryset[: LIST_AT_MOST + 1])
        if len(rows) > LIST_AT_MOST:
            return True
        empty = iterator.field.empty_label
        self.choices = [*([("", empty)] if empty is not None else []), *map(iterator.choice, rows)]
        return False

    @property
    def media(self):
        # select2 and Django's autocomplete, only on a page that has a type-ahead box.
        return super().media if self.many else forms.Media()

    def build_attrs(self, base_attrs, extra_attrs=None):
        if not self.many:
            return forms.Select.build_attrs(self, base_attrs, extra_attrs)
        attrs = super().build_attrs(base_attrs, extra_attrs)
        # Django leaves the placeholder empty; an empty box says nothing of what to type.
        attrs["data-placeholder"] = str(self.placeholder)
        return attrs

    def optgroups(self, name, value, attr=None):
        if not self.many:
            return forms.Select.optgroups(self, name, value, attr)
        # Only what the database can compare with the ids: the form has refused the rest
        # with its own message, and the page shows that value as not chosen.
        return super().optgroups(name, [item for item in value if self.is_id(item)], attr)

    def is_id(self, value) -> bool:
        if value in (None, ""):
            return False
        try:
            self.check(str(value), self.choices.queryset.model._meta.pk)
        except ValidationError:
            return False
        return True
