"""Admin pages of users (with the units each works for) and of django-axes' login attempts."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coordination.models import UnitMember

# ---------------------------------------------------------------------------
# Users: which units a member of staff works for
# ---------------------------------------------------------------------------


class UnitMemberInline(admin.TabularInline):
    model = UnitMember
    extra = 0
    autocomplete_fields = ["unit"]
    fields = ["unit"]
    verbose_name_plural = _("units this user works for")


admin.site.unregister(User)


@admin.register(User)
class CoordinationUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, UnitMemberInline]


# ---------------------------------------------------------------------------
# Login attempts (django-axes)
# ---------------------------------------------------------------------------


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    """axes' own admin, whose clean-up action would fail (500) outside a login."""

    @admin.action(description=AccessAttemptAdmin.cleanup_expired_attempts.short_description)
    def cleanup_expired_attempts(self, request, queryset):
        # axes 8.3 measures expiry from `request.axes_attempt_time`, which only its login
        # handler sets; an admin action runs now.
        request.axes_attempt_time = timezone.now()
        return super().cleanup_expired_attempts(request, queryset)
