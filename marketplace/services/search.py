"""Search index upkeep for listings (filled in by the catalog work)."""

from __future__ import annotations


def listing_search_index(*, listing_id: int) -> None:
    """Recompute the listing's stored search vector (PostgreSQL only; nothing on SQLite)."""
