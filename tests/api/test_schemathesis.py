"""Schemathesis against /api/schema/, in process, with every check on.

Wiring (schemathesis 4.32):

* The schema is fetched once, at import, from the WSGI app that pytest-django configured
  (`config.wsgi` would pick production settings), with `schemathesis.openapi.from_wsgi`.
* `test_api` is `@schema.parametrize()`: one pytest item per operation, each running the
  examples, coverage and fuzzing phases, positive and negative data, and calling
  `case.call_and_validate()`, which runs every check that schemathesis registers (none is
  excluded or disabled here; see CONFIG for the single per-operation setting).
* `test_stateful` runs `schema.as_state_machine()`. drf-spectacular emits no OpenAPI links;
  schemathesis 4 infers them from the response and path-parameter schemas, which gives
  POST /api-keys -> DELETE /api-keys/{key_id}, POST /wallets -> DELETE /wallets/{wallet_id}
  and GET /wallets -> DELETE /wallets/{wallet_id}. In scenarios of up to STEPS calls the
  stateful phase so checks that a key just created can be revoked and a listed wallet
  unlinked (ensure_resource_availability), besides every per-response check again.
  use_after_free runs as well but has nothing to catch yet: no operation reads a single key
  or wallet, and a repeated DELETE is exempt. POST /wallets never succeeds with fuzzed data
  (that takes a real signature), so its link stays unused; the fixture links one wallet
  through the real SIWE flow instead, which the list -> unlink link then finds.
* Coverage and example cases are materialised when the test is collected, before any
  fixture has a database or an API key. So the auth provider sets a placeholder, and
  `Fuzzer.authorize` swaps in the live key just before each call. Cases the negative
  phases sent with no or a forged Authorization header are left alone, and `ignored_auth`
  still sends its own unauthenticated and wrongly authenticated probes.
  (`schemathesis.pytest.from_fixture` would build the cases after the fixtures, but 4.32
  cannot run under pytest 9: it reads `request.node._nodeid`, which pytest 9 removed.)

Database: schemathesis calls Django through its WSGI handler, not Django's test client, so
`request_finished` closes the connection after every request. Inside the `db` fixture's
transaction that would break PostgreSQL, hence `transaction=True`; `reset_sequences=True`
keeps ids, and so what a drawn `{key_id}` hits, the same whichever tests ran before.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from schemathesis.checks import CHECKS, load_all_checks

from accounts import services, siwe
from accounts.models import ApiKey, SiweNonce
from tests.accounts.factories import UserFactory

# The payment rails run for real here too: localstripe for card top-ups, the in-process EVM for
# AGR (their fixtures, imported so that pytest uses them in this module).
from tests.tokenomics.chain.conftest import _chain_settings, chain  # noqa: F401
from tests.tokenomics.stripe.conftest import _stripe_is_localstripe, localstripe  # noqa: F401

# schemathesis.toml's format, as a dict. Everything not named here is schemathesis' default,
# and the default for every check is "enabled".
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 4361,
        "generation": {"deterministic": True, "database": "none"},
        "operations": [
            {
                # positive_data_acceptance stays on, with its default statuses plus 400, for two
                # operations whose schema-valid input can fail a rule JSON Schema cannot state:
                # - POST /wallets: a well-formed message and signature are rejected with
                #   `wallet_signature_rejected` unless a wallet really signed a live nonce;
                # - GET /wallets/nonce: `address` matches ^0x[0-9a-fA-F]{40}$ but a mixed-case
                #   address must also carry a valid EIP-55 checksum.
                # `positive_400_is_business_rule` below then fails any such 400 that is not
                # exactly that rule, so a shape rejection is still caught.
                # - POST /credits: a positive whole-number string outside Stripe's card limits
                #   ($0.50 to $999,999.99) is `validation_error` on `amount`;
                # - POST /credits/{id}/agr-payment: a well-formed hash that pays nothing is
                #   `payment_not_verified`;
                # - POST /listings: a well-formed category slug may name no category.
                # - POST/PATCH /nodes: a well-formed node URL is called before anything is stored,
                #   and the fuzzer's URLs serve no Triton (nor its versions exist): `validation_error`
                #   naming each failed check in `detail.problems`, or the URL in `detail.triton_url`.
                # - GET /usage: two well-formed instants whose end is not after the start.
                "include-operation-id": [
                    "wallets_link",
                    "wallets_nonce",
                    "credits_create",
                    "credits_agr_payment",
                    "listings_create",
                    "nodes_create",
                    "nodes_update",
                    "usage_get",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
                    }
                },
            },
            {
                # POST /proposals: the fuzzer holds no AGR, so a schema-valid proposal that passes its
                # checks is `insufficient_funds` (402, the bond); a change outside a parameter's
                # bounds or its quarterly limit, or parts that do not fit the type, are 400 (see
                # _BUSINESS_RULE_400); an unknown parameter key is 404. POST /delegations: an id
                # that names no holder, or the fuzzer itself, is `delegation_invalid` (400).
                # POST /stakes, /stakes/unstake: the fuzzer holds no AGR, so a schema-valid amount
                # is `insufficient_funds` (402).
                "include-operation-id": [
                    "proposals_create",
                    "delegations_create",
                    "stakes_create",
                    "stakes_unstake",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            "2xx",
                            "3xx",
                            "400",
                            "401",
                            "402",
                            "403",
                            "404",
                            "409",
                            "429",
                            "5xx",
                        ]
                    }
                },
            },
            {
                # POST /batch-jobs: the fuzzer holds no credit, so a schema-valid batch of a hosted
                # model is `license_required` (402); over the registry's caps it is
                # `batch_too_large` (413); an item (any JSON object to the schema) that is not a
                # KServe v2 body, a version the listing does not host, neither `items` nor `file`,
                # or a webhook URL our servers may not call is `validation_error` (400, see
                # _BUSINESS_RULE_400). POST /batch-jobs/{id}/cancel: an ended job is 409.
                # POST /provider-reports: a well-formed request id names no call of the fuzzer's
                # (404), or one already reported (409). POST /inference-requests/{id}/rating: the
                # same (404), or one already rated or too old (409).
                "include-operation-id": [
                    "batch_jobs_create",
                    "batch_jobs_cancel",
                    "provider_reports_create",
                    "inference_requests_rating_create",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            "2xx",
                            "3xx",
                            "400",
                            "401",
                            "402",
                            "403",
                            "404",
                            "409",
                            "413",
                            "429",
                            "5xx",
                        ]
                    }
                },
            },
            {
                # POST /payouts: the fuzzer's account has earned nothing, so a schema-valid payout is
                # `insufficient_funds` (402); and `validation_error` (400) below the minimum
                # (payout.minimum_cents, or its AGR value), for an address on a USD payout, or for
                # a mixed-case address whose EIP-55 checksum is wrong; `payout_destination_not_allowed`
                # (400) for an AGR payout to an address that is not one of the caller's wallets.
                "include-operation-id": ["payouts_create"],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [
                            "2xx",
                            "3xx",
                            "400",
                            "401",
                            "402",
                            "403",
                            "404",
                            "409",
                            "429",
                            "5xx",
                        ]
                    }
                },
            },
        ],
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)

# The Host header schemathesis' WSGI client sends, and so the origin a SIWE message must name.
HOST = "localhost"
PLACEHOLDER = "Bearer fuzz-key-placeholder"
EXAMPLES = 50
STEPS = 6
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # The fuzzer's user, key and wallet are meant to live across all examples of an operation.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)

_BUSINESS_RULE_400 = {
    "POST /api/v1/credits": lambda error: (
        error["code"] == "validation_error" and error["message"].startswith("A card payment is between")
    ),
    "POST /api/v1/credits/{payment_id}/agr-payment": lambda error: error["code"] == "payment_not_verified",
    # ... or an AGR payout to an address that is not one of the caller's linked wallets.
    "POST /api/v1/payouts": lambda error: (
        error["code"] == "payout_destination_not_allowed"
        or (
            error["code"] == "validation_error"
            and error["message"].startswith(
                (
                    "The smallest payout is ",
                    "A USD payout is paid through Stripe; an address is only for AGR payouts.",
                    "This is not an Ethereum address.",
                )
            )
        )
    ),
    "POST /api/v1/wallets": lambda error: error["code"] == "wallet_signature_rejected",
    # A proposal whose change is beyond a parameter's bounds or quarterly limit, or whose parts do
    # not fit its type (a treasury spend without recipient, a parameter change paying someone).
    "POST /api/v1/proposals": lambda error: (
        error["code"] == "parameter_change_too_large"
        or (error["code"] == "validation_error" and bool({"field", "key", "keys"} & set(error["detail"])))
    ),
    # Delegating to oneself or to an id that names no holder.
    "POST /api/v1/delegations": lambda error: error["code"] == "delegation_invalid",
    # A well-formed category slug that names no category.
    "POST /api/v1/listings": lambda error: (
        error["code"] == "validation_error" and set(error["detail"]) == {"category"}
    ),
    # A node that failed its registration checks (each named), or a URL our servers may not call.
    "POST /api/v1/nodes": lambda error: (
        error["code"] == "validation_error" and bool({"problems", "triton_url"} & set(error["detail"]))
    ),
    "PATCH /api/v1/nodes/{node_id}": lambda error: (
        error["code"] == "validation_error" and bool({"problems", "triton_url"} & set(error["detail"]))
    ),
    # A batch item that is not a KServe v2 body, a version not hosted, no items at all, a line
    # of an upload that is not JSON, or a webhook URL our servers may not call.
    "POST /api/v1/batch-jobs": lambda error: (
        error["code"] == "validation_error"
        and bool({"items", "file", "version", "webhook_url"} & set(error["detail"]))
    ),
    "GET /api/v1/usage": lambda error: (
        error["code"] == "validation_error" and error["detail"] == {"end": ["Must be after start."]}
    ),
    "GET /api/v1/wallets/nonce": lambda error: (
        error["code"] == "validation_error"
        and error["detail"] == {"address": ["Address is not in EIP-55 checksum form."]}
    ),
}


@schemathesis.check
def positive_400_is_business_rule(ctx, response, case):
    """Where CONFIG lets positive_data_acceptance take a 400, it must be the business rule."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    rule = _BUSINESS_RULE_400.get(case.operation.label)
    if rule is None:
        return None
    error = response.json()["error"]
    if not rule(error):
        raise AssertionError(f"Schema-valid input was rejected for its shape, not a business rule: {error}")
    return None


@schema.auth(refresh_interval=None)
class PlaceholderAuth:
    def get(self, case, context):
        return PLACEHOLDER

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": data}


WALLET = Account.from_key("0x" + "4d" * 32)


class Fuzzer:
    """The account the fuzzer acts as: a user with an all-scopes API key and one linked wallet."""

    def __init__(self):
        self.user = UserFactory()
        self.key = self._issue_key()
        self._link_wallet()

    def _issue_key(self):
        return services.api_key_create(user=self.user, name="fuzz", scopes=["read", "write", "inference"])

    def _link_wallet(self):
        nonce = services.siwe_nonce_create(purpose=SiweNonce.Purpose.LINK, user=self.user)
        text = siwe.build_message(
            domain=HOST,
            address=WALLET.address,
            uri=f"http://{HOST}",
            chain_id=settings.SIWE_ALLOWED_CHAIN_IDS[0],
            nonce=nonce.nonce,
            issued_at=timezone.now().replace(microsecond=0),
        )
        signed = Account.sign_message(encode_defunct(text=text), private_key=WALLET.key)
        services.wallet_link(
            user=self.user,
            message=text,
            signature="0x" + bytes(signed.signature).hex(),
            context=services.SiweContext(domain=HOST, uri=f"http://{HOST}"),
        )

    def authorize(self, case):
        if (case.headers or {}).get("Authorization") != PLACEHOLDER:
            return
        # A drawn DELETE /api-keys/{key_id} may name this very key: revoking the key you call
        # with is allowed, so carry on with a fresh one rather than with 401s.
        if not ApiKey.objects.filter(pk=self.key.api_key.pk, revoked_at__isnull=True).exists():
            self.key = self._issue_key()
        case.headers["Authorization"] = f"Bearer {self.key.secret}"


@pytest.fixture
def fuzzer(transactional_db):
    return Fuzzer()


BUILT_IN_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
}


def test_every_check_runs_on_every_operation_in_every_phase():
    # Guards CONFIG: tuning a check for one operation must never switch one off. (The built-in
    # max_response_time is the one check that is off until it is given a limit.)
    load_all_checks()
    registered = {check.__name__ for check in CHECKS.get_all() if not isinstance(check, type)}
    assert registered >= {*BUILT_IN_CHECKS, "positive_400_is_business_rule"}
    for result in schema.get_all_operations():
        operation = result.ok()
        for phase in (None, "examples", "coverage", "fuzzing", "stateful"):
            config = schema.config.checks_config_for(operation=operation, phase=phase)
            off = sorted(name for name in registered if not config.get_by_name(name=name).enabled)
            assert off == [], (operation.label, phase, off)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@schema.parametrize()
@SETTINGS
def test_api(case, fuzzer):
    fuzzer.authorize(case)
    case.call_and_validate()


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_stateful(fuzzer):
    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            fuzzer.authorize(case)

    Workflow.run(settings=hypothesis.settings(SETTINGS, stateful_step_count=STEPS))
