"""Hostile URL parameters on every admin and /records/ page: an answer, never a server error.

For every admin changelist (every registered model: ours, users, groups, login attempts), its
export and its actions, every autocomplete, every per-object admin URL (change, delete,
history, a history version, "view on site", the add page's initial values), every /records/
list, export, detail, outstanding and report page and the agreement scans under /files/, each
parameter the page accepts (and each id in its path) is sent with values a user can type or a
script can send: text for a number, negative and huge integers (beyond int64), a float, empty,
10,000 characters, 600 words, NUL and control characters, other scripts, SQL-ish text, a list,
the parameter repeated and in `name[]=` list syntax. One parameter at a time, the others valid.

The parameters are found from the pages themselves: the admins' list filters (the FilterSets'
parameters with them), date hierarchies, actions and autocomplete fields, the admin's own
(`q`, `o`, `p`, `e`, `_popup`, `_to_field`, `_facets`, `all`), a lookup on each model field
(the admin takes any), the FilterSets of /records/, the report pages' parameters.

Three users. The superuser sends every value; unit staff, whose pages read through their
units' scope, those the database could fail on (`STAFF_VALUES`); the auditor, who reads what
the superuser reads, two (`VALUES`). A parameter read by code swept in full elsewhere gets
fewer: a FilterSet's in the admin (after /records/), django-filter's standard fields, Django's
own changelist parameters (in full on one admin, `GENERIC_ADMINS`); the text variants go to
free-text parameters only. This keeps the module under a minute on SQLite.

Each page must answer below 500 without raising (the test client re-raises a view's
exception). Each request runs in its own savepoint, so that a database error on PostgreSQL
(NUL in a string, an integer out of range) fails its own request only.

The records are built once for the module, in a transaction rolled back at its end.
"""

import datetime
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import django_filters
import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import models, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from coordination import kinds
from coordination.admin.filters import FilterSetFilter, LinksFilter
from coordination.choices import FollowUpStatus, UnitKind
from coordination.filters import MAX_SEARCH_WORDS
from coordination.history import has_history
from coordination.models import Task
from coordination.reports import OUTSTANDING_PARAMETERS, REPORT_PARAMETERS
from tests.factories import (
    days,
    make_agreement,
    make_followup,
    make_indicator,
    make_meeting,
    make_member,
    make_person,
    make_signatory,
    make_superuser,
    make_task,
    make_unit,
    make_user,
)
from tests.shared import rolled_back

ROLES = ("superuser", "auditor", "staff")
OrderingFilter = django_filters.OrderingFilter
#: django-filter's standard fields, validated by their form field.
STANDARD_FILTERS = (django_filters.ChoiceFilter, django_filters.DateFilter)
AUDITOR_GROUP, STAFF_GROUP = "Kiểm tra – giám sát", "Cán bộ đơn vị"

HUGE = "9" * 23
WORDS_600 = " ".join(f"từ{n}" for n in range(600))
#: (name, value): one hostile value of a query parameter or of an id in a path.
HOSTILE = [
    ("text", "abc"),
    ("negative", "-1"),
    ("huge", HUGE),
    ("huge-negative", f"-{HUGE}"),
    ("int64+1", "9223372036854775808"),
    ("float", "1.5"),
    ("empty", ""),
    ("long", "x" * 10_000),
    ("600 words", WORDS_600),
    ("nul", "a\x00b"),
    ("control", "\x01\x08\x1b[2J\x7f"),
    ("unicode", "Đầm Hà ｘ😀\u202e\ufeff\u0301"),
    ("sql", "1' OR '1'='1'; DROP TABLE coordination_task; --"),
    ("list", f"1,2,{HUGE}"),
]
#: Query strings built from a parameter name: the same name twice, and PHP's list syntax.
SHAPES = [
    ("repeated", lambda name: f"{quote(name)}=1&{quote(name)}=abc"),
    ("list syntax", lambda name: f"{quote(name)}[]=1&{quote(name)}[]=2"),
]
#: Variants of text that only a free-text parameter (a search, a term, an id in a path) reads
#: otherwise than "text": to any other parameter they are one more word that is no number.
TEXT_VARIANTS = ["long", "control", "unicode", "sql"]
#: The values the database itself could fail on (or that change the query's shape).
DATABASE_VALUES = ["text", "huge", "nul", "600 words", "list", "repeated", "list syntax"]
#: Unit staff's values: those of the database whose reading their units' scope could change.
STAFF_VALUES = ["huge", "nul", "600 words", "list", "repeated"]
#: The worst three: the auditor's values (who reads what the superuser reads), and every
#: user's for a parameter read by code swept in full on another page (a FilterSet's in the
#: admin and on exports after its /records/ list, django-filter's standard fields).
SHARED_VALUES = ["huge", "nul", "600 words"]
VALUES = {
    "superuser": [label for label, _value in HOSTILE + SHAPES],
    "staff": STAFF_VALUES,
    # Through the superuser's querysets (every unit), with fewer permissions.
    "auditor": ["huge", "600 words"],
}
#: The admin's own parameters besides the search `q`: order, page, error flag, popup, facets,
#: show all, and the change and add pages' `_to_field`, `_popup`, `_changelist_filters`, and
#: an action's name and index. Django reads them the same way whoever asks and whatever the
#: model: the superuser alone sends them, on `GENERIC_ADMINS`.
GENERIC_PARAMETERS = ["o", "p", "e", "_popup", "_to_field", "_facets", "all"]
GENERIC_ADMINS = ("coordination.task",)

PAGE_KINDS = [kind.name for kind in kinds.all_kinds() if kind.has_pages]


def hostile_queries(name: str, values):
    """(label, query string) for each hostile value of the parameter `name` in `values`."""
    for label, value in HOSTILE:
        if label in values:
            yield label, urlencode({name: value})
    for label, shape in SHAPES:
        if label in values:
            yield label, shape(name)


def path_values(values):
    """(label, path segment) for each hostile id in `values`."""
    for label, value in HOSTILE:
        if value and label in values:
            yield label, quote(value, safe="")


# ---------------------------------------------------------------------------------------------
# The records, built once for the module
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def town(django_db_setup, django_db_blocker):
    """Two units (one dissolved into the other), their records and one user per role; the
    staff member works for unit A. Rolled back at the end of the module."""
    with rolled_back(django_db_blocker):
        yield build_town()


def build_town():
    a = make_unit(full_name="Ủy ban nhân dân xã Tân Hà", short_name="UBND xã Tân Hà")
    b = make_unit(
        full_name="Hội Nông dân xã Tân Xuân", short_name="HND", kind=UnitKind.SOCIO_POLITICAL
    )
    old = make_unit(
        full_name="Phòng Văn hóa (cũ)",
        is_active=False,
        dissolved_on=datetime.date(2020, 6, 30),
        successor=a,
    )
    person_a = make_person(unit=a)
    person_b = make_person(unit=b)
    agreement_a = make_agreement(parties=[a], start_year=2024, end_year=2025, scan="scans/a.pdf")
    agreement_b = make_agreement(parties=[b], start_year=2024, end_year=2025, scan="scans/b.pdf")
    meeting_a = make_meeting()
    meeting_a.attending_units.add(a)
    meeting_a.agreements.add(agreement_a)
    meeting_b = make_meeting()
    meeting_b.attending_units.add(b)
    first = make_followup(
        responsible_unit=a, year=2023, due_date=days(-40), status=FollowUpStatus.CARRIED_OVER
    )
    records = {
        "unit": (a, b),
        "person": (person_a, person_b),
        "agreement": (agreement_a, agreement_b),
        "signatory": (
            make_signatory(agreement=agreement_a, person=person_a, unit=a),
            make_signatory(agreement=agreement_b, person=person_b, unit=b),
        ),
        "indicator": (
            make_indicator(agreement=agreement_a, unit=a, year=2024),
            make_indicator(agreement=agreement_b, unit=b, year=2024),
        ),
        "meeting": (meeting_a, meeting_b),
        "task": (
            make_task(agreement=agreement_a, lead_unit=a, due_date=days(-10), meeting=meeting_a),
            make_task(agreement=agreement_b, lead_unit=b, due_date=days(10)),
        ),
        "followup": (
            make_followup(
                responsible_unit=a,
                year=2024,
                due_date=days(-5),
                agreement=agreement_a,
                carried_over_from=first,
            ),
            make_followup(responsible_unit=b, year=2024, due_date=days(5)),
        ),
    }
    auditor = make_user(username="kiem-tra")
    auditor.groups.add(Group.objects.get(name=AUDITOR_GROUP))
    staff = make_user(username="can-bo-tan-ha")
    staff.groups.add(Group.objects.get(name=STAFF_GROUP))
    make_member(staff, a)
    users = {"superuser": make_superuser(username="quan-tri"), "auditor": auditor, "staff": staff}
    # A failed login and a session, so that the login attempts' admin pages have rows.
    login = {"user_agent": "Firefox", "ip_address": "10.0.0.1", "username": "quan-tri"}
    login.update(http_accept="*/*", path_info="/admin/login/", attempt_time=timezone.now())
    AccessAttempt.objects.create(**login, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**login)
    return SimpleNamespace(a=a, b=b, old=old, records=records, users=users)


# ---------------------------------------------------------------------------------------------
# Sending requests
# ---------------------------------------------------------------------------------------------


class Sweep:
    """A logged-in client that sends requests and keeps every server error it meets."""

    def __init__(self, town, role: str):
        self.client = Client()
        self.client.force_login(town.users[role])
        self.values = VALUES[role]
        #: Whether to send what every user's request reads the same way (generic parameters,
        #: lookups on each field): the superuser does.
        self.generic = role == "superuser"
        self.faults = []
        self.sent = 0

    def send(self, address: str, label: str, data=None):
        """GET `address`, or POST `data` to it; a server error is kept, not raised."""
        self.sent += 1
        try:
            # A savepoint per request: on PostgreSQL a failed statement spoils the rest of
            # the transaction, and this request's fault must not become the next one's.
            with transaction.atomic():
                if data is None:
                    response = self.client.get(address)
                else:
                    response = self.client.post(address, data)
        except Exception as error:  # the test client re-raises the view's exception
            self.faults.append(f"{label}: {address[:150]!r} raised {type(error).__name__}: {error}")
            return None
        if response.status_code >= 500:
            self.faults.append(f"{label}: {address[:150]!r} answered {response.status_code}")
        return response

    def only(self, labels) -> list[str]:
        """The user's values among `labels` (all of them without `labels`)."""
        return self.values if labels is None else [v for v in self.values if v in labels]

    def each(self, address: str, lookups, *, base: dict | None = None):
        """GET `address` with each (parameter, value labels) of `lookups`."""
        for name, labels in lookups:
            self.sweep(address, [name], base=base, only=labels)

    def sweep(self, address: str, names, *, base=None, only=None, text=False):
        """GET `address` with each parameter of `names` set to each of the user's hostile
        values (those among `only`; the `TEXT_VARIANTS` only for a free-text parameter), the
        others as in `base`."""
        base = base or {}
        values = [v for v in self.only(only) if text or v not in TEXT_VARIANTS]
        for name in names:
            rest = urlencode({key: value for key, value in base.items() if key != name})
            for label, query in hostile_queries(name, values):
                joined = "&".join(part for part in (rest, query) if part)
                self.send(f"{address}?{joined}", f"{name}={label}")

    def paths(self, address, only=None):
        """GET `address(segment)` for each of the user's hostile ids (those among `only`)."""
        for label, segment in path_values(self.only(only)):
            self.send(address(segment), f"id={label}")

    def assert_no_faults(self):
        report = "\n".join(self.faults[:60])
        assert not self.faults, f"{len(self.faults)} of {self.sent} requests failed:\n{report}"


# ---------------------------------------------------------------------------------------------
# The parameters each page accepts, found from its admin, FilterSet or form
# ---------------------------------------------------------------------------------------------

ADMINS = {
    f"{model._meta.app_label}.{model._meta.model_name}": model_admin
    for model, model_admin in admin.site._registry.items()
}
SPREADSHEET_ADMINS = sorted(
    label for label, model_admin in ADMINS.items() if hasattr(model_admin, "spreadsheet_kind")
)
HISTORY_ADMINS = sorted(
    label for label, model_admin in ADMINS.items() if has_history(model_admin.model)
)


def url_name(model_admin, view: str) -> str:
    opts = model_admin.model._meta
    return f"admin:{opts.app_label}_{opts.model_name}_{view}"


def changelist_parameters(model_admin, user) -> tuple[list[str], list[str]]:
    """The query parameters of an admin list: its list filters', its date hierarchy's and
    the admin's own; then those its FilterSet reads (swept in full on /records/ too)."""
    request = RequestFactory().get("/")
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names, filterset_names = [], []
    for spec in changelist.filter_specs:
        if isinstance(spec, FilterSetFilter):
            filterset_names += spec.expected_parameters()
        else:
            names += spec.expected_parameters()
        if isinstance(spec, LinksFilter):
            names.append(spec.parameter_name)
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    names = list(dict.fromkeys([*names, "q", *GENERIC_PARAMETERS]))
    return names, [name for name in filterset_names if name not in names]


def field_lookups(model) -> list[tuple[str, list[str]]]:
    """The admin's lookups on the model's own fields (it allows any local field), each with
    the values that matter to it: a NUL in each field; a huge number for the ids, relations
    and numbers (one, a list, a bound) and for a date's year; text for the other types that
    are no text (dates, yes/no, addresses)."""
    lookups = []
    for model_field in model._meta.concrete_fields:
        name = model_field.name
        if model_field.is_relation or isinstance(model_field, models.IntegerField):
            lookups += [(name, ["nul", "huge"]), (f"{name}__in", ["list"])]
            lookups.append((f"{name}__gte", ["huge"]))
        elif isinstance(model_field, (models.CharField, models.TextField)):
            lookups.append((name, ["nul"]))
        else:
            lookups.append((name, ["nul", "text"]))
        if isinstance(model_field, models.DateField):
            lookups.append((f"{name}__year", ["huge"]))
    return lookups


def autocomplete_sources() -> list[tuple[str, str, str]]:
    """(app_label, model_name, field_name) of one autocomplete field per model searched."""
    sources = {}
    for model, model_admin in admin.site._registry.items():
        fields = [(model, name) for name in model_admin.autocomplete_fields]
        for inline in model_admin.inlines:
            fields += [(inline.model, name) for name in inline.autocomplete_fields]
        for source, name in fields:
            target = source._meta.get_field(name).related_model
            sources.setdefault(target, (source._meta.app_label, source._meta.model_name, name))
    return sorted(sources.values())


# ---------------------------------------------------------------------------------------------
# Admin
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(ADMINS))
def test_admin_changelist_parameters(town, db, role, label):
    """Every admin list, with each parameter it accepts, and a lookup on each field."""
    model_admin = ADMINS[label]
    sweep = Sweep(town, role)
    address = reverse(url_name(model_admin, "changelist"))
    names, filterset_names = changelist_parameters(model_admin, town.users["superuser"])
    sweep.sweep(address, ["q"], text=True)
    # Django's list filters (a field's choices, yes/no, dates, related records).
    django_names = [name for name in names if name not in ("q", *GENERIC_PARAMETERS)]
    sweep.sweep(address, django_names, only=DATABASE_VALUES)
    sweep.sweep(address, filterset_names, only=SHARED_VALUES)
    if sweep.generic:
        if label in GENERIC_ADMINS:
            sweep.sweep(address, GENERIC_PARAMETERS)
        sweep.each(address, field_lookups(model_admin.model))
    sweep.assert_no_faults()


def hostile_posts(name: str, values):
    """(label, form data) for each hostile value of the posted field `name` in `values`."""
    for label, value in HOSTILE:
        if label in values:
            yield label, {name: value}
    if "repeated" in values:
        yield "repeated", {name: ["1", "abc"]}
    if "list syntax" in values:
        yield "list syntax", {f"{name}[]": ["1", "2"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(ADMINS))
def test_admin_action_posts(town, db, role, label):
    """A list's actions posted for hostile record ids, action names and action indexes."""
    model_admin = ADMINS[label]
    sweep = Sweep(town, role)
    address = reverse(url_name(model_admin, "changelist"))
    request = RequestFactory().get(address)
    request.user = town.users["superuser"]
    actions = list(model_admin.get_actions(request))
    for action in actions:
        for label_, data in hostile_posts(ACTION_CHECKBOX_NAME, sweep.only(DATABASE_VALUES)):
            sweep.send(address, f"{action} {label_}", {"action": action, "index": "0"} | data)
    for name in ("action", "index") if sweep.generic and label in GENERIC_ADMINS else ():
        for label_, data in hostile_posts(name, sweep.values):
            selected = {"action": actions[0], "index": "0", ACTION_CHECKBOX_NAME: "1"}
            sweep.send(address, f"{name}={label_}", selected | data)
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", SPREADSHEET_ADMINS)
def test_admin_export_parameters(town, db, role, label):
    """The admin's export of a list: the file format, the list's parameters (the same list
    code as the changelist's: a few of them) and the import's error file token."""
    model_admin = ADMINS[label]
    sweep = Sweep(town, role)
    address = reverse(url_name(model_admin, "export"))
    sweep.sweep(address, ["_format"])
    names = ["q", "id", "id__in"]
    if model_admin.date_hierarchy:
        names.append(f"{model_admin.date_hierarchy}__year")
    sweep.sweep(address, names, base={"_format": "csv"}, only=SHARED_VALUES)
    errors = reverse(url_name(model_admin, "import_errors"), args=["0"])
    sweep.paths(lambda token: errors.replace("/0/", f"/{token}/"))
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
def test_autocomplete_parameters(town, db, role):
    """The admin's autocomplete of each model searched: the term typed and the page; and
    which field asks (app, model and field names)."""
    sweep = Sweep(town, role)
    address = reverse("admin:autocomplete")
    sources = autocomplete_sources()
    for app_label, model_name, field_name in sources:
        base = {"app_label": app_label, "model_name": model_name, "field_name": field_name}
        sweep.sweep(address, ["term"], base=base, text=True)
        sweep.sweep(address, ["page"], base=base | {"term": "Tân"})
    sweep.sweep(address, ["app_label", "model_name", "field_name"], base=base)
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", sorted(ADMINS))
def test_admin_object_ids(town, db, role, label):
    """Change, delete and history pages with a hostile id in the path; a record's change
    page with hostile `_to_field`, `_popup` and `_changelist_filters`; the add page with
    hostile initial values for each field."""
    model_admin = ADMINS[label]
    model = model_admin.model
    sweep = Sweep(town, role)
    # Every id on the admins of `GENERIC_ADMINS` and of records with a history (their
    # pages of their own), the database's values on the others (the same `get_object`).
    every = label in GENERIC_ADMINS or has_history(model)
    for view in ("change", "delete", "history"):
        address = reverse(url_name(model_admin, view), args=["0"])
        sweep.paths(
            lambda pk, address=address: address.replace("/0/", f"/{pk}/", 1),
            only=None if every else [*DATABASE_VALUES, "long"],
        )
    existing = model._default_manager.order_by("pk").first()
    add = reverse(url_name(model_admin, "add"))
    fields = [field for field in model._meta.get_fields() if field.concrete]
    if sweep.generic and label in GENERIC_ADMINS:
        if existing is not None:
            change = reverse(url_name(model_admin, "change"), args=[existing.pk])
            sweep.sweep(change, ["_to_field", "_popup", "_changelist_filters"], text=True)
        sweep.sweep(add, ["_to_field", "_popup"])
        sweep.sweep(add, [field.name for field in fields if not field.is_relation], only=["nul"])
    # A relation's initial value is looked up (autocomplete widgets); the others are only
    # shown in their inputs.
    sweep.sweep(add, [field.name for field in fields if field.is_relation], only=SHARED_VALUES)
    sweep.sweep(add, [field.name for field in fields if field.many_to_many], only=["list"])
    sweep.sweep(add, [field.name for field in fields if field.many_to_one], only=["text"])
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", HISTORY_ADMINS)
def test_history_version_ids(town, db, role, label):
    """A history version page (simple-history's, where posting reverts) with a hostile record
    id and a hostile version id, for a record of the user's unit."""
    model_admin = ADMINS[label]
    sweep = Sweep(town, role)
    record = town.records[model_admin.model._meta.model_name][0]
    version = record.history.earliest("history_id").history_id
    name = url_name(model_admin, "simple_history")
    address = reverse(name, args=["0", version])
    sweep.paths(lambda pk: address.replace("/0/", f"/{pk}/", 1))
    address = reverse(name, args=[record.pk, "0"])
    sweep.paths(lambda version_id: address.replace("/0/", f"/{version_id}/"))
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
def test_view_on_site_ids(town, db, role):
    """The admin's "view on site" redirect with hostile content type and object ids."""
    sweep = Sweep(town, role)
    address = reverse("admin:view_on_site", args=["0", "1"])
    sweep.paths(lambda content_type: address.replace("/0/1/", f"/{content_type}/1/"))
    address = reverse("admin:view_on_site", args=["1", "0"])
    sweep.paths(lambda pk: address.replace("/1/0/", f"/1/{pk}/"))
    sweep.assert_no_faults()


# ---------------------------------------------------------------------------------------------
# /records/
# ---------------------------------------------------------------------------------------------


def list_base(town, kind: str) -> dict:
    """Valid values of a list's filters, so that each hostile one is read with the others."""
    base = {"unit": town.a.pk, "predecessors": "yes"}
    if kind in ("tasks", "followups"):
        base["year"] = "2024"
    return base


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", sorted(PAGE_KINDS))
def test_record_list_and_export_parameters(town, db, role, kind):
    """A /records/ list and its export: each filter, the page, the sort and the format."""
    sweep = Sweep(town, role)
    filters = kinds.get(kind).filterset.base_filters
    # django-filter's own choice, date and yes/no fields: the form's standard validation.
    standard = [
        name
        for name, field in filters.items()
        if isinstance(field, STANDARD_FILTERS) and not isinstance(field, OrderingFilter)
    ]
    names = [*(name for name in filters if name not in (*standard, "q")), "page"]
    address = reverse("coordination:record-list", args=[kind])
    sweep.sweep(address, ["q"], text=True)
    sweep.sweep(address, names)
    sweep.sweep(address, standard, only=SHARED_VALUES)
    if sweep.generic:  # each filter again, read with the others set
        sweep.sweep(address, names, base=list_base(town, kind), only=["huge", "nul"])
    export = reverse("coordination:record-export", args=[kind])
    sweep.sweep(export, ["format"])
    sweep.sweep(export, ["q", "unit", "year"], base={"format": "csv"}, only=SHARED_VALUES)
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
def test_record_detail_ids(town, db, role):
    """A /records/ detail page with a hostile record kind or id, and unknown parameters."""
    sweep = Sweep(town, role)
    for kind in [*PAGE_KINDS, "users"]:
        sweep.paths(lambda pk, kind=kind: f"/records/{kind}/{pk}/")
    sweep.paths(lambda kind: f"/records/{kind}/")
    task = town.records["task"][0]
    address = reverse("coordination:record-detail", args=["tasks", task.pk])
    sweep.sweep(address, ["page", "q"], text=True)
    sweep.sweep(reverse("coordination:records"), ["q"], text=True)
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
def test_outstanding_and_report_parameters(town, db, role):
    """The outstanding table and the yearly report: each of their parameters."""
    sweep = Sweep(town, role)
    outstanding = reverse("coordination:outstanding")
    names = list(OUTSTANDING_PARAMETERS)
    sweep.sweep(outstanding, names)
    base = {"records": "tasks", "year": "2024", "unit": town.a.pk, "predecessors": "yes"}
    sweep.sweep(outstanding, names, base=base)
    report = reverse("coordination:report")
    names = list(REPORT_PARAMETERS)
    for base in (
        {"year": "2024", "unit": town.a.pk, "predecessors": "yes", "format": "xlsx"},
        {"year": "2024", "agreement": town.records["agreement"][0].pk},
    ):
        sweep.sweep(report, names, base=base)
    sweep.assert_no_faults()


@pytest.mark.parametrize("role", ROLES)
def test_agreement_scan_paths(town, db, role):
    """/files/ with hostile paths."""
    sweep = Sweep(town, role)
    sweep.paths(lambda path: f"/files/{path}")
    sweep.paths(lambda path: f"/files/scans/{path}")
    sweep.assert_no_faults()


# ---------------------------------------------------------------------------------------------
# What the user sees
# ---------------------------------------------------------------------------------------------


def words(count: int) -> str:
    return " ".join(f"từ{n}" for n in range(count))


def too_many_words(count: int) -> str:
    with translation.override("vi"):
        return gettext("Search for at most %(limit)d words (this search has %(count)d).") % {
            "limit": MAX_SEARCH_WORDS,
            "count": count,
        }


def client_of(town, role: str) -> Client:
    client = Client()
    client.force_login(town.users[role])
    return client


@pytest.mark.parametrize("kind", sorted(PAGE_KINDS))
def test_a_search_of_too_many_words_is_a_form_error_on_records_pages(town, db, kind):
    """/records/ lists and exports answer 400 with the form's Vietnamese message and no rows;
    a search of `MAX_SEARCH_WORDS` words is still a search."""
    client = client_of(town, "staff")
    address = reverse("coordination:record-list", args=[kind])
    response = client.get(address, {"q": WORDS_600})
    assert response.status_code == 400
    assert too_many_words(600) in response.content.decode()
    assert "từ0 từ1" in response.content.decode()  # the search stays in the box
    assert client.get(address, {"q": words(MAX_SEARCH_WORDS + 1)}).status_code == 400
    assert client.get(address, {"q": words(MAX_SEARCH_WORDS)}).status_code == 200
    export = reverse("coordination:record-export", args=[kind])
    assert client.get(export, {"q": WORDS_600, "format": "csv"}).status_code == 400


@pytest.mark.parametrize("model", ["task", "followup", "unit", "person"])
def test_a_search_of_too_many_words_in_the_admin(town, db, model):
    """The admin's list answers as for an invalid lookup (back to the list with `?e=1`), and
    says why; its export refuses rather than exporting the whole list; the autocomplete
    answers 400."""
    client = client_of(town, "superuser")
    address = reverse(f"admin:coordination_{model}_changelist")
    response = client.get(address, {"q": WORDS_600})
    assert (response.status_code, response["Location"]) == (302, f"{address}?e=1")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        too_many_words(600)
    ]
    assert client.get(address, {"q": words(MAX_SEARCH_WORDS)}).status_code == 200
    export = reverse(f"admin:coordination_{model}_export")
    response = client.get(export, {"q": WORDS_600, "_format": "csv"})
    assert (response.status_code, response["Location"]) == (302, address)
    field = {"task": "meeting", "followup": "meeting", "unit": "parent", "person": "unit"}[model]
    query = {"app_label": "coordination", "model_name": model, "field_name": field}
    response = client.get(reverse("admin:autocomplete"), query | {"term": WORDS_600})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"carried_over_from": "99999999999999999999999"},
        {"responsible_unit__in": f"1,{HUGE}"},
        {"year__in": HUGE},
        {"content": "a\x00b"},
        {"due_date__year": "99999"},
    ],
    ids=lambda query: next(iter(query)),
)
def test_a_lookup_the_database_cannot_compare_is_an_invalid_lookup(town, db, query):
    """The admin's answer to an invalid lookup: back to the list with `?e=1`."""
    address = reverse("admin:coordination_followup_changelist")
    response = client_of(town, "superuser").get(address, query)
    assert (response.status_code, response["Location"]) == (302, f"{address}?e=1")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", ["task", "followup", "agreement"])
def test_history_pages_with_an_id_that_is_no_number(town, db, model, role):
    """The history page of "abc", and a version of a record numbered "abc", are a missing
    record: Django's redirect to the admin index; a version numbered "abc" of a record the
    user may see is not found (404)."""
    client = client_of(town, role)
    for address in (
        reverse(f"admin:coordination_{model}_history", args=["abc"]),
        reverse(f"admin:coordination_{model}_simple_history", args=["abc", "1"]),
    ):
        response = client.get(address)
        assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
    record = town.records[model][0]
    address = reverse(f"admin:coordination_{model}_simple_history", args=[record.pk, "abc"])
    assert client.get(address).status_code == 404


def test_an_action_posted_for_ids_that_are_no_ids_is_a_bad_request(town, db):
    """The list's checkboxes only ever send record ids: anything else is refused (400), and
    nothing is changed."""
    address = reverse("admin:coordination_task_changelist")
    for value in ("abc", HUGE, "a\x00b"):
        response = client_of(town, "superuser").post(
            address, {"action": "mark_done", "index": "0", ACTION_CHECKBOX_NAME: ["1", value]}
        )
        assert response.status_code == 400
    assert not Task.objects.filter(completed_on__isnull=False).exists()


def test_the_login_attempts_cleanup_action_works_from_the_admin(town, db):
    """django-axes's "Clean up expired attempts" action read the time of a login, which an
    admin request lacks (a 500 whatever was selected); it now cleans up and says so."""
    attempt = AccessAttempt.objects.get()
    response = client_of(town, "superuser").post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "cleanup_expired_attempts", "index": "0", ACTION_CHECKBOX_NAME: attempt.pk},
    )
    assert response.status_code == 302
