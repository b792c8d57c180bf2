"""The agreement's page “Next year's programme”: choose the year and a meeting, preview,
confirm. The rules are `coordination.programme`'s; this page asks and shows."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination import programme
from coordination.models import Meeting
from coordination.models.base import YEAR_MAX, YEAR_MIN


class NextYearForm(forms.Form):
    """The year drafted from and the meeting whose conclusions become tasks."""

    year = forms.IntegerField(
        label=gettext_lazy("From the tasks of year"), min_value=YEAR_MIN, max_value=YEAR_MAX - 1
    )
    meeting = forms.ModelChoiceField(
        label=gettext_lazy("Conclusions of the meeting"),
        queryset=Meeting.objects.none(),
        required=False,
        empty_label=gettext_lazy("(none)"),
        help_text=gettext_lazy("Its open conclusions become tasks of the next year."),
    )

    def __init__(self, *args, agreement, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = programme.meetings_of(agreement)


def next_year_view(model_admin, request, object_id):
    """Preview next year's programme of an agreement (GET), create it (POST, confirmed)."""
    agreement = model_admin.get_object(request, object_id)
    if agreement is None or not model_admin.has_view_permission(request, agreement):
        raise Http404
    if not programme.may_draft(request.user, agreement):
        raise PermissionDenied
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "year" in request.GET else None)
    )
    form = NextYearForm(
        data, agreement=agreement, initial={"year": programme.default_year(agreement)}
    )
    draft = None
    if form.is_bound and form.is_valid():
        try:
            draft = programme.draft_next_year(
                agreement,
                form.cleaned_data["year"],
                meeting=form.cleaned_data["meeting"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
    if draft is not None and request.method == "POST":
        if request.POST.get("fingerprint") != draft.fingerprint:
            messages.warning(
                request, _("The records changed since the preview: review it again, then confirm.")
            )
        else:
            try:
                created = programme.create_next_year(draft, request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                return _created(request, created)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Next year's programme"),
        "subtitle": str(agreement),
        "opts": model_admin.model._meta,
        "original": agreement,
        "form": form,
        "draft": draft,
        "groups": [
            (name, programme.GROUP_LABELS[name], draft.group(name), draft.skipped_in(name))
            for name in programme.GROUPS
        ]
        if draft
        else [],
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/coordination/agreement/next_year.html", context)


def _created(request, created):
    tasks = reverse("admin:coordination_task_changelist")
    link = f"{tasks}?agreement={created.target.pk}&year={created.year}"
    message = _(
        "Programme %(year)s of %(number)s: %(total)d tasks created (%(repeated)d repeated, "
        "%(carried)d carried over, %(conclusion)d from conclusions)."
    ) % {
        "year": created.year,
        "number": created.target.number,
        "total": created.total,
        **created.counts,
    }
    messages.success(
        request, format_html('{} <a href="{}">{}</a>', message, link, capfirst(_("tasks")))
    )
    return HttpResponseRedirect(link)
