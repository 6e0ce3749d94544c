"""S1's static half: only `tokenomics.stripe_client` imports `stripe`, and every Stripe write in it
goes through `_write`, which needs an idempotency key (a required keyword of each write function).
And how the client reports Stripe's answers: refused (4xx) versus unavailable (no answer)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from tests.tokenomics.stripe.conftest import LocalStripe
from tokenomics import stripe_client

ROOT = Path(__file__).resolve().parents[3]
APP_PACKAGES = ("config", "core", "accounts", "tokenomics", "compute", "marketplace", "governance")
CLIENT = ROOT / "tokenomics" / "stripe_client.py"
READS = {"retrieve", "list", "auto_paging_iter", "construct_event", "search"}


def _imports_stripe(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "stripe" for a in node.names):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").split(".")[0] == "stripe"
            and not node.level
        ):
            return True
    return False


def test_only_the_client_imports_stripe() -> None:
    offenders = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path != CLIENT and _imports_stripe(ast.parse(path.read_text(), str(path))):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert _imports_stripe(ast.parse(CLIENT.read_text()))


def _stripe_calls_outside_write(tree: ast.Module) -> list[str]:
    """Calls on the Stripe client (`..._client().v1.<service>.<method>(...)`) that are not reads and
    are not made inside a lambda handed to `_write`."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if ".v1." not in ast.unparse(node.func) or node.func.attr in READS:
            continue
        up: ast.AST | None = parents.get(node)
        while up is not None and not isinstance(up, ast.Lambda):
            up = parents.get(up)
        call = parents.get(up) if up is not None else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_write"):
            bad.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    return bad


def test_every_stripe_write_goes_through_write_with_a_required_key() -> None:
    tree = ast.parse(CLIENT.read_text())
    assert _stripe_calls_outside_write(tree) == []
    assert "raw_request" not in CLIENT.read_text()
    writers = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and any(isinstance(n, ast.Name) and n.id == "_write" for n in ast.walk(node))
    ]
    assert len(writers) >= 8  # customers, intents, refunds, products, plans, subscriptions...
    for name in writers:
        parameter = inspect.signature(getattr(stripe_client, name)).parameters["idempotency_key"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is inspect.Parameter.empty, name


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_write_without_a_usable_key_is_not_sent(localstripe: LocalStripe, key: str) -> None:
    email = f"no-key-{len(key)}@example.com"
    with pytest.raises(ValueError, match="idempotency key"):
        stripe_client.customer_create(email=email, metadata={}, idempotency_key=key)
    assert localstripe.customers_with(email) == []


def test_stripe_refusing_and_stripe_away_are_told_apart(settings) -> None:
    with pytest.raises(stripe_client.StripeRejected) as refused:
        stripe_client.payment_intent_retrieve(payment_intent_id="pi_does_not_exist")
    assert refused.value.http_status == 404
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(stripe_client.StripeUnavailable):
        stripe_client.payment_intent_retrieve(payment_intent_id="pi_any")


def test_the_card_form_script_follows_the_api_base(localstripe: LocalStripe) -> None:
    import importlib

    from config.settings import stripe as stripe_settings

    assert stripe_settings.STRIPE_JS_URL.endswith("/js.stripe.com/v3/")
    monkey = pytest.MonkeyPatch()
    try:
        monkey.setenv("STRIPE_API_BASE", "")
        monkey.delenv("STRIPE_JS_URL", raising=False)
        real_stripe = importlib.reload(stripe_settings).STRIPE_JS_URL
        monkey.setenv("STRIPE_API_BASE", localstripe.url)
        local = importlib.reload(stripe_settings).STRIPE_JS_URL
        assert (real_stripe, local) == ("https://js.stripe.com/v3/", f"{localstripe.url}/js.stripe.com/v3/")
    finally:
        monkey.undo()
        importlib.reload(stripe_settings)
