"""Playwright fixtures: Debian's Chromium, launched once per module, one fresh context per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API drives its driver from an asyncio loop that it keeps running in this
    # thread, so Django's async_unsafe guard sees a running loop and raises SynchronousOnlyOperation
    # for any ORM query made here: the test body's, and transactional_db's flush at teardown. No
    # coroutine of ours ever touches the ORM, so switching the guard off is safe. Module scope (not
    # the function-scoped monkeypatch fixture) because it must hold for as long as the browser runs.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_allow_orm_beside_playwright: None) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        # Fail, never skip: CI installs Debian's chromium, and a skipped browser test hides that.
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (never `playwright install`).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
