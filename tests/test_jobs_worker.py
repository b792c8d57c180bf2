"""Background jobs in a real worker process (`manage.py jobs_worker`), on the test database:
a large import runs to the end; a worker killed in the middle of one leaves nothing written,
and the next worker runs the job again and writes every row once.

On SQLite the worker needs a database file, so the scene is built by a child process
(tests/scripts/job_scene.py) on a file of its own; on PostgreSQL it is the test database,
committed (transaction=True) so that the worker sees it."""

import os
import signal
import subprocess
import time

import pytest

from tests.job_files import Scene

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scene(tmp_path, settings):
    return Scene(tmp_path, settings)


def finished(worker: subprocess.Popen, timeout: float = 120) -> str:
    _out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, err
    return err


def test_a_worker_process_runs_a_large_import_to_the_end(scene):
    job = scene.child("prepare", 3000)["job"]
    finished(scene.worker("--batch"))
    state = scene.child("state", job)
    assert state == {
        "status": "done",
        "attempts": 1,
        "error": "",
        "written": 3000,
        "stored": 3000,
        "distinct": 3000,
    }


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_the_retry_writes_all(
    scene,
):
    """SIGKILL while the rows are being checked, inside the import's transaction: nothing is
    written and the job stays "running" without a heartbeat. The next worker finds it stale,
    queues it again and writes every row exactly once."""
    rows = 8000
    job = scene.child("prepare", rows)["job"]
    worker = scene.worker()
    deadline = time.monotonic() + 120
    while scene.progress(job).get("stage") not in ("checking", "writing"):
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, "the worker never reached the checks"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    killed = scene.child("state", job)
    assert (killed["status"], killed["attempts"], killed["stored"]) == ("running", 1, 0)

    time.sleep(1.5)  # older than JOBS_HEARTBEAT_TIMEOUT (1 s)
    log = finished(scene.worker("--batch"))
    assert "queued again" in log
    state = scene.child("state", job)
    assert (state["status"], state["attempts"]) == ("done", 2), state
    assert state["stored"] == state["distinct"] == state["written"] == rows


def test_a_waiting_job_whose_task_the_queue_lost_is_queued_again_and_run(scene):
    """The task's row is deleted while the job waits: the worker's housekeeping finds the job
    waiting past JOBS_WAITING_TIMEOUT without its task, queues it again (one attempt) and runs
    it."""
    job = scene.child("prepare", 300)["job"]
    assert scene.child("lose", job) == {"lost": 1}
    scene.env["JOBS_WAITING_TIMEOUT"] = "0"
    log = finished(scene.worker("--batch"))
    assert "lost by the queue while waiting; queued again" in log
    state = scene.child("state", job)
    assert (state["status"], state["attempts"]) == ("done", 2), state
    assert state["stored"] == state["distinct"] == 300


def test_a_job_lost_by_a_flushed_redis_is_queued_again_and_run(scene):
    """DJANGO_JOBS_BACKEND=rq: Redis is flushed while the job waits; the worker's first
    housekeeping queues it again before RQ's worker starts."""
    import redis

    url = "redis://127.0.0.1:6379/7"
    broker = redis.Redis.from_url(url)
    broker.flushdb()
    scene.env.update(DJANGO_JOBS_BACKEND="rq", DJANGO_JOBS_REDIS_URL=url)
    job = scene.child("prepare", 300, in_child=True)["job"]
    broker.flushdb()
    scene.env["JOBS_WAITING_TIMEOUT"] = "0"
    log = finished(scene.worker("--batch"))
    assert "lost by the queue while waiting; queued again" in log
    state = scene.child("state", job, in_child=True)
    assert (state["status"], state["attempts"], state["stored"]) == ("done", 2, 300), state


def test_the_production_queue_on_redis_runs_a_large_import(scene):
    """DJANGO_JOBS_BACKEND=rq: the job goes through Redis (a database of its own) and RQ's
    worker, started by the same command."""
    import redis

    url = "redis://127.0.0.1:6379/7"
    redis.Redis.from_url(url).flushdb()
    scene.env.update(DJANGO_JOBS_BACKEND="rq", DJANGO_JOBS_REDIS_URL=url)
    job = scene.child("prepare", 3000, in_child=True)["job"]
    assert redis.Redis.from_url(url).llen("rq:queue:default") == 1
    log = finished(scene.worker("--batch"))
    assert "Successfully completed coordination.jobs.tasks.run" in log
    state = scene.child("state", job, in_child=True)
    assert (state["status"], state["stored"], state["distinct"]) == ("done", 3000, 3000)
