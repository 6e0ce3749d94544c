"""The only importer of `stripe`: Stripe's API as plain dataclasses, with no Django models.

Every write takes a required `idempotency_key`, derived by the caller from a row it has already
committed (e.g. "refund-42"), so that a retry after a lost response is the same request to Stripe
and is answered with the first result (docs.stripe.com/api/idempotent_requests). The library
itself retries network errors and 5xx `STRIPE_MAX_NETWORK_RETRIES` times with that same key.

Where the API lives comes from settings (STRIPE_API_BASE: localstripe locally and in tests, empty
for api.stripe.com), read on every call so that tests can point it elsewhere.

Errors: `StripeUnavailable` when the outcome is unknown (network, 5xx, rate limit: retry with the
same key), `StripeRejected` when Stripe refused and did nothing (4xx), `WebhookInvalid` for a
webhook that fails verification.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import stripe
from django.conf import settings
from stripe.params import (
    PaymentIntentCreateParams,
    PlanCreateParams,
    RefundCreateParams,
    SetupIntentCreateParams,
    SubscriptionCreateParams,
    TransferCreateParams,
)

MAX_IDEMPOTENCY_KEY_LENGTH = 255  # Stripe's limit
DEFAULT_WEBHOOK_TOLERANCE = 300  # seconds, Stripe's default (stripe.Webhook.DEFAULT_TOLERANCE)


# ---------------------------------------------------------------- errors


class StripeClientError(Exception):
    """Base of what this module raises; `code` is Stripe's error code when it gave one."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


class StripeUnavailable(StripeClientError):
    """No answer, a 5xx or a rate limit: Stripe may or may not have acted. Retry with the same key."""


class StripeRejected(StripeClientError):
    """Stripe refused the request (4xx) and did nothing: retrying the same request will not help."""


class StripeCardDeclined(StripeRejected):
    """The card was declined (402)."""


class WebhookInvalid(StripeClientError):
    """A webhook request that is not a correctly signed, recent Stripe event."""


# ---------------------------------------------------------------- plain data


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str  # requires_payment_method, requires_action, processing, succeeded, canceled...
    amount: int  # minor units of `currency`
    amount_received: int  # minor units; what the payer actually paid (0 until it succeeded)
    currency: str
    client_secret: str
    customer: str | None
    metadata: dict[str, str]
    last_payment_error: str | None  # the decline code or message of the last failed attempt
    payment_method: str | None = None  # the card it was (or is being) paid with


@dataclass(frozen=True)
class SetupIntent:
    """A card collected and saved by Stripe.js (confirmCardSetup) for the customer."""

    id: str
    status: str  # requires_payment_method, requires_action, succeeded, canceled...
    client_secret: str
    customer: str | None
    payment_method: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: int  # minor units
    currency: str
    payment_intent: str | None
    charge: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class Subscription:
    id: str
    status: str  # incomplete, trialing, active, past_due, unpaid, canceled, incomplete_expired...
    customer: str
    current_period_end: int | None  # unix seconds
    metadata: dict[str, str]


@dataclass(frozen=True)
class Invoice:
    """A subscription's bill for one period, paid by Stripe from the customer's default card."""

    id: str
    status: str  # draft, open, paid, void, uncollectible
    subscription: str | None
    customer: str
    amount_paid: int  # minor units
    amount_due: int
    currency: str
    payment_failed: bool  # an attempt to collect it failed (the card was declined)
    failure_message: str


@dataclass(frozen=True)
class Transfer:
    """Money sent from the platform's Stripe balance to a connected account (a creator's payout)."""

    id: str
    amount: int  # minor units of `currency`
    currency: str
    destination: str  # the connected account, "acct_..."
    metadata: dict[str, str]


@dataclass(frozen=True)
class Event:
    """A Stripe event as sent: `payload` is the whole JSON object, `data.object` inside it."""

    id: str
    type: str
    created: int  # unix seconds
    object_id: str
    payload: dict[str, Any]

    @property
    def object(self) -> dict[str, Any]:
        data = self.payload.get("data") or {}
        obj = data.get("object") or {}
        return obj if isinstance(obj, dict) else {}


# ---------------------------------------------------------------- the configured client

_clients: dict[tuple[str, str, int], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def _client() -> stripe.StripeClient:
    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = stripe.StripeClient(
                    key[0], base_addresses={"api": key[1]} if key[1] else {}, max_network_retries=key[2]
                )
                _clients[key] = client
    return client


T = TypeVar("T")


def _translate(exc: stripe.StripeError) -> StripeClientError:
    code = str(getattr(exc, "code", "") or "")
    status = exc.http_status
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.CardError):
        return StripeCardDeclined(message, code=code, http_status=status)
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return StripeUnavailable(message, code=code, http_status=status)
    if status is None or status >= 500 or status == 409:
        # 409: a concurrent request with the same key is in flight; nothing was saved, retry.
        return StripeUnavailable(message, code=code, http_status=status)
    return StripeRejected(message, code=code, http_status=status)


def _call(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


def _write(idempotency_key: str, fn: Callable[[stripe.RequestOptions], T]) -> T:
    """Every write goes through here: no key, no request."""
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(
            f"a Stripe write needs an idempotency key of 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} chars"
        )
    options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
    return _call(lambda: fn(options))


def _data(obj: Any) -> dict[str, Any]:
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    return dict(data) if isinstance(data, Mapping) else {}


def _metadata(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (data.get("metadata") or {}).items()}


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, or the object itself (localstripe expands some by default)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return str(value.get("id") or "") or None
    return None


def _payment_intent(obj: Any) -> PaymentIntent:
    d = _data(obj)
    status = str(d.get("status") or "")
    amount = int(d.get("amount") or 0)
    received = d.get("amount_received")
    if received is None:  # localstripe leaves it out; Stripe always sends it
        received = amount if status == "succeeded" else 0
    error = d.get("last_payment_error")
    error_text = None
    if isinstance(error, Mapping):
        error_text = str(error.get("decline_code") or error.get("code") or error.get("message") or "error")
    return PaymentIntent(
        id=str(d["id"]),
        status=status,
        amount=amount,
        amount_received=int(received),
        currency=str(d.get("currency") or "").lower(),
        client_secret=str(d.get("client_secret") or ""),
        customer=_id_of(d.get("customer")),
        metadata=_metadata(d),
        last_payment_error=error_text,
        payment_method=_id_of(d.get("payment_method")),
    )


def _refund(obj: Any) -> Refund:
    d = _data(obj)
    return Refund(
        id=str(d["id"]),
        status=str(d.get("status") or ""),
        amount=int(d.get("amount") or 0),
        currency=str(d.get("currency") or "").lower(),
        payment_intent=_id_of(d.get("payment_intent")),
        charge=_id_of(d.get("charge")),
        metadata=_metadata(d),
    )


def _subscription(obj: Any) -> Subscription:
    d = _data(obj)
    period_end = d.get("current_period_end")
    if period_end is None:
        # Since API version 2025-03-31 the period lives on the subscription's items.
        items = (d.get("items") or {}).get("data") or []
        ends = [int(i["current_period_end"]) for i in items if i.get("current_period_end")]
        period_end = max(ends) if ends else None
    return Subscription(
        id=str(d["id"]),
        status=str(d.get("status") or ""),
        customer=_id_of(d.get("customer")) or "",
        current_period_end=int(period_end) if period_end is not None else None,
        metadata=_metadata(d),
    )


def event_from_payload(payload: Mapping[str, Any]) -> Event:
    """An Event from its JSON object (as delivered, listed, or stored)."""
    data = payload.get("data") or {}
    obj = data.get("object") if isinstance(data, Mapping) else None
    object_id = str(obj.get("id") or "") if isinstance(obj, Mapping) else ""
    return Event(
        id=str(payload["id"]),
        type=str(payload.get("type") or ""),
        created=int(payload.get("created") or 0),
        object_id=object_id,
        payload=json.loads(json.dumps(payload)),  # plain dicts and lists only
    )


# ---------------------------------------------------------------- customers


def customer_create(*, email: str, metadata: Mapping[str, str], idempotency_key: str) -> Customer:
    d = _data(
        _write(
            idempotency_key,
            lambda o: _client().v1.customers.create(
                params={"email": email, "metadata": dict(metadata)}, options=o
            ),
        )
    )
    return Customer(id=str(d["id"]), email=str(d.get("email") or ""), metadata=_metadata(d))


def payment_method_attach(*, payment_method_id: str, customer_id: str, idempotency_key: str) -> None:
    """Attach a card collected by Stripe.js to the customer and make it the invoices' default."""
    _write(
        idempotency_key,
        lambda o: _client().v1.payment_methods.attach(
            payment_method_id, params={"customer": customer_id}, options=o
        ),
    )
    _write(
        f"{idempotency_key}-default",
        lambda o: _client().v1.customers.update(
            customer_id,
            params={"invoice_settings": {"default_payment_method": payment_method_id}},
            options=o,
        ),
    )


# ---------------------------------------------------------------- payment intents


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer_id: str | None,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> PaymentIntent:
    """A PaymentIntent for `amount` minor units, to be confirmed by Stripe.js in the browser. The
    payment methods offered are the account's defaults (cards at least)."""
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": currency,
        "metadata": dict(metadata),
    }
    if customer_id:
        params["customer"] = customer_id
    return _payment_intent(
        _write(idempotency_key, lambda o: _client().v1.payment_intents.create(params=params, options=o))
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    return _payment_intent(_call(lambda: _client().v1.payment_intents.retrieve(payment_intent_id)))


def payment_intent_pay(
    *, payment_intent_id: str, payment_method_id: str, idempotency_key: str
) -> PaymentIntent:
    """Set the intent's payment method, then confirm it, as two calls (localstripe implements
    no `confirm` that takes the method; Stripe accepts both forms). A declined card raises
    StripeCardDeclined; a card that needs 3-D Secure leaves the intent `requires_action`."""
    _write(
        f"{idempotency_key}-method",
        lambda o: _client().v1.payment_intents.update(
            payment_intent_id, params={"payment_method": payment_method_id}, options=o
        ),
    )
    return _payment_intent(
        _write(
            f"{idempotency_key}-confirm",
            lambda o: _client().v1.payment_intents.confirm(payment_intent_id, options=o),
        )
    )


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntent:
    return _payment_intent(
        _write(idempotency_key, lambda o: _client().v1.payment_intents.cancel(payment_intent_id, options=o))
    )


# ---------------------------------------------------------------- setup intents


def _setup_intent(obj: Any) -> SetupIntent:
    d = _data(obj)
    return SetupIntent(
        id=str(d["id"]),
        status=str(d.get("status") or ""),
        client_secret=str(d.get("client_secret") or ""),
        customer=_id_of(d.get("customer")),
        payment_method=_id_of(d.get("payment_method")),
        metadata=_metadata(d),
    )


def setup_intent_create(
    *, customer_id: str, metadata: Mapping[str, str], idempotency_key: str
) -> SetupIntent:
    """A SetupIntent for Stripe.js `confirmCardSetup`: the card is saved to the customer for
    off-session use (a subscription's renewals charge it)."""
    params: SetupIntentCreateParams = {
        "customer": customer_id,
        "usage": "off_session",
        "metadata": dict(metadata),
    }
    return _setup_intent(
        _write(idempotency_key, lambda o: _client().v1.setup_intents.create(params=params, options=o))
    )


def setup_intent_retrieve(*, setup_intent_id: str) -> SetupIntent:
    return _setup_intent(_call(lambda: _client().v1.setup_intents.retrieve(setup_intent_id)))


# ---------------------------------------------------------------- refunds


def refund_create(
    *, payment_intent_id: str, amount: int, metadata: Mapping[str, str], idempotency_key: str
) -> Refund:
    params: RefundCreateParams = {
        "payment_intent": payment_intent_id,
        "amount": amount,
        "metadata": dict(metadata),
    }
    return _refund(_write(idempotency_key, lambda o: _client().v1.refunds.create(params=params, options=o)))


def refund_retrieve(*, refund_id: str) -> Refund:
    return _refund(_call(lambda: _client().v1.refunds.retrieve(refund_id)))


def refund_list(*, payment_intent_id: str) -> list[Refund]:
    """Every refund of the PaymentIntent (all pages)."""
    page = _call(
        lambda: _client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    )
    return [_refund(r) for r in _call(lambda: list(page.auto_paging_iter()))]


# ---------------------------------------------------------------- subscriptions


def product_create(*, name: str, metadata: Mapping[str, str], idempotency_key: str) -> str:
    """A Product; returns its id."""
    product = _write(
        idempotency_key,
        lambda o: _client().v1.products.create(params={"name": name, "metadata": dict(metadata)}, options=o),
    )
    return str(_data(product)["id"])


def plan_create(
    *,
    product_id: str,
    amount: int,
    currency: str,
    interval: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
) -> str:
    """A Plan (a recurring price of `amount` minor units per `interval`); returns its id."""
    params: PlanCreateParams = {
        "product": product_id,
        "amount": amount,
        "currency": currency,
        "interval": interval,  # day, week, month or year (checked by the caller)
        "metadata": dict(metadata),
    }
    return str(
        _data(_write(idempotency_key, lambda o: _client().v1.plans.create(params=params, options=o)))["id"]
    )


def subscription_create(
    *,
    customer_id: str,
    plan_id: str,
    metadata: Mapping[str, str],
    idempotency_key: str,
    trial_end: int | None = None,
) -> Subscription:
    """A Subscription billed to the customer's default card; with `trial_end` (unix seconds) its
    first invoice comes then (the period until then was paid another way)."""
    params: SubscriptionCreateParams = {
        "customer": customer_id,
        "items": [{"plan": plan_id}],
        "metadata": dict(metadata),
    }
    if trial_end is not None:
        params["trial_end"] = trial_end
    return _subscription(
        _write(idempotency_key, lambda o: _client().v1.subscriptions.create(params=params, options=o))
    )


def subscription_cancel_at_period_end(*, subscription_id: str, idempotency_key: str) -> Subscription:
    """Stop renewing: no more invoices, the subscription ends with its current period."""
    return _subscription(
        _write(
            idempotency_key,
            lambda o: _client().v1.subscriptions.update(
                subscription_id, params={"cancel_at_period_end": True}, options=o
            ),
        )
    )


def _invoice(obj: Any) -> Invoice:
    d = _data(obj)
    sub = d.get("subscription")
    if sub is None:  # API versions since 2025-03-31 moved it under `parent`
        sub = ((d.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    status = str(d.get("status") or "")
    attempted = bool(d.get("attempted")) or int(d.get("attempt_count") or 0) > 0
    error = d.get("last_finalization_error") or {}
    intent = d.get("payment_intent")
    message = ""
    if isinstance(intent, Mapping):  # expanded: the decline of the last attempt
        last = intent.get("last_payment_error") or {}
        message = str(last.get("message") or "")
        attempted = attempted or bool(last)
    elif isinstance(error, Mapping):
        message = str(error.get("message") or "")
    return Invoice(
        id=str(d["id"]),
        status=status,
        subscription=_id_of(sub),
        customer=_id_of(d.get("customer")) or "",
        amount_paid=int(d.get("amount_paid") or 0),
        amount_due=int(d.get("amount_due") or 0),
        currency=str(d.get("currency") or "").lower(),
        payment_failed=status == "open" and attempted,
        failure_message=message,
    )


def invoice_retrieve(*, invoice_id: str) -> Invoice:
    """The invoice with its PaymentIntent expanded (the decline of a failed attempt is there)."""
    return _invoice(
        _call(lambda: _client().v1.invoices.retrieve(invoice_id, params={"expand": ["payment_intent"]}))
    )


def subscription_retrieve(*, subscription_id: str) -> Subscription:
    return _subscription(_call(lambda: _client().v1.subscriptions.retrieve(subscription_id)))


def subscription_cancel(*, subscription_id: str, idempotency_key: str) -> Subscription:
    """Cancel now. (A DELETE: Stripe treats it as idempotent by nature; the key is sent all the same.)"""
    return _subscription(
        _write(idempotency_key, lambda o: _client().v1.subscriptions.cancel(subscription_id, options=o))
    )


# ---------------------------------------------------------------- payouts (Connect transfers)


def _transfer(obj: Any) -> Transfer:
    d = _data(obj)
    return Transfer(
        id=str(d["id"]),
        amount=int(d.get("amount") or 0),
        currency=str(d.get("currency") or "").lower(),
        destination=_id_of(d.get("destination")) or "",
        metadata=_metadata(d),
    )


def payout_transfer_create(
    *, amount: int, currency: str, destination: str, metadata: Mapping[str, str], idempotency_key: str
) -> Transfer:
    """Send `amount` minor units to the connected account `destination` (Stripe Connect Transfers:
    docs.stripe.com/api/transfers/create); Stripe pays it out to the account's bank on its schedule.

    The one adapter for USD payouts. localstripe has no Transfer or Account endpoint, so this is
    never run against it: its test answers from a stub HTTP server standing in for api.stripe.com.
    Nothing calls it yet (USD payouts are settled by staff; see tokenomics.services.payouts)."""
    params: TransferCreateParams = {
        "amount": amount,
        "currency": currency,
        "destination": destination,
        "metadata": dict(metadata),
    }
    return _transfer(
        _write(idempotency_key, lambda o: _client().v1.transfers.create(params=params, options=o))
    )


# ---------------------------------------------------------------- events and webhooks


def event_list(*, created_gte: int) -> Iterator[Event]:
    """Every event created at or after `created_gte` (unix seconds), all pages, as they come."""
    page = _call(lambda: _client().v1.events.list(params={"created": {"gte": created_gte}, "limit": 100}))
    iterator = page.auto_paging_iter()
    while True:
        try:
            item = _call(lambda: next(iterator))
        except StopIteration:
            return
        yield event_from_payload(_data(item))


def _signature_timestamp(header: str) -> int:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            return int(value)
    raise ValueError("no timestamp")


def webhook_event_construct(
    *,
    payload: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    tolerance: int = DEFAULT_WEBHOOK_TOLERANCE,
    now: float | None = None,
) -> Event:
    """Verify a webhook body against each of `secrets` (rotation: old and new both valid) and return
    its event. Raises WebhookInvalid for a missing or wrong signature, a timestamp more than
    `tolerance` seconds old or ahead, or a body that is not a Stripe event."""
    if not signature_header:
        raise WebhookInvalid("The Stripe-Signature header is missing.", code="signature_missing")
    if not secrets:
        raise WebhookInvalid("No webhook secret is configured.", code="signature_invalid")
    verified = None
    for secret in secrets:
        try:
            verified = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance=tolerance)
            break
        except stripe.SignatureVerificationError:
            continue
        except (ValueError, UnicodeDecodeError) as exc:  # the body is not JSON (or not UTF-8)
            raise WebhookInvalid("The body is not a JSON Stripe event.", code="payload_invalid") from exc
    if verified is None:
        raise WebhookInvalid("The signature does not match, or is too old.", code="signature_invalid")
    # stripe-python only refuses stale timestamps; a timestamp from the future is refused here too.
    current = time.time() if now is None else now
    if _signature_timestamp(signature_header) > current + tolerance:
        raise WebhookInvalid("The signature's timestamp is in the future.", code="signature_invalid")
    data = json.loads(payload)
    if not isinstance(data, dict) or data.get("object") != "event" or not data.get("id"):
        raise WebhookInvalid("The body is not a Stripe event.", code="payload_invalid")
    return event_from_payload(data)
