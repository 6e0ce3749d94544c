"""Staff tools: catalog moderation (catalog.py) and commerce, disputes included (commerce.py)."""

from __future__ import annotations

from marketplace.admin import catalog, commerce  # noqa: F401  (registers the ModelAdmins)
