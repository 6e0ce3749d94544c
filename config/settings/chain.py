"""Ethereum settings: Sign-In with Ethereum and the AGR rail (token, deposit address, hot wallet).

Local development runs on chain id 1337 (ganache `--wallet.deterministic`, or the in-process
eth-tester chain with the same accounts), where well-known development keys are the defaults.
Those keys are public: on any other chain id they are refused, here and again where they are used.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env

DEV_CHAIN_ID = 1337
# ganache `--wallet.deterministic` accounts 0 and 1 (mnemonic "myth like bonus scare over problem
# client lizard pioneer submit female collect"): public test keys, never funded on a real chain.
DEV_DEPLOYER_KEY = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"
DEV_HOT_WALLET_KEY = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1"
DEV_KEYS = frozenset({DEV_DEPLOYER_KEY, DEV_HOT_WALLET_KEY})

# Chain ids a SIWE message may name, and the chain the AGR rail pays on. 1337 is local development.
WEB3_CHAIN_ID: int = env.int("WEB3_CHAIN_ID", default=DEV_CHAIN_ID)
SIWE_ALLOWED_CHAIN_IDS: list[int] = [
    int(c) for c in env.list("SIWE_ALLOWED_CHAIN_IDS", default=[str(WEB3_CHAIN_ID)])
]
# The domain and origin a SIWE message must name; empty means "the host of the request".
SIWE_DOMAIN: str = env.str("SIWE_DOMAIN", default="")
SIWE_URI: str = env.str("SIWE_URI", default="")
# EIP-4361 leaves the nonce lifetime to the relying party; ours is short and single-use.
SIWE_NONCE_TTL_SECONDS: int = env.int("SIWE_NONCE_TTL_SECONDS", default=600)

# --- The AGR rail
# A JSON-RPC URL, or "tester" for an in-process eth-tester chain (one per process; tests only).
WEB3_PROVIDER_URL: str = env.str("WEB3_PROVIDER_URL", default="http://127.0.0.1:8545")
WEB3_RPC_TIMEOUT_SECONDS: int = env.int("WEB3_RPC_TIMEOUT_SECONDS", default=10)
# The AGR contract. Empty: the address `manage.py chain_deploy` wrote to WEB3_DEPLOYMENT_FILE for
# this chain id is used (the local demo); production sets it.
WEB3_TOKEN_ADDRESS: str = env.str("WEB3_TOKEN_ADDRESS", default="")
WEB3_DEPLOYMENT_FILE: str = env.str("WEB3_DEPLOYMENT_FILE", default=str(BASE_DIR / ".demo" / "chain.json"))
# Where buyers send AGR. Empty: the hot wallet's own address (so deposits fund payouts locally).
WEB3_DEPOSIT_ADDRESS: str = env.str("WEB3_DEPOSIT_ADDRESS", default="")
# How far back the periodic Transfer scan looks when it has no cursor (blocks).
WEB3_SCAN_LOOKBACK_BLOCKS: int = env.int("WEB3_SCAN_LOOKBACK_BLOCKS", default=5_000)
# Private keys (0x hex). REQUIRED for payouts (hot wallet) and `chain_deploy` (deployer) off the
# development chain; on chain id 1337 they default to the public development keys above.
_is_dev_chain = WEB3_CHAIN_ID == DEV_CHAIN_ID
WEB3_HOT_WALLET_KEY: str = env.str("WEB3_HOT_WALLET_KEY", default=DEV_HOT_WALLET_KEY if _is_dev_chain else "")
WEB3_DEPLOYER_KEY: str = env.str("WEB3_DEPLOYER_KEY", default=DEV_DEPLOYER_KEY if _is_dev_chain else "")
if not _is_dev_chain and {WEB3_HOT_WALLET_KEY.lower(), WEB3_DEPLOYER_KEY.lower()} & DEV_KEYS:
    raise ImproperlyConfigured(
        f"A public development key is configured for chain id {WEB3_CHAIN_ID}; "
        f"those keys are only allowed on chain id {DEV_CHAIN_ID}."
    )
# Where burned AGR is sent on chain (the network fee of AGR sales, slashed stake): an address no
# one holds a key to, since AGR.vy has no burn function. Batched by `tokenomics.chain_process_burns`.
WEB3_BURN_ADDRESS: str = env.str("WEB3_BURN_ADDRESS", default="0x000000000000000000000000000000000000dEaD")
