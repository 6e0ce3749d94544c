"""Storefront tests: the whole ledger must verify after every test that touched the database
(L2, as in tests/tokenomics), Stripe is localstripe, and uploads go to a temporary media root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tokenomics.conftest import _ledger_verifies_after_test  # noqa: F401  (autouse)

# Orders are paid through a real localstripe (started once per session; autouse points Stripe at it).
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe, since  # noqa: F401


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
