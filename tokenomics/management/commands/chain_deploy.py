"""Deploy the AGR token to the configured chain and fund demo addresses (local development).

    manage.py chain_deploy [--compile] [--redeploy] [--fund 0xADDR ...] [--agr 10000] [--eth 10]

Reads WEB3_PROVIDER_URL, WEB3_CHAIN_ID and WEB3_DEPLOYER_KEY (on chain id 1337 the public ganache
`--wallet.deterministic` account 0 by default). Writes WEB3_DEPLOYMENT_FILE (default
.demo/chain.json: rpc_url, chain_id, token_address, deposit_address), which the app reads when
WEB3_TOKEN_ADDRESS is empty. Running it again reuses a token still deployed at the saved address
and only tops balances up to the requested amounts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.selectors import wallet_list
from tokenomics.chain_client import ChainClient, ChainError, address_of, chain_client_get, checksum
from tokenomics.contracts import agr_artefact, agr_artefact_write
from tokenomics.money import agr
from tokenomics.services.chain_rail import DEV_CHAIN_ID, ChainNotConfigured, hot_wallet_key

WEI_PER_ETH = 10**18
# The hot wallet pays AGR out; locally it starts with enough for any demo.
HOT_WALLET_AGR = 1_000_000


class Command(BaseCommand):
    help = "Deploy the AGR token (build/AGR.json) to the configured chain and fund demo addresses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--compile", action="store_true", help="Recompile AGR.vy into build/AGR.json first."
        )
        parser.add_argument(
            "--redeploy", action="store_true", help="Deploy a new token even if one is saved."
        )
        parser.add_argument(
            "--fund",
            action="append",
            default=[],
            metavar="ADDRESS",
            help="Also fund this address (repeatable).",
        )
        parser.add_argument(
            "--agr", type=int, default=10_000, help="Whole AGR each funded address ends with."
        )
        parser.add_argument(
            "--eth", type=int, default=10, help="Whole ETH (for gas) each funded address ends with."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["compile"]:
            self.stdout.write(f"Compiled {agr_artefact_write()}")
        key = str(settings.WEB3_DEPLOYER_KEY or "")
        if not key:
            raise CommandError("Set WEB3_DEPLOYER_KEY (a funded key on this chain).")
        client = chain_client_get()
        try:
            chain_id = client.chain_id()
        except ChainError as exc:
            raise CommandError(f"No node at {settings.WEB3_PROVIDER_URL}: {exc}") from exc
        if chain_id != settings.WEB3_CHAIN_ID:
            raise CommandError(
                f"The node is on chain {chain_id}, WEB3_CHAIN_ID says {settings.WEB3_CHAIN_ID}."
            )
        if key.lower() in settings.DEV_KEYS and chain_id != DEV_CHAIN_ID:
            raise CommandError("The development deployer key may only be used on chain id 1337.")

        deployment = Path(str(settings.WEB3_DEPLOYMENT_FILE))
        token = self._saved_token(deployment, chain_id, client) if not options["redeploy"] else ""
        if token:
            self.stdout.write(f"Reusing the AGR token at {token}")
        else:
            token = client.contract_deploy(private_key=key, bytecode=agr_artefact().bytecode)
            self.stdout.write(f"Deployed the AGR token at {token}")
        try:
            hot_address = address_of(hot_wallet_key())
        except ChainNotConfigured:
            hot_address = ""
        deposit = checksum(str(settings.WEB3_DEPOSIT_ADDRESS or "") or hot_address) if hot_address else ""
        deployment.parent.mkdir(parents=True, exist_ok=True)
        deployment.write_text(
            json.dumps(
                {
                    "rpc_url": settings.WEB3_PROVIDER_URL,
                    "chain_id": chain_id,
                    "token_address": token,
                    "deposit_address": deposit,
                },
                indent=2,
            )
            + "\n"
        )

        targets: dict[str, int] = {}
        if hot_address:
            targets[hot_address] = agr(HOT_WALLET_AGR)
        addresses: list[str] = [checksum(a) for a in options["fund"]]
        if chain_id == DEV_CHAIN_ID:  # demo users' linked wallets, on the local chain only
            for user in User.objects.filter(wallets__isnull=False).distinct():
                addresses += [w.address for w in wallet_list(user=user)]
        for address in addresses:
            targets.setdefault(address, agr(options["agr"]))
        for address, wanted in targets.items():
            self._top_up(client, key, token, address, wanted, options["eth"] * WEI_PER_ETH)

        self.stdout.write(
            self.style.SUCCESS(
                f"RPC {settings.WEB3_PROVIDER_URL}  chain id {chain_id}  AGR token {token}\n"
                f"Deposit address {deposit or '(set WEB3_DEPOSIT_ADDRESS)'}; saved to {deployment}"
            )
        )

    def _saved_token(self, deployment: Path, chain_id: int, client: ChainClient) -> str:
        try:
            saved = json.loads(deployment.read_text())
        except (OSError, ValueError):
            return ""
        token = str(saved.get("token_address") or "") if isinstance(saved, dict) else ""
        if not token or saved.get("chain_id") != chain_id or not client.has_code(token):
            return ""  # none saved, another chain, or a restarted node that lost it
        return checksum(token)

    def _top_up(
        self, client: ChainClient, key: str, token: str, address: str, agr_wanted: int, wei_wanted: int
    ) -> None:
        have = client.erc20_balance(token=token, address=address)
        if have < agr_wanted:
            client.receipt_wait(
                client.erc20_transfer(private_key=key, token=token, to=address, amount=agr_wanted - have)
            )
        if wei_wanted and client.eth_balance(address) < wei_wanted:
            client.receipt_wait(
                client.eth_transfer(private_key=key, to=address, wei=wei_wanted - client.eth_balance(address))
            )
        self.stdout.write(
            f"  funded {address}: {client.erc20_balance(token=token, address=address)} AGR base units"
        )
