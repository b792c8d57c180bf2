"""The admin. Django imports this package at start-up, and these modules register the pages.

Read it top-down: `site` (the admin site, and the URL parameters every page checks), `filters`
(the list filters, from the kinds' FilterSets), `base` (what every record's admin shares:
scope, search, conflict checks, history), `spreadsheets` (import and export), `actions` (unit
merger), then one module per area in the order people work: `units`, `agreements`,
`meetings`, `tasks`, `followups`, `reports` (issued reports, report templates), `users`.
"""

from coordination.admin import (  # noqa: F401  (each registers its pages)
    agreements,
    followups,
    meetings,
    reports,
    tasks,
    units,
    users,
)


def hide_the_queue() -> None:
    """The job queue's own table (django-tasks-db registers its admin) is plumbing: people
    follow their jobs on *Việc đang chạy* (/jobs/), each their own. Called by the app's
    ready(), after the admin's autodiscovery."""
    from django.contrib import admin

    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return
    if admin.site.is_registered(DBTaskResult):
        admin.site.unregister(DBTaskResult)
