# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean-db messages browser office

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Create the environment, migrate the SQLite database, load the demo data and serve the admin,
## with the background jobs' worker beside the server (stopped when the server stops).
demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py jobs_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

## Create the environment and run the test suite but its soak and load tests, marked slow
## (`.venv/bin/python -m pytest -m slow` runs those; .ci/run runs both), in TEST_WORKERS
## processes (pytest-xdist). DATABASE_URL picks the database.
TEST_WORKERS ?= 2
test: $(STAMP) browser office
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow"

## Debian's chromium for the browser tests (Playwright drives it; nothing is downloaded).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need chromium: sudo apt-get install chromium" >&2; exit 1; \
	  fi; }

## Debian's LibreOffice Calc, which makes the .ods and .xls files of the import tests
## (tests/office.py): they fail, never skip, without it.
office:
	@command -v libreoffice >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; \
	  else \
	    echo "The import tests need LibreOffice: sudo apt-get install libreoffice-calc-nogui" >&2; exit 1; \
	  fi; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run

## Remove the embedded SQLite database (the demo reloads it).
clean-db:
	rm -f var/db.sqlite3 var/db.sqlite3-wal var/db.sqlite3-shm

## Refresh the Vietnamese catalogue from the code (needs GNU gettext), then compile it.
messages: $(STAMP)
	cd coordination && ../$(PY) ../manage.py makemessages -l vi --no-location
	$(PY) manage.py compilemessages -l vi --ignore=.venv
