"""The reports' query parameters: the record filters are the kinds' FilterSets', bound here;
the few choices that are no record filter (which records a table counts) are small forms.

A report binds the FilterSet of each kind it counts to the request's values of the
parameters it takes, so that `year`, `unit`, `predecessors` and `agreement` mean on a report
exactly what they mean on the /records/ list its numbers link to, and each is parsed by one
definition: the FilterSet's.
"""

from django import forms
from django.forms.utils import ErrorList
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from coordination import selectors


class OutstandingForm(forms.Form):
    """Which records the outstanding table counts; its record filters are the FilterSet's."""

    records = forms.ChoiceField(
        label=gettext_lazy("Records"),
        choices=[
            ("followups", gettext_lazy("Follow-up items")),
            ("tasks", gettext_lazy("Tasks (by lead unit)")),
        ],
        required=False,
    )


#: The record parameters of the outstanding table, parsed by the kind's FilterSet.
OUTSTANDING_FILTERS = ("year", "unit", "predecessors")
#: The record parameters of the yearly report, parsed by the kinds' FilterSets.
REPORT_FILTERS = ("year", "unit", "agreement", "predecessors")
#: Every query parameter of each page (the sweeps of tests/test_url_parameters.py read them).
OUTSTANDING_PARAMETERS = (*OutstandingForm.base_fields, *OUTSTANDING_FILTERS, "page")
REPORT_PARAMETERS = (*REPORT_FILTERS, "format", "corrects")


def bind_filters(kind, request, names, *, today=None, defaults=None):
    """The FilterSet of `kind` (a `RecordKind`) over what the user may read, bound to the
    request's values of the parameters `names` — the others are not this page's — and to the
    kind's `report_unit_params`, under which `unit` is the unit the reports group by.

    `defaults` gives the values of parameters the request does not name at all (an empty
    value is the user's: no filter). Unbound when the request has no parameters at all (the
    page's first visit) and there are no defaults."""
    data = None
    if request.GET or defaults:
        data = QueryDict(mutable=True)
        for name in names:
            if name in request.GET:
                data.setlist(name, request.GET.getlist(name))
            elif defaults and name in defaults:
                data[name] = defaults[name]
        for name, value in kind.report_unit_params.items():
            data[name] = value
    return selectors.record_filterset(kind.name, data, request=request, today=today)


class ShownForm:
    """The named fields of a few forms, shown as one form (`_filter_form.html`): a page's own
    choices and the parameters its FilterSet parses, in the order the page lists them."""

    def __init__(self, *parts):
        #: (form, field names) pairs.
        self.parts = parts

    def __iter__(self):
        for form, names in self.parts:
            for name in names:
                yield form[name]

    @property
    def media(self) -> forms.Media:
        media = forms.Media()
        for form, _names in self.parts:
            media += form.media
        return media

    def non_field_errors(self) -> ErrorList:
        errors = ErrorList()
        for form, _names in self.parts:
            errors.extend(form.non_field_errors())
        return errors
