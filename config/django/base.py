"""Every Django setting. Environment-specific modules override; integrations live in config/settings/."""

from __future__ import annotations

import django_stubs_ext

from config.env import BASE_DIR, env

# Lets generic classes such as ModelAdmin[Model] be subscripted at run time for mypy.
django_stubs_ext.monkeypatch()

# GENERAL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Overridden per environment: local generates one, test fixes one, production requires one.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
SITE_ID = 1
# Production turns this on: core/checks.py then refuses SQLite, an in-memory cache, chain 1337,
# ganache's keys, localstripe and missing secrets at start.
AGORA_REFUSE_DEVELOPMENT_DEFAULTS = False

# DATABASES
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# With no DATABASE_URL the embedded SQLite file is used, so a fresh checkout runs with no services.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Services own their transactions (ARCHITECTURE.md, rule 3); a transaction per request would
# hide which writes belong together and hold locks across template rendering.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo server read while it writes; IMMEDIATE takes the write lock up front so
    # concurrent writers wait for it instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# URLS
# ------------------------------------------------------------------------------
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "django_htmx",
    "template_partials",
]
LOCAL_APPS = [
    "core",
    "accounts",
    "tokenomics",
    "compute",
    "marketplace",
    "governance",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    # Outside everything that can answer an error, so /api/ errors are JSON in every mode.
    "core.middleware.ApiErrorEnvelopeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Innermost: sees a view's Http404 before Django's DEBUG page would replace it.
    "core.middleware.SitePageNotFoundMiddleware",
]

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
# Uploads (encrypted model artefacts, dispute evidence) go through Django's storage API. With
# AWS_STORAGE_BUCKET_NAME set they live in S3 or any S3-compatible store (MinIO, R2, moto's server in
# the tests), so web processes keep nothing on their own disk; without it, on local disk (MEDIA_ROOT)
# for `make demo`. Production refuses local disk (core/checks.py, agora.E012).
AWS_STORAGE_BUCKET_NAME: str = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL: str | None = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME: str | None = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_DEFAULT_ACL = None  # objects stay private; downloads stream through the app, never a public URL
AWS_S3_FILE_OVERWRITE = False
AWS_QUERYSTRING_AUTH = True
S3_STORAGE_BACKEND = "storages.backends.s3.S3Storage"
STORAGES = {
    "default": {
        "BACKEND": S3_STORAGE_BACKEND
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# ARTEFACTS
# ------------------------------------------------------------------------------
# Model files are stored encrypted (marketplace.artefacts): each under its own random key, which is
# kept wrapped by this master key (base64 of 32 bytes). The default is a PUBLIC DEVELOPMENT KEY
# ("agora-DEVELOPMENT-ONLY-key-00000") for local runs and tests; production requires its own and
# refuses this one. Changing the master key makes every stored artefact unreadable.
ARTEFACT_DEV_MASTER_KEY = "YWdvcmEtREVWRUxPUE1FTlQtT05MWS1rZXktMDAwMDA="
ARTEFACT_MASTER_KEY: str = env.str("ARTEFACT_MASTER_KEY", default=ARTEFACT_DEV_MASTER_KEY)

# INFERENCE NODES
# ------------------------------------------------------------------------------
# Providers' Triton URLs are called from our servers (compute.url_safety). Locally and in tests the
# demo providers run on loopback, so private addresses are allowed; production refuses them unless
# the host is listed in TRITON_ALLOWED_HOSTS (e.g. nodes on your own private network).
TRITON_ALLOW_PRIVATE_NODES: bool = env.bool("TRITON_ALLOW_PRIVATE_NODES", default=True)
TRITON_ALLOWED_HOSTS: list[str] = [h.lower() for h in env.list("TRITON_ALLOWED_HOSTS", default=[])]

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# htmx and our fetch() calls read the token from the page, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# EMAIL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/email/ — the console backend prints the mail
# (verification codes, password resets, receipts) where `make demo` is running, headers and the
# plain-text part only (core.email_backends).
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="core.email_backends.ReadableConsoleBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Agora <noreply@agora.local>")

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(asctime)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": env.str("DJANGO_LOG_LEVEL", default="INFO"), "handlers": ["console"]},
}

# ADMIN
# ------------------------------------------------------------------------------
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")

from config.settings.allauth import *  # noqa: E402,F403
from config.settings.cache import *  # noqa: E402,F403
from config.settings.celery import *  # noqa: E402,F403
from config.settings.chain import *  # noqa: E402,F403
from config.settings.drf import *  # noqa: E402,F403
from config.settings.security import *  # noqa: E402,F403
from config.settings.stripe import *  # noqa: E402,F403

# Serve static files straight from the app folders when there is no collectstatic output
# (local, demo and tests); production serves the collected, hashed files.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
SITE_DOMAIN = env.str("SITE_DOMAIN", default="127.0.0.1:8000")
# Links in emails (core.mail.site_url); production defaults to https.
SITE_URL = env.str("SITE_URL", default=f"http://{SITE_DOMAIN}")
# Buyers whose subscription renews from their prepaid or AGR balance are reminded this many days before.
SUBSCRIPTION_RENEWAL_REMINDER_DAYS = env.int("SUBSCRIPTION_RENEWAL_REMINDER_DAYS", default=3)
