"""gunicorn's settings for production (README, "Production"); the GUNICORN_* environment
variables read below override them."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: imports and exports are CPU-bound; two per core plus one.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# A 100,000-row import or export takes tens of seconds; anything past this is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = 30
# Restart workers now and then, so that a slow leak cannot grow without end.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Uploads of up to IMPORT_MAX_MB go through Django, which spools them to disk.
limit_request_line = 8190
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Trust X-Forwarded-* only from the local reverse proxy.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# A synchronous worker serves one request at a time in one thread: it keeps its database
# connection between requests (Django's persistent connections, checked before reuse). A new
# PostgreSQL connection per request cost a page of thirty queries about 200 ms (bench/README.md,
# province.py from outside). DJANGO_CONN_MAX_AGE set in the environment wins; the development
# server, a new thread per request, keeps Django's default (0).
os.environ.setdefault("DJANGO_CONN_MAX_AGE", "60")
