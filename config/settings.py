"""One settings module, driven by the environment.

With nothing set, Doubletake runs on embedded defaults: SQLite, media on local disk, an
in-memory channel layer and an in-process job runner, so a first run needs no services.
Production sets DOUBLETAKE_PRODUCTION=true, DATABASE_URL, REDIS_URL and (optionally) the
S3 variables; see README.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("DOUBLETAKE_VAR_DIR", str(BASE_DIR / "var")))

PRODUCTION = env_bool("DOUBLETAKE_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be false when DOUBLETAKE_PRODUCTION is true.")

# No secret is baked in for production: it must come from the environment. The built-in
# one is only for a debugging developer: any run without debug must bring its own.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key" if DEBUG else None)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: /api/docs/ works offline
    "channels",
    "accounts",
    "jobs",
    "media",
    "consent",
    "cameo",
    "generation",
    "remix",
    "feeds",
    "moderation",
    "rights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees what a view lets out: an outage becomes a 503 with a code.
    "config.middleware.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------
if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file lives here
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'doubletake.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_POOL", PRODUCTION
):
    # Under ASGI persistent connections leak across threads; psycopg's pool is the safe reuse.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_MAX", 10),
        # How long a request waits for a connection before it is answered 503.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }

# --- Redis: broker, channel layer, cache ----------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required in production (broker and channel layer).")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # cache.clear() flushes a whole Redis database: give the cache its own (README).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_CACHE_URL", REDIS_URL),
            # A cache that is down must fail fast (503 cache_unavailable), not hang requests.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Jobs -----------------------------------------------------------------------------------
# "celery" sends jobs to the broker; "thread" runs them in this process (embedded default).
JOB_RUNNER = env_str("JOB_RUNNER", "celery" if REDIS_URL else "thread")
if JOB_RUNNER not in {"celery", "thread"}:
    raise ImproperlyConfigured(f"JOB_RUNNER={JOB_RUNNER!r}: use celery or thread.")
if JOB_RUNNER == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("JOB_RUNNER=celery needs REDIS_URL.")
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_MAX_RUNTIME_SECONDS = env_int("JOB_MAX_RUNTIME_SECONDS", 2 * 3600)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 30)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redelivery of an unacknowledged message waits this long: it must outlast the longest job,
# or a slow job would be handed to a second worker while the first still runs it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": JOB_MAX_RUNTIME_SECONDS + 3600}
CELERY_TASK_TIME_LIMIT = JOB_MAX_RUNTIME_SECONDS
CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {"task": "jobs.tasks.sweep_jobs", "schedule": float(JOB_SWEEP_SECONDS)},
}

# --- Storage --------------------------------------------------------------------------------
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves collected files; development serves straight from static/.
STATIC_ROOT = VAR_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
S3_BUCKET = env_str("AWS_STORAGE_BUCKET_NAME", "")
_default_storage: dict[str, Any]
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES: dict[str, dict[str, Any]] = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Uploads --------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 3840 * 2160)
UPLOAD_MAX_SECONDS = env_int("UPLOAD_MAX_SECONDS", 60)
# A second net under intake's header check: OpenCV refuses to decode a bigger image (it reads
# this when cv2 is first imported, which no settings import does).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(UPLOAD_MAX_PIXELS))
# Room for multipart boundaries and form fields around the file itself.
REQUEST_MAX_BYTES = UPLOAD_MAX_BYTES + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.CursorPage",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # How many proxies in front of the web process append to X-Forwarded-For. 0 (the
    # default) means the header is ignored and throttles key on the socket's address: a
    # client could otherwise reset its limits by sending the header itself.
    "NUM_PROXIES": env_int("DJANGO_TRUSTED_PROXIES", 0),
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "login_address": env_str("THROTTLE_LOGIN_ADDRESS", "30/min"),
        "signup": env_str("THROTTLE_SIGNUP", "20/hour"),
        "upload": env_str("THROTTLE_UPLOAD", "60/hour"),
        "job_submit": env_str("THROTTLE_JOB_SUBMIT", "120/hour"),
        "report": env_str("THROTTLE_REPORT", "60/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Doubletake API",
    "DESCRIPTION": "Short generated videos with Cameo and Remix.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "UploadKindEnum": "media.models.Upload.Kind",
        "ConsentKindEnum": "consent.models.ConsentDocument.Kind",
        "MarkKindEnum": "rights.models.Mark.Kind",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security (production) ------------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("DJANGO_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
TRANSCODE_PRESET = env_str("TRANSCODE_PRESET", "veryfast")

# --- Cameo ----------------------------------------------------------------------------------
# Model weights the operator provides (insightface buffalo_l, ...); absent -> offline fallbacks.
MODELS_DIR = Path(env_str("MODELS_DIR", str(VAR_DIR / "models")))
CAMEO_CHALLENGE_SECONDS = env_int("CAMEO_CHALLENGE_SECONDS", 300)
CAMEO_RETENTION_DAYS = env_int("CAMEO_RETENTION_DAYS", 3 * 365)
CELERY_BEAT_SCHEDULE["cameo-retention"] = {
    "task": "cameo.tasks.retention_sweep",
    "schedule": float(env_int("CAMEO_RETENTION_SWEEP_SECONDS", 24 * 3600)),
}

# --- Generation -----------------------------------------------------------------------------
# A job's working files (var/work/<job>/) let a retry go on where it stopped; a job that
# ended without success keeps them this long, then the sweep deletes them.
JOB_WORKDIR_KEEP_HOURS = env_int("JOB_WORKDIR_KEEP_HOURS", 24)
CELERY_BEAT_SCHEDULE["workdir-sweep"] = {
    "task": "jobs.tasks.sweep_workdirs",
    "schedule": float(env_int("WORKDIR_SWEEP_SECONDS", 3600)),
}
GENERATION_DAILY_BUDGET = env_int("GENERATION_DAILY_BUDGET", 20)
GENERATION_MAX_SECONDS = env_int("GENERATION_MAX_SECONDS", 20)
# Remixes a user may ask for per 24 h (each costs about as much as a generation).
REMIX_DAILY_BUDGET = env_int("REMIX_DAILY_BUDGET", 20)
# An OpenAI-compatible endpoint for the planner; empty means the rule-based planner.
PLANNER_URL = env_str("PLANNER_URL", "")
PLANNER_MODEL = env_str("PLANNER_MODEL", "")
PLANNER_API_KEY = env_str("PLANNER_API_KEY", "")
# Provenance signing keys (PEM files); generated into var/ on first use when absent.
PROVENANCE_KEYS_DIR = Path(env_str("PROVENANCE_KEYS_DIR", str(VAR_DIR / "provenance-keys")))
# Render backend: "procedural" (torch, always available) or "diffusion" (a diffusers
# text-to-video model in MODELS_DIR/text-to-video/<TEXT_TO_VIDEO_MODEL>; falls back, and says so).
RENDER_BACKEND = env_str("RENDER_BACKEND", "procedural")
TEXT_TO_VIDEO_MODEL = env_str("TEXT_TO_VIDEO_MODEL", "")
CELERY_BEAT_SCHEDULE["feeds-trending"] = {
    "task": "feeds.tasks.refresh_trending",
    "schedule": float(env_int("TRENDING_REFRESH_SECONDS", 300)),
}

# --- Moderation ---------------------------------------------------------------------------
# The routing rule: cases with any of these reasons go to the senior moderators' queue.
MODERATION_SENIOR_REASONS = env_list("MODERATION_SENIOR_REASONS", ["minor_safety"])

# --- Automated checks ---------------------------------------------------------------------
# The screening rules (moderation/checks.py): a TOML file of blocked terms, public figures and
# the sexual/minor pairs, with terms added from the environment. UNKNOWN_FACE_FRAMES: frames
# of an output sampled for faces that belong to no cast double; UNKNOWN_FACE_MIN_SCORE (in
# hundredths): the detector's confidence below which a "face" is the renderer's drawn figure
# (the offline detector rates those 0.52-0.55 and photographed faces 0.8 and up).
SCREENING = {
    "RULES_FILE": Path(
        env_str("SCREENING_RULES_FILE", str(BASE_DIR / "moderation" / "rules" / "default.toml"))
    ),
    "EXTRA_BLOCKED_TERMS": env_list("SCREENING_BLOCKED_TERMS", []),
    "EXTRA_PUBLIC_FIGURES": env_list("SCREENING_PUBLIC_FIGURES", []),
    "UNKNOWN_FACE_FRAMES": env_int("SCREENING_UNKNOWN_FACE_FRAMES", 6),
    "UNKNOWN_FACE_MIN_SCORE": env_int("SCREENING_UNKNOWN_FACE_MIN_SCORE", 70) / 100,
}
