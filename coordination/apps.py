from axes.apps import AppConfig as BaseAxesConfig
from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = _("Coordination records")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import pre_save

        import coordination.kinds  # noqa: F401  (completes the registry of record kinds)
        from coordination.admin import hide_the_queue
        from coordination.db_functions import register_functions, register_lookups
        from coordination.history import skip_history_of_fixture_rows

        hide_the_queue()
        register_lookups()
        connection_created.connect(register_functions, dispatch_uid="coordination_sql_functions")
        pre_save.connect(skip_history_of_fixture_rows, dispatch_uid="coordination_fixture_history")


class CoordinationAdminConfig(AdminConfig):
    default_site = "coordination.admin.site.coordination_site"


class AxesConfig(BaseAxesConfig):
    """django-axes under a Vietnamese heading in the admin (its models are translated in
    config/locale, as axes has no Vietnamese catalogue)."""

    verbose_name = _("Login attempts")
