"""Stripe settings: keys, where the API lives (localstripe by default), webhook secrets, reconciliation.

Offline defaults talk to localstripe (`localstripe --port 8420`, started by `make demo` and by the
test fixture); an empty STRIPE_API_BASE means the real api.stripe.com.
"""

from __future__ import annotations

from config.env import env

# Test-mode placeholders: localstripe accepts any "sk_..." key. Production sets real ones.
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="sk_test_local")
STRIPE_PUBLISHABLE_KEY: str = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_local")
# Base URL of the Stripe API; empty means Stripe itself (https://api.stripe.com).
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420").rstrip("/")
# Stripe.js for the card form: localstripe serves a stand-in under the API base; Stripe serves the
# real one. Never vendored: Stripe requires js.stripe.com for PCI scope.
STRIPE_JS_URL: str = env.str(
    "STRIPE_JS_URL",
    default=f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/",
)
# Signing secrets of the webhook endpoint, newest first. During a rotation both the old and the new
# secret are listed (comma separated), so deliveries signed with either are accepted.
STRIPE_WEBHOOK_SECRETS: list[str] = [
    s for s in env.list("STRIPE_WEBHOOK_SECRETS", default=["whsec_local_demo"]) if s.strip()
]
# Seconds a webhook signature's timestamp may be from now, either way (Stripe's default, 300 s).
STRIPE_WEBHOOK_TOLERANCE_SECONDS: int = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# How often the reconciliation task pulls recent events from Stripe (Celery beat), in seconds.
STRIPE_RECONCILE_SECONDS: int = env.int("STRIPE_RECONCILE_SECONDS", default=300)
# How far back it looks, in seconds. Stripe retries a webhook for up to three days, and lists
# events for 30; three days covers any outage that Stripe itself would still be retrying.
STRIPE_RECONCILE_LOOKBACK_SECONDS: int = env.int("STRIPE_RECONCILE_LOOKBACK_SECONDS", default=3 * 24 * 3600)
# Retries of one API call on a network error or 5xx, with the same idempotency key.
STRIPE_MAX_NETWORK_RETRIES: int = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
