"""Admin pages of users and groups (with the units each works for, the permissions named in
Vietnamese) and of django-axes' login attempts."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from coordination.models import UnitMember, UserPreference

# ---------------------------------------------------------------------------
# Users: which units a member of staff works for
# ---------------------------------------------------------------------------


class UnitMemberInline(admin.TabularInline):
    model = UnitMember
    extra = 0
    autocomplete_fields = ["unit"]
    fields = ["unit"]
    verbose_name_plural = _("units this user works for")


class UserPreferenceInline(admin.StackedInline):
    """The user's own choice of the daily reminder e-mail, which administrators may change."""

    model = UserPreference
    can_delete = False
    max_num = 1
    fields = ["reminders_enabled", "reminders_sent_on"]
    readonly_fields = ["reminders_sent_on"]


# Django names permissions in English in the database ("Can add unit"), as the project's own
# do ("Can import tasks"): the permission lists of users and groups say them in Vietnamese.
PERMISSION_ACTIONS = {
    "add": _("Can add %(name)s"),
    "change": _("Can change %(name)s"),
    "delete": _("Can delete %(name)s"),
    "view": _("Can view %(name)s"),
    "import": _("Can import %(name)s"),
    "export": _("Can export %(name)s"),
}


def permission_label(permission) -> str:
    """ "application | model | permission", as Django shows it, in Vietnamese."""
    model = permission.content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is None:
        return str(permission)
    opts = model._meta
    if model_name == opts.model_name and action in PERMISSION_ACTIONS:
        name = opts.verbose_name_plural if action in ("import", "export") else opts.verbose_name
        label = PERMISSION_ACTIONS[action] % {"name": name}
    else:
        label = gettext(permission.name)
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {label}"


class PermissionLabels:
    """The permission lists of a user or group labelled by `permission_label`."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request=request, **kwargs)
        if db_field.name in ("permissions", "user_permissions"):
            field.label_from_instance = permission_label
        return field


admin.site.unregister(User)


@admin.register(User)
class CoordinationUserAdmin(PermissionLabels, UserAdmin):
    inlines = [*UserAdmin.inlines, UnitMemberInline, UserPreferenceInline]


admin.site.unregister(Group)


@admin.register(Group)
class CoordinationGroupAdmin(PermissionLabels, GroupAdmin):
    pass


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
