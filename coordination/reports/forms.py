"""The forms of the yearly report's document: what the user edits before downloading or
issuing it (number, date, subject, the body's sections, recipients, the signers)."""

from django import forms
from django.utils.translation import gettext_lazy

from coordination.models.base import YEAR_MAX, YEAR_MIN
from coordination.reports.document import SECTIONS, Edits, ReportDocument, Signature

#: The longest text of a section: the drafted limitations name at most `yearly.NAMED_UNITS` ×
#: `yearly.NAMED_PER_UNIT` records of at most `drafting.CLIP` characters (some 30,000 in all),
#: with room for the user's own.
MAX_TEXT = 50_000
MAX_ID = 2**63 - 1
ACTIONS = [
    ("preview", gettext_lazy("Preview")),
    ("docx", gettext_lazy("Download Word (.docx)")),
    ("issue", gettext_lazy("Issue")),
]


class DocumentForm(forms.Form):
    """The document's editable parts; empty fields keep what the figures say."""

    action = forms.ChoiceField(choices=ACTIONS, initial="preview", widget=forms.HiddenInput)
    number = forms.CharField(
        label=gettext_lazy("Number"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("E.g. “12/BC-UBND”; required to issue."),
    )
    date = forms.DateField(
        label=gettext_lazy("Report date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy(
            "Left empty: the issue date when issued; the year's last day for a past year."
        ),
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=500, required=False)
    opening = forms.CharField(
        label=gettext_lazy("Opening"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    results = forms.CharField(
        label=gettext_lazy("I. Results"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    limitations = forms.CharField(
        label=gettext_lazy("II. Limitations and their causes"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    directions = forms.CharField(
        label=gettext_lazy("III. Directions and tasks for next year"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    recommendations = forms.CharField(
        label=gettext_lazy("IV. Recommendations"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    recipients = forms.CharField(
        label=gettext_lazy("Recipients"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One a line; “Lưu: VT.” is added when missing."),
    )
    corrects = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    @classmethod
    def initial_of(cls, document: ReportDocument) -> dict:
        """The form's values for `document` (the defaults, or what was posted)."""
        initial = {
            "number": document.number,
            "subject": document.subject,
            "recipients": "\n".join(document.recipients),
        }
        for key, _title in SECTIONS:
            initial[key] = "\n".join(document.section(key).paragraphs)
        return initial

    def edits(self, signatures: list[Signature]) -> Edits:
        """The valid form's values, for `build_document`."""
        data = self.cleaned_data
        return Edits(
            number=data["number"],
            date=data["date"],
            subject=data["subject"],
            texts={key: data[key] for key, _title in SECTIONS},
            recipients=data["recipients"],
            signatures=signatures,
        )


class SignatureForm(forms.Form):
    """One issuing body's signature block."""

    authority = forms.CharField(label=gettext_lazy("Authority"), max_length=200, required=False)
    title = forms.CharField(label=gettext_lazy("Signer's title"), max_length=200, required=False)
    name = forms.CharField(label=gettext_lazy("Signer"), max_length=200, required=False)


SignatureFormSet = forms.formset_factory(
    SignatureForm, extra=0, max_num=20, validate_max=True, absolute_max=20
)


def signature_initial(document: ReportDocument) -> list[dict]:
    return [
        {
            "authority": party.signature.authority,
            "title": party.signature.title,
            "name": party.signature.name,
        }
        for party in document.parties
    ]


def signatures_of(formset) -> list[Signature]:
    """The valid formset's signature blocks, in the parties' order."""
    return [
        Signature(
            form.cleaned_data.get("authority", "").strip().upper(),
            form.cleaned_data.get("title", "").strip().upper(),
            form.cleaned_data.get("name", "").strip(),
        )
        for form in formset.forms
    ]


class IssuedFilterForm(forms.Form):
    """The list of issued reports: one year, one unit or one agreement (by id)."""

    year = forms.IntegerField(
        label=gettext_lazy("Year"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX
    )
    unit = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )
    agreement = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )
