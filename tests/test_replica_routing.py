"""The read/write rule of coordination/db_routers.py, in process: which database each read of a
real page goes to, the pin after a write, and the fall-back to the primary when the replica
does not answer or lags. The replica here is the test database under a second alias (the
router's choice is what is checked); tests/test_scaleout.py runs a real streaming replica.
"""

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import OperationalError, connections
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory

from coordination import db_routers
from coordination.db_routers import PRIMARY, REPLICA, PrimaryReplicaRouter
from coordination.models import CountState, Task
from coordination.reports import outstanding, tallies
from tests.factories import make_task, make_user

MIDDLEWARE = "coordination.db_routers.ReplicaMiddleware"


class SpyRouter(PrimaryReplicaRouter):
    """The project's router, noting each read's model and database."""

    def __init__(self):
        self.reads = []

    def db_for_read(self, model, **hints):
        alias = super().db_for_read(model, **hints)
        self.reads.append((model._meta.label, alias))
        return alias

    def aliases(self, label: str) -> set[str]:
        """The databases read for model `label`, or for the models of app `label.`."""
        return {
            alias
            for model, alias in self.reads
            if model == label or (label.endswith(".") and model.startswith(label))
        }


@pytest.fixture
def replica(settings, monkeypatch):
    """A replica configured, answering and caught up (`lag` changes that), the router and
    the middleware installed as config/settings.py installs them."""
    spy = SpyRouter()
    settings.DATABASE_ROUTERS = [spy]
    after = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: after + 1],
        MIDDLEWARE,
        *settings.MIDDLEWARE[after + 1 :],
    ]
    settings.REPLICA_PIN_SECONDS = 10
    settings.REPLICA_CHECK_SECONDS = 0
    settings.REPLICA_MAX_LAG_SECONDS = 30
    monkeypatch.setattr(db_routers, "replica_configured", lambda: True)
    lag = {"seconds": 0.0}
    monkeypatch.setattr(db_routers, "replica_lag", lambda: lag["seconds"])
    monkeypatch.setattr(db_routers, "_last_check", [float("-inf"), False])
    # The replica's connection is the primary's: the same data, and the same test transaction.
    connections[REPLICA] = connections[PRIMARY]
    spy.lag = lag
    yield spy
    del connections[REPLICA]


@pytest.fixture
def auditor(db):
    user = make_user()
    user.groups.add(Group.objects.get(name="Kiểm tra – giám sát"))
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_without_a_request_everything_uses_the_primary():
    router = PrimaryReplicaRouter()
    assert router.db_for_read(Task) == PRIMARY
    assert router.db_for_write(Task) == PRIMARY
    assert router.allow_migrate(PRIMARY, "coordination")
    assert not router.allow_migrate(REPLICA, "coordination")


def test_without_a_replica_url_there_is_no_router_nor_middleware(settings):
    assert REPLICA not in settings.DATABASES
    assert settings.DATABASE_ROUTERS == []
    assert MIDDLEWARE not in settings.MIDDLEWARE
    assert not db_routers.replica_usable()


def test_an_auditors_list_detail_and_outstanding_table_read_the_replica(replica, auditor):
    task = make_task(content="Nhiệm vụ đọc từ bản sao")
    # The outstanding table's stored counts, up to date as the jobs' worker keeps them.
    tallies.refresh_all()
    client = logged_in(auditor)
    for url in ("/records/tasks/", f"/records/tasks/{task.pk}/", "/records/outstanding/"):
        replica.reads.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        assert replica.aliases("coordination.") == {REPLICA}, url
        # The session and the user are read before the view, from the primary: a login of a
        # moment ago may not be on the replica yet.
        assert replica.aliases("sessions.Session") == {PRIMARY}
        assert replica.aliases("auth.User") == {PRIMARY}
    assert "Nhiệm vụ đọc từ bản sao" in client.get("/records/tasks/").content.decode()


def test_stale_stored_counts_are_counted_on_the_primary_and_read_there(
    replica, auditor, monkeypatch
):
    """The replica's stored counts are not today's (or a unit was marked since): they are
    counted again on the primary, and the table reads the primary's; fresh, the replica's."""
    make_task()
    asked, read = [], []
    standing, figures = tallies.standing, outstanding.outstanding_figures

    def fresh(*args, using, **kwargs):
        asked.append(using)
        return standing(*args, using=using, **kwargs)

    def counted(*args, stored, **kwargs):
        read.append(stored.using)
        return figures(*args, stored=stored, **kwargs)

    monkeypatch.setattr(tallies, "standing", fresh)
    monkeypatch.setattr(outstanding, "outstanding_figures", counted)
    client = logged_in(auditor)
    assert client.get("/records/outstanding/", {"year": ""}).status_code == 200
    assert asked[0] == REPLICA and read == [PRIMARY]
    assert CountState.objects.using(PRIMARY).filter(kind="followups").exists()
    asked.clear(), read.clear()
    # The count was a write on the primary: the user reads the primary for the pin's seconds.
    cache.delete(db_routers.PIN_KEY.format(auditor.pk))
    assert client.get("/records/outstanding/", {"year": ""}).status_code == 200
    assert asked == [REPLICA] and read == [REPLICA]


def test_an_export_streams_from_the_replica(replica, auditor):
    make_task()
    response = logged_in(auditor).get("/records/tasks/export/?format=csv")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert replica.aliases("coordination.Task") == {REPLICA}


def test_after_a_write_the_user_reads_the_primary_for_the_pin_seconds(replica, db, settings):
    staff = make_user(permissions=["coordination.view_task"])
    client = logged_in(staff)
    assert client.post("/records/my-work/reminders/", {"reminders_enabled": "0"}).status_code == 302
    assert cache.get(db_routers.PIN_KEY.format(staff.pk)) is not None

    replica.reads.clear()
    assert client.get("/records/tasks/").status_code == 200
    assert replica.aliases("coordination.Task") == {PRIMARY}

    # Once the pin has run out, the replica again.
    cache.set(db_routers.PIN_KEY.format(staff.pk), 0, 60)
    replica.reads.clear()
    client.get("/records/tasks/")
    assert replica.aliases("coordination.Task") == {REPLICA}


def test_a_pin_is_the_users_not_the_browsers(replica, db):
    """Another browser (or server) of the same user reads the primary too: the mark is kept in
    the shared cache under the user, not in a cookie."""
    staff = make_user(permissions=["coordination.view_task"])
    logged_in(staff).post("/records/my-work/reminders/", {"reminders_enabled": "0"})
    replica.reads.clear()
    logged_in(staff).get("/records/tasks/")
    assert replica.aliases("coordination.Task") == {PRIMARY}
    other = make_user(permissions=["coordination.view_task"])
    replica.reads.clear()
    logged_in(other).get("/records/tasks/")
    assert replica.aliases("coordination.Task") == {REPLICA}


def dummy_request(method="GET"):
    request = getattr(RequestFactory(), method.lower())("/records/")
    request.user = make_user()
    return request


def run_in_request(request, view):
    middleware = db_routers.ReplicaMiddleware(db_routers.replica_reads(view))
    return middleware(request)


def test_within_a_request_reads_after_a_write_go_to_the_primary(replica, db):
    seen = []

    def view(request):
        seen.append(replica.db_for_read(Task))
        replica.db_for_write(Task)
        seen.append(replica.db_for_read(Task))
        return HttpResponse()

    run_in_request(dummy_request(), view)
    assert seen == [REPLICA, PRIMARY]


def test_a_post_reads_the_primary_and_pins_its_user(replica, db):
    seen = []

    def view(request):
        seen.append(replica.db_for_read(Task))
        return HttpResponse()

    request = dummy_request("POST")
    run_in_request(request, view)
    assert seen == [PRIMARY]
    assert db_routers.pinned(request.user)


@pytest.mark.parametrize(
    ("lag", "expected"),
    [(0.0, REPLICA), (29.0, REPLICA), (31.0, PRIMARY), (None, PRIMARY)],
    ids=["caught-up", "within-limit", "lagging", "down"],
)
def test_a_lagging_or_silent_replica_is_skipped(replica, db, lag, expected):
    replica.lag["seconds"] = lag
    seen = []

    def view(request):
        seen.append(replica.db_for_read(Task))
        return HttpResponse()

    run_in_request(dummy_request(), view)
    assert seen == [expected]


def test_the_replica_is_asked_at_most_every_check_seconds(replica, db, settings, monkeypatch):
    settings.REPLICA_CHECK_SECONDS = 60
    asked = []
    monkeypatch.setattr(db_routers, "replica_lag", lambda: asked.append(1) or 0.0)
    for _ in range(3):
        assert db_routers.replica_usable()
    assert len(asked) == 1


def test_a_replica_failing_in_the_middle_of_a_page_is_replaced_by_the_primary(replica, db):
    seen = []

    def view(request):
        alias = replica.db_for_read(Task)
        seen.append(alias)
        if alias == REPLICA:
            raise OperationalError("terminating connection due to conflict with recovery")
        return HttpResponse("read")

    response = run_in_request(dummy_request(), view)
    assert response.content == b"read"
    assert seen == [REPLICA, PRIMARY]
    # And the next pages read the primary until the next check.
    assert db_routers._last_check[1] is False


def test_a_streamed_answer_is_read_as_its_view(replica, db):
    def view(request):
        return StreamingHttpResponse(replica.db_for_read(Task) for _ in range(2))

    response = run_in_request(dummy_request(), view)
    assert list(response.streaming_content) == [REPLICA.encode()] * 2


def test_replica_lag_says_none_when_the_replica_does_not_answer(settings, monkeypatch):
    class Broken:
        def cursor(self):
            raise OperationalError("connection refused")

        def close(self):
            pass

    monkeypatch.setattr(db_routers, "connections", {PRIMARY: Broken(), REPLICA: Broken()})
    assert db_routers.replica_lag() is None


def test_sessions_are_kept_in_the_database_and_the_cache_is_shared_when_configured(settings):
    """No state in a process: sessions in the database (any instance reads them), login
    throttling in the database (django-axes' default handler)."""
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler") == (
        "axes.handlers.database.AxesDatabaseHandler"
    )
    assert Session._meta.app_label == "sessions"


# ---------------------------------------------------------------------------------------------
# The settings the environment selects (read once per process: checked in a child process)
# ---------------------------------------------------------------------------------------------

PROBE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps({'databases': sorted(settings.DATABASES), "
    "'replica': settings.DATABASES.get('replica', {}).get('NAME'), "
    "'mirror': settings.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR'), "
    "'routers': settings.DATABASE_ROUTERS, "
    "'middleware': [m for m in settings.MIDDLEWARE if 'db_routers' in m], "
    "'cache': settings.CACHES['default']['BACKEND'], "
    "'location': settings.CACHES['default']['LOCATION'], "
    "'prefix': settings.CACHES['default'].get('KEY_PREFIX')}))"
)


def probe(tmp_path, **env):
    import json
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=Path(__file__).resolve().parent.parent,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_VAR_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode:
        return result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_selects_redis_and_the_replica(tmp_path):
    plain = probe(tmp_path)
    assert plain["databases"] == ["default"] and plain["routers"] == []
    assert plain["cache"] == "django.core.cache.backends.filebased.FileBasedCache"

    scaled = probe(
        tmp_path,
        DATABASE_URL="postgres://hoso@10.0.0.5:5432/hoso",
        DATABASE_REPLICA_URL="postgres://hoso@10.0.0.6:5432/hoso",
        DJANGO_CACHE_URL="redis://10.0.0.7:6379/1",
    )
    assert scaled["databases"] == ["default", "replica"]
    assert scaled["replica"] == "hoso" and scaled["mirror"] == "default"
    assert scaled["routers"] == ["coordination.db_routers.PrimaryReplicaRouter"]
    assert scaled["middleware"] == [MIDDLEWARE]
    assert scaled["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert scaled["location"] == "redis://10.0.0.7:6379/1" and scaled["prefix"] == "hoso"


def test_a_replica_without_a_postgresql_primary_or_a_cache_url_not_redis_is_refused(tmp_path):
    assert "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL" in probe(
        tmp_path, DATABASE_REPLICA_URL="postgres://hoso@10.0.0.6:5432/hoso"
    )
    assert "DJANGO_CACHE_URL must be a redis://" in probe(
        tmp_path, DJANGO_CACHE_URL="memcached://10.0.0.7:11211"
    )
