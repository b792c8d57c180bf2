"""In the import preview, the unit meant by each name the file wrote that named no single
unit, picked by the user (the rule: `coordination.importing.choices`)."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext as _

from coordination import uploads
from coordination.importing import choices
from coordination.models import Unit, UnitAlias


class UnitPickForm(forms.Form):
    """For each unresolved name: the unit among its candidates, or any other unit, and
    whether to keep the spelling as an alias."""

    def __init__(self, *args, names, may_save_aliases: bool, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = names
        self.may_save_aliases = may_save_aliases
        for index, name in enumerate(names):
            self.fields[f"unit_{index}"] = forms.TypedChoiceField(
                label=name.text,
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", _("— choose —")), *((u.pk, u.full_name) for u in name.candidates)],
            )
            self.fields[f"other_{index}"] = forms.ModelChoiceField(
                label=_("or another unit"),
                queryset=Unit.objects.all(),
                required=False,
                widget=AutocompleteSelect(UnitAlias._meta.get_field("unit"), admin_site),
            )
            if may_save_aliases:
                self.fields[f"alias_{index}"] = forms.BooleanField(
                    label=_("Keep this spelling as an alias"), required=False
                )

    def rows(self):
        """(name, its unit field, its other-unit field, its alias field or None) each."""
        for index, name in enumerate(self.names):
            alias = self[f"alias_{index}"] if self.may_save_aliases else None
            yield name, self[f"unit_{index}"], self[f"other_{index}"], alias

    def picks(self) -> dict[int, Unit]:
        """Index of a name → the unit picked for it (another unit before a candidate)."""
        found = {}
        candidates = [{unit.pk: unit for unit in name.candidates} for name in self.names]
        for index in range(len(self.names)):
            other = self.cleaned_data.get(f"other_{index}")
            picked = self.cleaned_data.get(f"unit_{index}")
            if other is not None:
                found[index] = other
            elif picked is not None:
                found[index] = candidates[index][picked]
        return found

    def kept(self) -> set[int]:
        """The indexes of the names whose spelling the user asked to keep as an alias (read
        as a checkbox reads, also when the form offered none: the rule says why not)."""
        checkbox = forms.CheckboxInput()
        return {
            index
            for index in range(len(self.names))
            if checkbox.value_from_datadict(self.data, self.files, f"alias_{index}")
        }

    def problems(self) -> list[str]:
        """The form's errors, each with the name it is about."""
        found = []
        for index, name in enumerate(self.names):
            for field_name in (f"unit_{index}", f"other_{index}"):
                for message in self.errors.get(field_name, ()):
                    found.append(f"“{name.text}”: {message}")
        return found


class UnitPickAdminMixin:
    """The import page's pick form, and the view that applies it to a stored upload."""

    def pick_form(self, request, names, data=None) -> UnitPickForm:
        return UnitPickForm(
            data,
            names=names,
            may_save_aliases=choices.may_save_aliases(request.user),
            admin_site=self.admin_site,
        )

    def keep_unresolved(self, request, token: str, report) -> None:
        """Keep the names the preview could not resolve with the upload, for the picks."""
        uploads.update_entry(
            request,
            token,
            kind=self.spreadsheet_kind,
            names=choices.names_to_store(report.unresolved_units),
        )

    def unit_choices(self, request, token: str) -> dict[str, int]:
        """The units picked so far for this upload's names (name key → unit id)."""
        entry = uploads.load_entry(request, token, kind=self.spreadsheet_kind) or {}
        return dict(entry.get("choices") or {})

    def import_units_view(self, request):
        """Apply the units picked in the preview, keep the aliases asked for, and preview the
        stored upload again with those choices."""
        posted, response = self.posted_upload(request)
        if response is not None:
            return response
        token, stored = posted
        entry = uploads.load_entry(request, token, kind=self.spreadsheet_kind)
        names = choices.names_from_store(entry.get("names"))
        form = self.pick_form(request, names, request.POST)
        problems, saved = [], []
        if form.is_valid():
            outcome = choices.unit_picks_apply(
                user=request.user, names=names, picks=form.picks(), keep=form.kept()
            )
            uploads.update_entry(
                request,
                token,
                kind=self.spreadsheet_kind,
                choices={**self.unit_choices(request, token), **outcome.choices},
            )
            problems, saved = outcome.problems, outcome.aliases
        else:
            problems = form.problems()
        return self.preview_stored(
            request, token, stored, pick_problems=problems, saved_aliases=saved
        )
