"""Production: everything secret or host-specific must come from the environment."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.django.base import *  # noqa: F403
from config.django.base import ARTEFACT_DEV_MASTER_KEY
from config.env import env

DEBUG = False
# Every development default (SQLite, in-memory cache, chain 1337, ganache keys, localstripe, missing
# secrets) is refused at start by the system checks in core/checks.py.
AGORA_REFUSE_DEVELOPMENT_DEFAULTS = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# SECURITY
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default=f"https://{SITE_DOMAIN}")  # noqa: F405

# STATIC
# ------------------------------------------------------------------------------
STORAGES = {
    # S3 (or S3-compatible) when AWS_STORAGE_BUCKET_NAME is set; local disk is refused (agora.E012).
    "default": STORAGES["default"],  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# EMAIL
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = True

ACCOUNT_EMAIL_VERIFICATION = "mandatory"

# PAYMENT RAILS
# ------------------------------------------------------------------------------
# Real Stripe, never the local stand-in: keys and webhook secrets must come from the environment.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_WEBHOOK_SECRETS = [s for s in env.list("STRIPE_WEBHOOK_SECRETS") if s.strip()]

# ARTEFACTS
# ------------------------------------------------------------------------------
# The master key that wraps every artefact's file key: no default, and never the development key.
ARTEFACT_MASTER_KEY = env.str("ARTEFACT_MASTER_KEY")
if ARTEFACT_MASTER_KEY.strip() == ARTEFACT_DEV_MASTER_KEY:
    raise ImproperlyConfigured("ARTEFACT_MASTER_KEY is the public development key; generate a secret one.")

# INFERENCE NODES
# ------------------------------------------------------------------------------
# Node URLs must resolve to public addresses, unless their host is listed in TRITON_ALLOWED_HOSTS.
TRITON_ALLOW_PRIVATE_NODES = env.bool("TRITON_ALLOW_PRIVATE_NODES", default=False)
