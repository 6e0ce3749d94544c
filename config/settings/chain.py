"""Ethereum settings used by Sign-In with Ethereum (and, later, the AGR rail)."""

from __future__ import annotations

from config.env import env

# Chain ids a SIWE message may name. 1337 is the local development chain.
WEB3_CHAIN_ID: int = env.int("WEB3_CHAIN_ID", default=1337)
SIWE_ALLOWED_CHAIN_IDS: list[int] = [
    int(c) for c in env.list("SIWE_ALLOWED_CHAIN_IDS", default=[str(WEB3_CHAIN_ID)])
]
# The domain and origin a SIWE message must name; empty means "the host of the request".
SIWE_DOMAIN: str = env.str("SIWE_DOMAIN", default="")
SIWE_URI: str = env.str("SIWE_URI", default="")
# EIP-4361 leaves the nonce lifetime to the relying party; ours is short and single-use.
SIWE_NONCE_TTL_SECONDS: int = env.int("SIWE_NONCE_TTL_SECONDS", default=600)
