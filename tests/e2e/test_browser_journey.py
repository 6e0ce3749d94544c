"""One journey through the real site in Chromium: sign up, verify by emailed code, log out, log in,
create an API key (htmx), use it against the API, revoke it (htmx + confirm dialog)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

EMAIL = "journey@example.com"
PASSWORD = "correct-horse-battery-staple-42"
KEY_NAME = "Browser journey key"
CODE_RE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.MULTILINE)


def _get_me(base_url: str, secret: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _screenshot(page: Page, path: Path) -> None:
    # The header and sidebar are position: sticky; a full-page capture of a scrolled page paints
    # them where the viewport was, half-way down the image, so capture from the top.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)


def test_signup_verify_login_and_api_key_lifecycle(live_server, page: Page, artifacts_dir: Path) -> None:
    base = live_server.url
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    header = page.locator("header.site-header")
    main = page.locator("main")

    # 1. Sign up.
    page.goto(f"{base}/accounts/signup/")
    main.locator("input[name=email]").fill(EMAIL)
    main.locator("input[name=password1]").fill(PASSWORD)
    main.locator("input[name=password2]").fill(PASSWORD)
    main.get_by_role("button", name="Sign Up", exact=True).click()

    # 2. Mandatory verification by code: the code arrives by email (locmem outbox).
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    assert mail.outbox[-1].to == [EMAIL]
    match = CODE_RE.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    main.locator("input[name=code]").fill(match.group(1))
    main.get_by_role("button", name="Confirm", exact=True).click()
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    expect(header.get_by_role("link", name="API keys")).to_be_visible()

    # 3. Log out, then log back in with the same credentials.
    header.get_by_role("button", name="Log out").click()
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header.get_by_role("link", name="API keys")).to_have_count(0)
    page.goto(f"{base}/accounts/login/")
    main.locator("input[name=login]").fill(EMAIL)
    main.locator("input[name=password]").fill(PASSWORD)
    main.get_by_role("button", name="Sign In", exact=True).click()
    expect(header.get_by_role("link", name="API keys")).to_be_visible()
    expect(header.get_by_role("link", name="Log in")).to_have_count(0)

    # 4. Create a key through the htmx form; the secret is shown once.
    page.goto(f"{base}/accounts/api-keys/")
    expect(page.locator("#key-table")).to_have_count(0)
    expect(page.locator("#keys-section .empty")).to_contain_text("No API keys yet")
    page.get_by_label("Name").fill(KEY_NAME)
    page.get_by_role("button", name="Create key").click()
    secret_box = page.locator("#new-key-secret")
    expect(secret_box).to_have_text(re.compile(r"^agr_live_\S+$"))
    secret = secret_box.inner_text().strip()
    expect(page.locator("#key-table")).to_contain_text(KEY_NAME)
    expect(page).to_have_url(re.compile(r"/accounts/api-keys/$"))  # swapped in place, no navigation

    # 5. The key shown in the browser authenticates an API call.
    status, body = _get_me(base, secret)
    assert status == 200, body
    assert body["email"] == EMAIL

    # 7 (before revoking, while the page shows the secret and the table).
    _screenshot(page, artifacts_dir / "api-keys.png")

    # 6. Revoke through the hx-confirm dialog: the table empties and the key stops working.
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.locator("#key-table").get_by_role("row", name=KEY_NAME).get_by_role("button", name="Revoke").click()
    expect(page.locator("#keys-section .empty")).to_contain_text("No API keys yet")
    expect(page.locator("#key-table")).to_have_count(0)
    expect(page.locator("#new-key-secret")).to_have_count(0)
    expect(page.locator("#keys-section")).to_contain_text("revoked")
    assert len(dialogs) == 1, dialogs
    assert KEY_NAME in dialogs[0], dialogs

    status, body = _get_me(base, secret)
    assert status == 401, body
    assert body["error"]["code"] == "not_authenticated", body

    _screenshot(page, artifacts_dir / "api-keys-revoked.png")
    assert js_errors == []
