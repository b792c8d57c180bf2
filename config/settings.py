"""Project settings, read from the environment with safe development defaults.

Every variable is documented in README.md ("Configuration").
"""

import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# ---------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)
# The production switch: HTTPS-only cookies and redirects, HSTS, hashed static files, and a
# refusal to start with the development key or without host names (README, "Production").
PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEVELOPMENT_KEY = "django-insecure-development-only-key-do-not-use-in-production"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_KEY)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must not be empty.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off when DJANGO_PRODUCTION is on.")
    if SECRET_KEY == DEVELOPMENT_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_PRODUCTION needs DJANGO_SECRET_KEY: 50 or more random characters."
        )
    if "DJANGO_ALLOWED_HOSTS" not in os.environ:
        raise ImproperlyConfigured("DJANGO_PRODUCTION needs DJANGO_ALLOWED_HOSTS.")

# Writable data of the embedded set-up (SQLite file, uploaded scans) lives here, git-ignored.
VAR_DIR = Path(os.environ.get("DJANGO_VAR_DIR", BASE_DIR / "var"))

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------

INSTALLED_APPS = [
    # Replaces django.contrib.admin so that the admin site is ours (Vietnamese header,
    # models grouped in the order people work).
    "coordination.apps.CoordinationAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "coordination.apps.AxesConfig",
    "django_filters",
    "import_export",
    "simple_history",
    # The background jobs' queue (section "Background jobs" below).
    "django_tasks",
    "django_tasks_db",
    "coordination.apps.CoordinationConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the application server (gunicorn), compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The Vietnamese 404 and 403 pages under DEBUG too (`make demo`), never Django's English
    # technical page that lists the URL patterns.
    "coordination.middleware.ErrorPagesMiddleware",
    # Records which user made each change in the history of agreements, tasks and items.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's overrides of Django's admin templates (admin/base_site.html), which
        # the app directories cannot override: django.contrib.admin comes first there.
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Logging in: throttling and passwords
# ---------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A whole office often shares one public address: lock the pair (user name, address) after
# AXES_FAILURE_LIMIT wrong passwords, never the address alone, so one person's typos or an
# attack on one account do not lock out everybody else behind that address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "coordination/locked_out.html"
# Behind reverse proxies, the client's address is read from X-Forwarded-For as the first of
# the DJANGO_PROXY_COUNT proxies saw it (config/client_ip.py).
PROXY_COUNT = int(
    os.environ.get("DJANGO_PROXY_COUNT", "1" if env_bool("DJANGO_BEHIND_PROXY") else "0")
)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
# The admin's login is the only one. After it, a `next` that is not a page of this site
# (another host, "//host", "javascript:") is ignored, and so is a login without one: the user
# lands on their role's page (`coordination.reminders.landing_url`: unit staff on their
# units' work, auditors on the outstanding table, administrators on the admin index), not
# Django's default /accounts/profile/, which does not exist here.
# After a logout, such a `next` would send the browser to GET the logout URL (405): the
# login page instead, with or without one.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "coordination:home"
LOGOUT_REDIRECT_URL = "admin:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

#: SQLite's page cache per connection, in KiB (below).
SQLITE_CACHE_KB = 64 * 1024

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
        # A kept connection is checked before a request reuses it (a restarted database).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, reading SQLite's real query-parameter limit (see config/sqlite3).
    DATABASES["default"]["ENGINE"] = "config.sqlite3"
    # Several people may use the embedded default at once: WAL lets readers go on while one
    # writes, IMMEDIATE takes the write lock at BEGIN (no deadlock on lock upgrade) and the
    # timeout makes a second writer wait instead of failing with "database is locked".
    # A 64 MB page cache per connection (SQLite's default is 2 MB): an import into a province's
    # tables writes rows and index entries all over B-trees far larger than 2 MB, and reread
    # every page from the file (bench/README.md, issue 17). The cache grows only as used.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA cache_size=-{SQLITE_CACHE_KB};"
        ),
    }
    if DATABASES["default"]["NAME"] and DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

# A PostgreSQL streaming replica (README, "Growing past one server"): the auditors' read-only
# /records/ pages may read from it; every write, and every read after a write (in the same
# request, or by the same user within REPLICA_PIN_SECONDS), goes to the primary
# (coordination/db_routers.py). Without DATABASE_REPLICA_URL everything reads the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASE_ROUTERS = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]
    )
    # A replica that does not answer must not hold a page for long: the router then reads
    # the primary (coordination.db_routers.replica_usable).
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests and migrations use the primary alone; the replica mirrors it.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL.")
    DATABASE_ROUTERS = ["coordination.db_routers.PrimaryReplicaRouter"]
    # After the user is known: it keeps each request's reads and writes for the router.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "coordination.db_routers.ReplicaMiddleware",
    )
# A user who wrote reads the primary for this many seconds after, so that nobody misses their
# own change while the replica catches up.
REPLICA_PIN_SECONDS = int(os.environ.get("REPLICA_PIN_SECONDS", "10"))
# The replica is skipped while it is further behind than this (or does not answer); how often
# each process asks it, in seconds.
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "30"))
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "5"))

# ---------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese"))]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
# Corrections to some of Django's own Vietnamese admin strings; the app has its own catalogue.
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
# dd/mm/yyyy everywhere (Django's own "vi" formats use dashes).
FORMAT_MODULE_PATH = ["config.formats"]

# ---------------------------------------------------------------------------
# Static and uploaded files
# ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production, `collectstatic` writes hashed, compressed copies that whitenoise serves
    # with far-future cache headers; elsewhere the files are served as they are.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# whitenoise serves what `collectstatic` put in STATIC_ROOT (runserver serves the apps' files
# itself in development). Not the finders: scanning every app's files on each start of the
# middleware would cost every test client a tenth of a second. Outside production its warning
# that STATIC_ROOT does not exist yet is noise.
WHITENOISE_USE_FINDERS = False
if not PRODUCTION:
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# Uploaded scans are not public: they are served only through coordination.views, which
# checks the user's permission, so MEDIA_URL is never routed to the file system.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/files/"

# ---------------------------------------------------------------------------
# Import / export
# ---------------------------------------------------------------------------

# Any staff user may import or export by default; these ask for dedicated permissions.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# The cache every process of the server shares (gunicorn's workers): files under the var
# directory, with no server to run; DJANGO_CACHE_DIR moves them. With more than one server,
# DJANGO_CACHE_URL (redis://host:6379/1) puts it in Redis, which all of them share. It keeps
# the outstanding table's figures, long lists' counts (FIGURES_CACHE_SECONDS) and who wrote
# lately (REPLICA_PIN_SECONDS).
CACHE_URL = os.environ.get("DJANGO_CACHE_URL", "")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("DJANGO_CACHE_URL must be a redis://, rediss:// or unix:// URL.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # Sites sharing one Redis database keep apart by this prefix.
            "KEY_PREFIX": os.environ.get("DJANGO_CACHE_KEY_PREFIX", "hoso"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("DJANGO_CACHE_DIR", str(VAR_DIR / "cache")),
        }
    }

# How long the outstanding table's figures and a long list's count (10,000 rows or more)
# are kept in the cache, in seconds (coordination.pagination, reports/outstanding_figures.py);
# 0 counts every time.
FIGURES_CACHE_SECONDS = int(os.environ.get("DJANGO_FIGURES_CACHE_SECONDS", "60"))

# Limits of one uploaded spreadsheet (see README, "Importing spreadsheets").
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_MB", "10")) * 1024 * 1024
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "100000"))
# An .xlsx is a zip: refuse one that unpacks to more than this (a "zip bomb").
IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_MB", "400")) * 1024 * 1024
# Uploaded files wait here between preview and confirm; never under MEDIA_ROOT. With more than
# one server it is a folder they all mount (NFS…): the preview may run on one, the
# confirmation on another.
IMPORT_UPLOAD_DIR = Path(os.environ.get("IMPORT_UPLOAD_DIR", VAR_DIR / "imports"))
IMPORT_UPLOAD_TTL_HOURS = int(os.environ.get("IMPORT_UPLOAD_TTL_HOURS", "24"))
# What one user may leave waiting there (files, and MB with the cells each preview read): a
# new upload beyond either removes that user's oldest (README, "Who may import and export").
IMPORT_UPLOADS_PER_USER = int(os.environ.get("IMPORT_UPLOADS_PER_USER", "10"))
IMPORT_UPLOAD_BYTES_PER_USER = int(os.environ.get("IMPORT_UPLOAD_MB_PER_USER", "100")) * 1024 * 1024

# ---------------------------------------------------------------------------
# Background jobs (README, "Background jobs"; coordination/jobs/)
# ---------------------------------------------------------------------------

# The queue: "database" (the default: django-tasks-db, the queue in the database, no server
# to run; `manage.py jobs_worker` works it) or "rq" (django-tasks-rq on Redis, production).
JOBS_BACKEND = os.environ.get("DJANGO_JOBS_BACKEND", "database")
JOBS_REDIS_URL = os.environ.get("DJANGO_JOBS_REDIS_URL", "redis://127.0.0.1:6379/0")
if JOBS_BACKEND == "rq":
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_tasks_db"), "django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": JOBS_REDIS_URL, "DEFAULT_TIMEOUT": -1}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Imports of more data rows than this, and exports of more records, run as jobs; smaller
# ones stay in the request. An .xlsx of a few thousand rows holds a web worker for seconds:
# at 5,000, five people exporting one unit's year kept the list pages' p95 above 1 s on two
# cores (bench/README.md, load_test.py).
IMPORT_JOB_ROWS = int(os.environ.get("IMPORT_JOB_ROWS", "2000"))
EXPORT_JOB_ROWS = int(os.environ.get("EXPORT_JOB_ROWS", "1000"))
# The yearly report's .docx and .xlsx as jobs when it lists more outstanding rows than this.
REPORT_JOB_ROWS = int(os.environ.get("REPORT_JOB_ROWS", "2000"))
# A job running longer than this is stopped and rolled back (seconds).
JOBS_TIMEOUT = int(os.environ.get("JOBS_TIMEOUT", "1800"))
# A running job whose worker gave no sign of life for this long is run again (its worker
# died), at most JOBS_MAX_ATTEMPTS times in all.
JOBS_HEARTBEAT_TIMEOUT = int(os.environ.get("JOBS_HEARTBEAT_TIMEOUT", "60"))
JOBS_MAX_ATTEMPTS = int(os.environ.get("JOBS_MAX_ATTEMPTS", "3"))
# A job still waiting after this many seconds whose task the queue no longer holds (Redis
# flushed, the task's row deleted) is queued again, within the same JOBS_MAX_ATTEMPTS.
JOBS_WAITING_TIMEOUT = int(os.environ.get("JOBS_WAITING_TIMEOUT", "300"))
# Finished jobs and their files are deleted after this many hours.
JOBS_KEEP_HOURS = int(os.environ.get("JOBS_KEEP_HOURS", "72"))
# The jobs' files (produced exports and reports, import results); never under MEDIA_ROOT.
JOBS_DIR = Path(os.environ.get("DJANGO_JOBS_DIR", VAR_DIR / "jobs"))

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING"),
    },
}

# ---------------------------------------------------------------------------
# Security (README, "Production")
# ---------------------------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# A working day; the session ends with the browser too.
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_HOURS", "10")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
if env_bool("DJANGO_BEHIND_PROXY"):
    # The proxy (nginx…) terminates TLS and says so in this header; set it only when the
    # proxy always overwrites the header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    # Server errors reach the administrators by e-mail as well as the log, when configured.
    ADMINS = [("Quản trị", address) for address in env_list("DJANGO_ADMINS")]
    SERVER_EMAIL = os.environ.get("DJANGO_SERVER_EMAIL", "root@localhost")

# ---------------------------------------------------------------------------
# E-mail and reminders (README, "Reminders")
# ---------------------------------------------------------------------------

# Outside production (`make demo`, development) mail is printed on the console, never sent;
# production sends it through the SMTP server named here.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "hoso@localhost")
# The address of the site as users reach it, for the links of e-mails (no trailing slash).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Near due: outstanding and due within this many days from today; the landing page's recent
# changes by others go back as many days.
REMINDER_DAYS = int(os.environ.get("REMINDER_DAYS", "7"))
