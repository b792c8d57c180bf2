"""No lost updates: a form saves only over the version of the record it was opened on.

Every write path bumps `updated_at` (save(), the bulk actions, imports, mergers), so it is the
record's version. The change form carries the version it showed in a hidden field; on save the
record's row is locked (SELECT … FOR UPDATE, until the admin's transaction ends) and its
version compared. When somebody saved in between, the form is refused with who changed what,
and nothing is written: the user reopens the record and makes their change again.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coordination.history import has_history
from coordination.selectors import record_history_entries

VERSION_FIELD = "version"


def version_of(moment: datetime.datetime | None) -> str:
    return moment.isoformat() if moment else ""


class VersionedForm(forms.ModelForm):
    """A ModelForm refusing to save over a version of the record it did not show."""

    #: False for a form that deliberately writes an old version (simple-history's revert).
    check_version = True

    version = forms.CharField(
        widget=forms.HiddenInput, required=False, label=gettext_lazy("version")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields[VERSION_FIELD].initial = version_of(self.instance.updated_at)

    def clean(self):
        cleaned = super().clean()
        shown = (self.data.get(self.add_prefix(VERSION_FIELD)) or "").strip()
        if not self.check_version or self.instance.pk is None or not shown:
            return cleaned
        model = type(self.instance)
        current = (
            model._base_manager.select_for_update()
            .filter(pk=self.instance.pk)
            .values_list("updated_at", flat=True)
            .first()
        )
        if current is not None and version_of(current) != shown:
            raise ValidationError(conflict_message(self.instance, shown), code="stale")
        return cleaned


def conflict_message(record, shown: str) -> str:
    """Who changed the record since version `shown`, when, and each field from what to what."""
    try:
        since = datetime.datetime.fromisoformat(shown)
    except ValueError:
        since = None
    changes = []
    if has_history(type(record)) and since is not None:
        for entry in record_history_entries(record):
            # By the version each change produced: the entry's own date comes a moment after
            # the save, so the change the user saw would otherwise be listed too.
            if entry.version is None or entry.version <= since:
                continue
            when = formats.date_format(timezone.localtime(entry.date), "SHORT_DATETIME_FORMAT")
            who = entry.user or _("somebody")
            fields = "; ".join(f"{label}: {old} → {new}" for label, old, new in entry.changes)
            changes.append(f"{who} ({when}): {fields or entry.action}")
    message = _(
        "Somebody else saved this record after you opened it; your changes were not saved, "
        "so as not to overwrite theirs. Open the record again to see it as it is now, then "
        "make your changes again."
    )
    if changes:
        message += " " + _("Changes since you opened it: %(changes)s.") % {
            "changes": " | ".join(changes)
        }
    return message
