"""The daily reminder e-mail: one message a day to each member of staff of a unit, listing their
units' overdue and due-soon tasks and follow-up items (`reminders`), with links to the site.

Who gets it: active staff users who work for a unit (`UnitMember`), have an e-mail address
and have not turned it off (`UserPreference.reminders_enabled`), on days when their units have
something overdue or due soon. The day it went out is recorded per user before sending, by a
conditional update, so a second run the same day (or two at once) sends nothing more; a
message the mail server refused is recorded as not sent, and the next run tries again.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coordination import reminders
from coordination.models import Unit, UnitMember, UserPreference
from coordination.text import person_name

logger = logging.getLogger(__name__)


@dataclass
class DigestRun:
    """What one run did: the messages sent, and the users skipped and why."""

    sent: list = field(default_factory=list)
    nothing_due: int = 0
    already_sent: int = 0
    failed: list = field(default_factory=list)


def recipients(today: datetime.date):
    """The users a digest may go to today (before looking at their units' work)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, unit_memberships__isnull=False)
        .exclude(email="")
        .exclude(preference__reminders_enabled=False)
        .exclude(preference__reminders_sent_on=today)
        .distinct()
        .order_by("username")
    )


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def digests_send(*, today: datetime.date | None = None, connection=None) -> DigestRun:
    """Send today's digests; each unit's work is read once, whatever its number of staff."""
    today = today or timezone.localdate()
    run = DigestRun()
    users = list(recipients(today))
    units_of: dict[int, list[int]] = {}
    for user_id, unit_id in UnitMember.objects.filter(user__in=users).values_list(
        "user_id", "unit_id"
    ):
        units_of.setdefault(user_id, []).append(unit_id)
    units = {unit.pk: unit for unit in Unit.objects.filter(pk__in=set().union(*units_of.values()))}
    work_cache: dict[tuple, reminders.UnitWork] = {}
    connection = connection or get_connection()
    with translation.override(settings.LANGUAGE_CODE):
        for user in users:
            kinds = reminders.deadline_kinds(user)
            works = []
            for unit_id in units_of.get(user.pk, ()):
                key = (unit_id, tuple(kind.name for kind in kinds))
                if key not in work_cache:
                    work_cache[key] = reminders.unit_work(units[unit_id], kinds=kinds, today=today)
                works.append(work_cache[key])
            works = [work for work in works if work.due_count]
            if not works:
                run.nothing_due += 1
                continue
            works.sort(key=lambda work: reminders.sort_key(work.unit.full_name))
            previous = _claim(user, today)
            if previous is False:
                run.already_sent += 1
                continue
            message = digest_message(user, works, today, connection=connection)
            try:
                message.send()
            except Exception as error:  # the mail server's refusal, whatever its class
                logger.exception("Reminder e-mail to %s not sent", user.email)
                UserPreference.objects.filter(user=user).update(reminders_sent_on=previous)
                run.failed.append((user, str(error)))
                continue
            run.sent.append(message)
    return run


def _claim(user, today):
    """Record today as the day `user`'s digest went out; False when a run already did (the
    previous date otherwise, to restore if the message is refused)."""
    preference, _created = UserPreference.objects.get_or_create(user=user)
    claimed = (
        UserPreference.objects.filter(pk=preference.pk)
        .filter(Q(reminders_sent_on__isnull=True) | ~Q(reminders_sent_on=today))
        .update(reminders_sent_on=today)
    )
    return preference.reminders_sent_on if claimed else False


def digest_message(user, works, today, *, connection=None) -> EmailMultiAlternatives:
    """The digest for `user`: plain text and HTML, in the site's language."""
    overdue = sum(work.overdue_count for work in works)
    near_due = sum(work.near_due_count for work in works)
    context = {
        "name": person_name(user),
        "works": works,
        "today": today,
        "until": works[0].until,
        "days": reminders.reminder_days(),
        "site_url": settings.SITE_URL,
        "my_work_url": absolute(reverse("coordination:my-work")),
    }
    subject = _("Reminders for %(date)s: %(overdue)s, %(near_due)s") % {
        "date": formats.date_format(today, "SHORT_DATE_FORMAT"),
        "overdue": ngettext("%(count)s overdue", "%(count)s overdue", overdue) % {"count": overdue},
        "near_due": ngettext("%(count)s due soon", "%(count)s due soon", near_due)
        % {"count": near_due},
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("coordination/email/reminders.txt", context),
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(
        render_to_string("coordination/email/reminders.html", context), "text/html"
    )
    return message
