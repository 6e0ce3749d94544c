"""Sign-In with Ethereum in Chromium through an injected EIP-1193 wallet.

The wallet is the narrowest stand-in possible: `window.ethereum.request` forwards to Python, where
eth-account signs with a throwaway key exactly as a browser wallet's personal_sign would. The page,
its JavaScript, the server's nonce and every check are the real ones.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import Page, expect

from accounts.models import Wallet
from tests.accounts.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"

PROVIDER_JS = """
window.ethereum = {
  isMetaMask: false,
  request: async ({ method, params }) => {
    const answer = await window.__wallet(method, params || []);
    if (answer && answer.error) { const e = new Error(answer.error); e.code = 4001; throw e; }
    return answer.result;
  },
};
"""


def _install_wallet(page: Page, account, chain_id: int, signed: list[str]) -> None:
    def wallet(method: str, params: list) -> dict:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [account.address.lower()]}  # wallets often answer in lower case
        if method == "eth_chainId":
            return {"result": hex(chain_id)}
        if method == "personal_sign":
            text = bytes.fromhex(params[0].removeprefix("0x")).decode()
            assert params[1].lower() == account.address.lower()
            signed.append(text)
            signature = Account.sign_message(encode_defunct(text=text), private_key=account.key).signature
            return {"result": "0x" + bytes(signature).hex()}
        return {"error": f"unsupported method {method}"}

    page.expose_function("__wallet", wallet)
    page.add_init_script(PROVIDER_JS)


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()


def test_link_a_wallet_then_sign_in_with_it(page: Page, live_server):
    user = UserFactory(password=PASSWORD)
    account = Account.create()
    signed: list[str] = []
    _install_wallet(page, account, 1337, signed)

    _log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/accounts/wallets/")
    expect(page.get_by_text("No wallet linked yet.")).to_be_visible()
    page.get_by_role("button", name="Connect and sign").click()
    expect(page.locator("#wallet-status")).to_have_text("Wallet linked.")
    expect(page.locator("#wallet-list")).to_contain_text(account.address)  # EIP-55 form
    assert Wallet.objects.get().user_id == user.pk
    # What the wallet showed the user is a proper EIP-4361 message for this site.
    host = live_server.url.split("://", 1)[1]
    assert signed[0].startswith(
        f"{host} wants you to sign in with your Ethereum account:\n{account.address}\n"
    )
    assert "\nChain ID: 1337\n" in signed[0]

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    page.goto(f"{live_server.url}/accounts/wallet-login/")
    page.get_by_role("button", name="Connect wallet and sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("link", name="API keys")).to_be_visible()
    assert Wallet.objects.get().last_login_at is not None


def test_wallet_on_the_wrong_chain_is_refused_with_a_clear_message(page: Page, live_server):
    user = UserFactory(password=PASSWORD)
    _install_wallet(page, Account.create(), 1, [])
    _log_in(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/accounts/wallets/")
    page.get_by_role("button", name="Connect and sign").click()
    expect(page.locator("#wallet-status")).to_have_text(
        "Your wallet is on chain 1. Switch it to chain 1337 and try again."
    )
    expect(page.locator("#wallet-status")).to_have_class("alert alert-error")
    assert not Wallet.objects.exists()


def test_unlinked_wallet_cannot_sign_in(page: Page, live_server):
    _install_wallet(page, Account.create(), 1337, [])
    page.goto(f"{live_server.url}/accounts/wallet-login/")
    page.get_by_role("button", name="Connect wallet and sign in").click()
    expect(page.locator("#wallet-status")).to_contain_text("No account is linked to this wallet")
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
