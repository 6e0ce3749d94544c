"""`manage.py chain_deploy`: deploys the committed artefact, saves where the app reads the token
address, funds the hot wallet, given addresses and linked wallets; a rerun reuses and tops up."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.accounts.factories import UserFactory
from tests.tokenomics.chain.conftest import Chain, link
from tokenomics.chain_client import address_of
from tokenomics.money import agr
from tokenomics.services.chain_rail import agr_rail_config

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("chain_deploy", *args, stdout=out)
    return out.getvalue()


def test_deploy_saves_the_token_and_funds_addresses(chain: Chain, settings, tmp_path, new_key) -> None:
    settings.WEB3_DEPLOYMENT_FILE = str(tmp_path / "chain.json")
    settings.WEB3_TOKEN_ADDRESS = ""
    given = address_of(new_key(agr_amount=0))
    linked_key = new_key(agr_amount=0)
    link(UserFactory(), linked_key)

    output = run("--fund", given, "--agr", "500", "--eth", "2")
    saved = json.loads((tmp_path / "chain.json").read_text())
    token = saved["token_address"]
    assert saved["chain_id"] == 1337
    assert saved["rpc_url"] == "tester"
    assert saved["deposit_address"] == chain.deposit
    assert f"chain id 1337  AGR token {token}" in output
    assert "RPC tester" in output
    assert token != chain.token
    assert chain.client.has_code(token)
    assert agr_rail_config().token_address == token  # the app reads the saved address
    for address in (given, address_of(linked_key)):
        assert chain.client.erc20_balance(token=token, address=address) == agr(500)
        assert chain.client.eth_balance(address) >= 2 * 10**18
    assert chain.client.erc20_balance(token=token, address=chain.deposit) == agr(1_000_000)

    again = run("--fund", given, "--agr", "500")
    assert f"Reusing the AGR token at {token}" in again
    assert chain.client.erc20_balance(token=token, address=given) == agr(500)

    fresh = run("--redeploy")
    assert json.loads((tmp_path / "chain.json").read_text())["token_address"] != token
    assert "Deployed the AGR token" in fresh


def test_deploy_refuses_a_node_on_another_chain(chain: Chain, settings, tmp_path) -> None:
    settings.WEB3_DEPLOYMENT_FILE = str(tmp_path / "chain.json")
    settings.WEB3_CHAIN_ID = 5
    with pytest.raises(CommandError, match="chain 1337"):
        run()
    assert not (tmp_path / "chain.json").exists()
