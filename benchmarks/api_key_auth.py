"""API-key authentication: the cached hot path against the database lookup it replaces.

    python benchmarks/api_key_auth.py [--calls 5000]

Prints calls per second and the speed-up of the cached path over a fresh database lookup per call
(the baseline, measured in the same run against the same database).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import User  # noqa: E402


def _rate(calls: int, fn) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    user = services.user_create(email=f"bench-{time.time_ns()}@bench.local", password=None)
    try:
        created = services.api_key_create(user=user, name="bench", scopes=["read"])
        cache_key = f"apikey:{created.api_key.prefix}"

        def uncached() -> None:
            cache.delete(cache_key)
            services.api_key_authenticate(raw_key=created.secret)

        def cached() -> None:
            services.api_key_authenticate(raw_key=created.secret)

        uncached()  # warm connections
        db_rate = _rate(args.calls, uncached)
        cached_rate = _rate(args.calls, cached)
        backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database: {connection.vendor}; cache: {backend}")
        print(f"baseline (database lookup every call): {db_rate:10.0f} calls/s")
        print(f"cached hot path:                        {cached_rate:10.0f} calls/s")
        print(f"speed-up:                               {cached_rate / db_rate:10.1f}x")
    finally:
        User.objects.filter(pk=user.pk).delete()


if __name__ == "__main__":
    main()
