"""What the PostgreSQL benchmarks share: their setup (refuse SQLite, refuse a database whose name
lacks "bench" since the scripts empty tables, create the database if missing, start Django) and the
percentile they report.

    from support import percentile, setup_django
    setup_django(script="ledger.py", default_url=..., needs="row locks ...", empties="the ledger tables")
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _refuse(script: str, message: str) -> None:
    print(f"benchmarks/{script}: {message}", file=sys.stderr)
    sys.exit(2)


def _ensure_database(url: str) -> None:
    """Create the benchmark database on its server if it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(*, script: str, default_url: str, needs: str, empties: str) -> None:
    """Point Django at DATABASE_URL (default `default_url`) with DEBUG off, check it is a PostgreSQL
    database named for benchmarks, create it if missing and run django.setup()."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG keeps every query in memory: not production
    url = os.environ.setdefault("DATABASE_URL", default_url)
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        _refuse(
            script, f"needs PostgreSQL (DATABASE_URL={url!r}); {needs}. Run with DATABASE_URL={default_url}"
        )
    if "bench" not in urlsplit(url).path:
        _refuse(script, f"the database name must contain 'bench' (it empties {empties}); got {url!r}")
    _ensure_database(url)

    import django

    django.setup()


def percentile(values: list[float], q: float) -> float:
    """The q-th quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
