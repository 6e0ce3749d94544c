"""Platform security: rate limits, which proxy to believe, Content-Security-Policy, upload limits."""

from __future__ import annotations

from config.env import env

# --- Client address
# How many reverse proxies in front of Django append to X-Forwarded-For. 0 (the default) means the
# header is never read and the client is REMOTE_ADDR: anyone can send X-Forwarded-For, so
# believing it without a proxy that overwrites it lets an attacker pick their own rate-limit key.
# With N proxies the client is the N-th address from the right (the one the outermost proxy saw).
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- API rate limits (core.throttling), "<requests>/<second|minute|hour|day>".
# Per API key (or signed-in user) and, separately, per client address. These are ceilings for the
# whole API, above any plan's own rate_limit_per_minute (at most 600 in the catalog), which stays
# the finer control of inference. Counted in the default
# cache: Redis when REDIS_URL is set, shared by every web process; production requires Redis.
API_RATE_LIMITS: dict[str, str] = {
    "user": env.str("API_RATE_LIMIT_USER", default="1200/minute"),
    "ip": env.str("API_RATE_LIMIT_IP", default="1200/minute"),
    # Requests whose credentials fail (a wrong or revoked key): guessing keys ends here quickly.
    "auth_failure": env.str("API_RATE_LIMIT_AUTH_FAILURE", default="20/minute"),
}

# --- Content-Security-Policy (core.middleware.ContentSecurityPolicyMiddleware)
CSP_REPORT_ONLY: bool = env.bool("CSP_REPORT_ONLY", default=False)
# Directives added or replaced, e.g. {"report-uri": "https://..."}; empty by default.
CSP_EXTRA_DIRECTIVES: dict[str, str] = {}

# --- Uploads
# Model artefacts (a version's file) and dispute evidence, in bytes.
ARTEFACT_MAX_BYTES: int = env.int("ARTEFACT_MAX_BYTES", default=2 * 1024**3)
DISPUTE_EVIDENCE_MAX_BYTES: int = env.int("DISPUTE_EVIDENCE_MAX_BYTES", default=10 * 1024**2)

# --- Login limits (django-allauth). Counted in the default cache, which is Redis whenever
# REDIS_URL is set (production requires it), so every web process shares one count.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {
    # Per client address, and per (account, address): see accounts.adapter. An attacker's failures
    # never lock out the owner signing in from elsewhere.
    "login_failed": env.str("ACCOUNT_RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "login": env.str("ACCOUNT_RATE_LIMIT_LOGIN", default="30/m/ip"),
}

# --- Prometheus metrics (compute.metrics, GET /metrics)
# The scraper sends `Authorization: Bearer <token>`; staff sessions may read them too. Production
# refuses to start without a token (core/checks.py, agora.E013). Several gunicorn workers share
# their counters through PROMETHEUS_MULTIPROC_DIR (see compute/metrics.py).
METRICS_BEARER_TOKEN: str = env.str("METRICS_BEARER_TOKEN", default="")
