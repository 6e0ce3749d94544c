"""AGR orders run on the same in-process EVM as the rail's own tests."""

from __future__ import annotations

from tests.tokenomics.chain.conftest import _chain_settings, chain, new_key  # noqa: F401
