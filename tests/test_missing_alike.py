"""Another unit's record answers unit staff exactly as a record that does not exist.

Otherwise record numbers could be enumerated: a page answering 403 for another unit's
record and 404 for a missing one tells which numbers exist. For every per-object URL (admin
change, delete, history, a history version and its revert, "view on site", the /records/
detail pages and an agreement's scan under /files/), the answer to unit staff of unit A for
a record of unit B is compared with the answer for a number no record has: the same status,
redirect target, page and messages, once the number in them is replaced.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from coordination import kinds
from coordination.history import has_history
from coordination.models import (
    Agreement,
    FollowUp,
    Indicator,
    Meeting,
    Person,
    Signatory,
    Task,
    Unit,
)
from tests.shared import rolled_back
from tests.test_url_parameters import build_town

MODELS = {
    model._meta.model_name: model
    for model in (Unit, Person, Agreement, Signatory, Indicator, Meeting, Task, FollowUp)
}


@pytest.fixture(scope="module")
def town(django_db_setup, django_db_blocker):
    """Units A and B with records of each, and unit staff of A (the sweep's records)."""
    with rolled_back(django_db_blocker):
        yield build_town()


def other_and_missing(town, model: str) -> tuple:
    """Unit B's record of `model`, and a number no record of `model` has."""
    record = town.records[model][1]
    missing = type(record)._base_manager.order_by("-pk").first().pk + 1000
    return record, missing


def answer(user, method: str, address: str, pk: int) -> dict:
    """What the user sees of a response (a new session each time, so that no message is left
    from the request before), with the record number in its address and messages replaced."""
    client = Client()
    client.force_login(user)
    response = client.post(address, {}) if method == "post" else client.get(address)
    if response.streaming:
        body = b"".join(response.streaming_content).decode()
    else:
        body = response.content.decode()

    def masked(text):
        return text.replace(str(pk), "<pk>") if text is not None else None

    return {
        "status": response.status_code,
        "location": masked(response.get("Location")),
        # None of these pages repeats the number: the page itself must be the same.
        "body": body,
        "messages": [masked(str(message)) for message in get_messages(response.wsgi_request)],
    }


def assert_alike(town, addresses, record, missing, method="get"):
    """The answers for `record` and for the `missing` number are the same, and show nothing
    of the record."""
    other = answer(town.users["staff"], method, addresses(record.pk), record.pk)
    absent = answer(town.users["staff"], method, addresses(missing), missing)
    assert other == absent
    assert str(record) not in other["body"]
    return other


def admin_address(model: str, view: str):
    return lambda pk: reverse(f"admin:coordination_{model}_{view}", args=[pk])


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("model", MODELS)
def test_admin_object_pages(town, db, model, view, method):
    """The change, delete and history pages of another unit's record, read or posted to."""
    record, missing = other_and_missing(town, model)
    seen = assert_alike(town, admin_address(model, view), record, missing, method)
    if view == "history" or (view == "change" and method == "get"):
        # Django's answer for a missing record, as the change page gives it.
        assert seen["status"] == 302
        assert seen["location"] == reverse("admin:index")
        assert seen["messages"] and "không tồn tại" in seen["messages"][0]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("model", [name for name, model in MODELS.items() if has_history(model)])
def test_history_version_and_revert(town, db, model, method):
    """A historical version of another unit's record (simple-history's page, where posting
    the form reverts the record), with one of its own version numbers."""
    record, missing = other_and_missing(town, model)
    version = record.history.earliest("history_id").history_id

    def address(pk):
        return reverse(f"admin:coordination_{model}_simple_history", args=[pk, version])

    seen = assert_alike(town, address, record, missing, method)
    assert seen["status"] == 302
    assert seen["location"] == reverse("admin:index")


@pytest.mark.parametrize("model", MODELS)
def test_view_on_site(town, db, model):
    """The admin's "view on site" link of another unit's record."""
    record, missing = other_and_missing(town, model)
    content_type = ContentType.objects.get_for_model(type(record))

    def address(pk):
        return reverse("admin:view_on_site", args=[content_type.pk, pk])

    assert assert_alike(town, address, record, missing)["status"] == 404


@pytest.mark.parametrize("kind", sorted(kind.name for kind in kinds.all_kinds() if kind.has_pages))
def test_records_detail_page(town, db, kind):
    """The /records/ page of another unit's record."""
    model = kinds.get(kind).model._meta.model_name
    record, missing = other_and_missing(town, model)

    def address(pk):
        return reverse("coordination:record-detail", args=[kind, pk])

    assert assert_alike(town, address, record, missing)["status"] == 404


def test_agreement_scan(town, db):
    """The scanned document of another unit's agreement, and a path no agreement has."""
    record = town.records["agreement"][1]
    client = Client()
    client.force_login(town.users["staff"])
    other = client.get(f"/files/{record.scan.name}")
    absent = client.get("/files/scans/none.pdf")
    assert other.status_code == absent.status_code == 404
    assert other.content == absent.content
