"""The three roles of the system, as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN, UNIT_STAFF, AUDITOR = "Quản trị", "Cán bộ đơn vị", "Kiểm tra – giám sát"
MODELS = [
    "unit",
    "person",
    "unitmember",
    "agreement",
    "agreementparty",
    "signatory",
    "indicator",
    "meeting",
    "task",
    "followup",
]
SPREADSHEET_MODELS = [
    "unit",
    "person",
    "agreement",
    "signatory",
    "indicator",
    "meeting",
    "task",
    "followup",
]


def role_permissions():
    view = [f"view_{model}" for model in MODELS]
    export = [f"export_{model}" for model in SPREADSHEET_MODELS]
    staff_models = ["task", "followup", "indicator"]
    return {
        ADMIN: None,  # every permission of the app and of user management
        UNIT_STAFF: [
            *view,
            *export,
            *[f"{action}_{model}" for model in staff_models for action in ("add", "change")],
            *[f"import_{model}" for model in staff_models],
        ],
        AUDITOR: [*view, *export, "view_all_units"],
    }


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in role_permissions().items():
        group, _created = Group.objects.get_or_create(name=name)
        if codenames is None:
            permissions = Permission.objects.filter(
                content_type__app_label__in=["coordination", "auth"]
            )
        else:
            permissions = Permission.objects.filter(
                content_type__app_label="coordination", codename__in=codenames
            )
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            assert not missing, f"unknown permissions for {name}: {missing}"
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[ADMIN, UNIT_STAFF, AUDITOR]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("coordination", "0004_history"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
