"""Background jobs: imports, exports and reports run by a worker, off the web request.

- `services.py` — asking for a job (`job_enqueue`), its owner's view of it (`owned_job`,
  `user_jobs`, `job_status`), the worker's housekeeping (`jobs_recover`, `jobs_cleanup`);
- `running.py` — one run in the worker: the claim, the progress (`Tracker`) and heartbeat,
  the deadline, the end (`finish` within an import's transaction);
- `work.py` — what each kind of job does;
- `files.py` — the job's private folder: its progress, import report and produced file;
- `tasks.py` — the queue's task (django-tasks: the database queue, or RQ on Redis).

`Job` (`models/jobs.py`) is ours, whatever the queue: the queue only carries a job's id.
Callers import `services` (``from coordination.jobs import services as jobs``).
"""
