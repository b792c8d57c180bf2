"""What each user chose for themselves: the daily reminder digest."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    """A user's own settings: whether the daily reminder e-mail reaches them, and the day it
    was last sent (so that a second run of `send_reminders` the same day sends nothing)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="preference",
    )
    reminders_enabled = models.BooleanField(_("daily reminder e-mail"), default=True)
    reminders_sent_on = models.DateField(_("reminder e-mail last sent on"), null=True, blank=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return str(self.user)

    @classmethod
    def reminders_wanted(cls, user) -> bool:
        """Whether `user` wants the digest (yes until they turn it off)."""
        return not cls.objects.filter(user=user, reminders_enabled=False).exists()
