"""The request log's way into the database and the ledger: drain the stream, settle in batches.

`log_drain` stores the stream's entries as `InferenceRequest` rows (idempotent by request id:
an entry read twice, by a drainer killed before it removed them, is stored once) together with
what a stored call causes, in the same transaction: the subscription's `quota_used`, the listing's
inference count for trending, and the release of the buyer's one-time orders of the listing still
in escrow (a first paid call counts as use, SPEC §4). Entries leave the stream only after commit.

`settle_batch` takes up to `inference.settlement_batch_size` unsettled, served, prepaid calls
(row locks, SKIP LOCKED: two settlers never take the same call), records a `SettlementBatch`,
posts one INFERENCE transaction per (buyer, listing) from the buyer's metering hold to SPEC §4's
splits — the creator's part split like a sale at their tier, the compute fee by
`tokenomics.splits.split_compute` (80% provider / 15% validators / 5% treasury, registry) — and
marks the calls settled, all in one database transaction. A settler killed midway commits
nothing; a rerun settles the same calls once. Every posting's idempotency key names the batch.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from accounts.models import User
from compute import meter_store, metrics
from compute.billing import carry_settle
from compute.models_gateway import (
    CarryPart,
    Entitlement,
    InferenceRequest,
    MeteringCarry,
    Outcome,
    SettlementBatch,
)
from compute.selectors.settlement import settlement_lag_seconds
from marketplace.models import Listing, Order, OrderStatus, PlanKind, Subscription
from marketplace.services.orders import orders_release_for_first_use
from marketplace.services.search import listing_inferences_record
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import sale_rates_for_creator
from tokenomics.services.ledger import Leg, legs_merge, transaction_post
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.split_legs import compute_split_legs, sale_split_legs
from tokenomics.splits import split_sale

logger = logging.getLogger(__name__)

_DRAIN_LOCK = "gw:drain-lock"
_DRAIN_LOCK_SECONDS = 120


def _no_staking_tier(provider_id: int) -> str | None:
    return None


# The provider-economy seam: the provider's staking tier lowers the platform's part of the compute
# fee (SPEC §4). The staking work replaces this with its own lookup (`provider_tier_resolver_set`).
_provider_tier: list[Callable[[int], str | None]] = [_no_staking_tier]


def provider_tier_resolver_set(resolver: Callable[[int], str | None]) -> None:
    """Let the staking app say a provider's tier ("silver", "gold", "platinum" or None)."""
    _provider_tier[0] = resolver


# --------------------------------------------------------------------------- the stream → rows


def log_entry_fields(
    *,
    request_id: str,
    user_id: int,
    listing_id: int,
    version_id: int | None,
    plan_id: int | None,
    subscription_id: int | None,
    period_start: datetime | None,
    entitlement: str,
    via: str,
    integration_id: str,
    node_id: int | None,
    provider_id: int | None,
    outcome: str,
    error_code: str,
    attempts: int,
    latency_us: int,
    creator_price_micro: int,
    compute_fee_micro: int,
    at: datetime,
    priority: bool = False,
    priority_fee_micro: int = 0,
) -> dict[str, str]:
    """One request-log entry as the stream stores it (strings; "" for None). A priority call's
    `compute_fee_micro` includes its `priority_fee_micro` (settled with the compute fee)."""

    def text(value: object) -> str:
        return "" if value is None else str(value)

    return {
        "rid": request_id,
        "user": text(user_id),
        "listing": text(listing_id),
        "version": text(version_id),
        "plan": text(plan_id),
        "sub": text(subscription_id),
        "period": period_start.isoformat() if period_start is not None else "",
        "ent": entitlement,
        "via": via,
        "integ": integration_id[:64],
        "node": text(node_id),
        "provider": text(provider_id),
        "outcome": outcome,
        "err": error_code[:40],
        "attempts": text(attempts),
        "lat": text(latency_us),
        "cp": text(creator_price_micro),
        "cf": text(compute_fee_micro),
        "prio": "1" if priority else "",
        "pf": text(priority_fee_micro),
        "at": at.isoformat(),
    }


def _optional_int(value: str) -> int | None:
    return int(value) if value else None


def _row(fields: dict[str, str]) -> tuple[InferenceRequest, datetime | None]:
    period = fields.get("period", "")
    row = InferenceRequest(
        request_id=uuid.UUID(fields["rid"]),
        user_id=int(fields["user"]),
        listing_id=int(fields["listing"]),
        version_id=_optional_int(fields.get("version", "")),
        plan_id=_optional_int(fields.get("plan", "")),
        subscription_id=_optional_int(fields.get("sub", "")),
        entitlement=fields["ent"],
        via=fields["via"],
        integration_id=fields.get("integ", ""),
        node_id=_optional_int(fields.get("node", "")),
        provider_id=_optional_int(fields.get("provider", "")),
        outcome=fields["outcome"],
        error_code=fields.get("err", ""),
        attempts=int(fields.get("attempts") or 0),
        latency_us=int(fields.get("lat") or 0),
        creator_price_micro=int(fields.get("cp") or 0),
        compute_fee_micro=int(fields.get("cf") or 0),
        priority=fields.get("prio") == "1",
        priority_fee_micro=int(fields.get("pf") or 0),
        created_at=datetime.fromisoformat(fields["at"]),
    )
    return row, (datetime.fromisoformat(period) if period else None)


def _after_store(rows: list[tuple[InferenceRequest, datetime | None]]) -> None:
    """What stored calls cause: quota used, trending counts, first-use releases (same transaction)."""
    quota: dict[tuple[int, datetime], int] = defaultdict(int)
    per_day: dict[tuple[int, date], int] = defaultdict(int)
    used: set[tuple[int, int]] = set()
    for row, period in rows:
        if row.outcome != Outcome.OK:
            continue
        per_day[(row.listing_id, row.created_at.astimezone(UTC).date())] += 1
        if row.entitlement == Entitlement.SUBSCRIPTION and row.subscription_id and period is not None:
            quota[(row.subscription_id, period)] += 1
        if row.entitlement != Entitlement.PLAYGROUND:
            used.add((row.user_id, row.listing_id))
    for (subscription_id, period), count in sorted(quota.items()):
        # Only the period the calls were made in: after a renewal, the count restarts at 0.
        Subscription.objects.filter(pk=subscription_id, current_period_start=period).update(
            quota_used=F("quota_used") + count
        )
    if per_day:
        listing_inferences_record(counts=dict(per_day))
    if used:
        held = set(
            Order.objects.filter(
                kind=PlanKind.ONE_TIME,
                status=OrderStatus.IN_ESCROW,
                buyer_id__in={user for user, _ in used},
                listing_id__in={listing for _, listing in used},
            ).values_list("buyer_id", "listing_id")
        )
        for buyer_id, listing_id in sorted(held & used):
            orders_release_for_first_use(
                buyer=User.objects.get(pk=buyer_id), listing=Listing.objects.get(pk=listing_id)
            )


def log_drain(*, limit: int = 5000) -> int:
    """Store up to `limit` request-log entries from the stream; returns how many entries it took
    from the stream (entries already stored are taken and not stored again). One
    drainer at a time (a cache lock that expires, so a killed drainer does not block for ever)."""
    if not cache.add(_DRAIN_LOCK, 1, timeout=_DRAIN_LOCK_SECONDS):
        return 0
    try:
        entries = meter_store.log_read(limit)
        if not entries:
            return 0
        parsed: dict[uuid.UUID, tuple[InferenceRequest, datetime | None]] = {}
        for entry_id, fields in entries:
            try:
                row, period = _row(fields)
            except (KeyError, ValueError):
                logger.error("Dropping a malformed request-log entry %s: %r", entry_id, fields)
                continue
            parsed.setdefault(row.request_id, (row, period))
        with transaction.atomic():
            existing = set(
                InferenceRequest.objects.filter(request_id__in=list(parsed)).values_list(
                    "request_id", flat=True
                )
            )
            new = [item for request_id, item in parsed.items() if request_id not in existing]
            InferenceRequest.objects.bulk_create([row for row, _ in new], batch_size=1000)
            _after_store(new)
        meter_store.log_delete(entry_id for entry_id, _ in entries)
        return len(entries)
    finally:
        cache.delete(_DRAIN_LOCK)


# --------------------------------------------------------------------------- rows → the ledger


def _carries(keys: set[tuple[int, int, str, int]]) -> dict[tuple[int, int, str, int], MeteringCarry]:
    """The carries of these (user, listing, part, payee) pairs, created at 0 if new, row-locked."""
    MeteringCarry.objects.bulk_create(
        [
            MeteringCarry(user_id=user, listing_id=listing, part=part, payee_id=payee)
            for user, listing, part, payee in sorted(keys)
        ],
        ignore_conflicts=True,
    )
    users = {key[0] for key in keys}
    listings = {key[1] for key in keys}
    found = (
        MeteringCarry.objects.select_for_update()
        .filter(user_id__in=users, listing_id__in=listings)
        .order_by("pk")
    )
    return {
        (carry.user_id, carry.listing_id, carry.part, carry.payee_id): carry
        for carry in found
        if (carry.user_id, carry.listing_id, carry.part, carry.payee_id) in keys
    }


def settle_batch(*, limit: int | None = None) -> SettlementBatch | None:
    """Settle one batch of served prepaid calls (see the module's docstring); None when none wait."""
    limit = limit or parameter_get("inference.settlement_batch_size")
    with transaction.atomic():
        rows = list(
            InferenceRequest.objects.select_for_update(skip_locked=True)
            .filter(settlement__isnull=True, outcome=Outcome.OK, entitlement=Entitlement.PREPAID)
            .order_by("pk")[:limit]
        )
        if not rows:
            return None
        batch = SettlementBatch.objects.create(
            key=f"inference-batch:{rows[0].pk}-{rows[-1].pk}:{len(rows)}",
            calls=len(rows),
            gross_micro=sum(row.charge_micro for row in rows),
        )
        creator_micro: dict[tuple[int, int], int] = defaultdict(int)
        compute_micro: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            creator_micro[(row.user_id, row.listing_id)] += int(row.creator_price_micro)
            if row.compute_fee_micro:
                if (
                    row.provider_id is None
                ):  # pragma: no cover - a served call always names its node's provider
                    raise ValueError(f"served call {row.request_id} has no provider")
                compute_micro[(row.user_id, row.listing_id)][row.provider_id] += int(row.compute_fee_micro)
        listings = {
            listing.pk: listing for listing in Listing.objects.filter(pk__in={r.listing_id for r in rows})
        }
        keys: set[tuple[int, int, str, int]] = set()
        for user_id, listing_id in creator_micro:
            keys.add((user_id, listing_id, CarryPart.CREATOR, listings[listing_id].creator_id))
            for provider_id in compute_micro[(user_id, listing_id)]:
                keys.add((user_id, listing_id, CarryPart.COMPUTE, provider_id))
        carries = _carries(keys)
        people = {
            user.pk: user for user in User.objects.filter(pk__in={k[0] for k in keys} | {k[3] for k in keys})
        }
        charged = 0
        for (user_id, listing_id), creator_amount in sorted(creator_micro.items()):
            listing = listings[listing_id]
            creator = people[listing.creator_id]
            carry = carries[(user_id, listing_id, CarryPart.CREATOR, creator.pk)]
            creator_cents, carry.carry_micro = carry_settle(
                carry_micro=carry.carry_micro, amount_micro=creator_amount
            )
            legs: list[Leg] = []
            if creator_cents:
                split = split_sale(gross=creator_cents, rates=sale_rates_for_creator(creator=creator))
                legs += sale_split_legs(creator=creator, asset=Asset.USD, split=split)
            total = creator_cents
            for provider_id, fee in sorted(compute_micro[(user_id, listing_id)].items()):
                provider_carry = carries[(user_id, listing_id, CarryPart.COMPUTE, provider_id)]
                fee_cents, provider_carry.carry_micro = carry_settle(
                    carry_micro=provider_carry.carry_micro, amount_micro=fee
                )
                if fee_cents:
                    legs += compute_split_legs(
                        provider=people[provider_id],
                        asset=Asset.USD,
                        fee=fee_cents,
                        staking_tier=_provider_tier[0](provider_id),
                    )
                    total += fee_cents
            if total:
                hold = user_account_get_or_create(
                    user=people[user_id], kind=AccountKind.METERING_HOLD, asset=Asset.USD
                )
                transaction_post(
                    kind=TransactionKind.INFERENCE,
                    legs=legs_merge([Leg(hold, -total), *legs]),
                    idempotency_key=f"{batch.key}:{user_id}:{listing_id}",
                    memo=f"Inference calls to {listing.slug} settled",
                    reference=f"inference-batch:{batch.pk}",
                    party=creator,
                )
                charged += total
        MeteringCarry.objects.bulk_update(list(carries.values()), ["carry_micro"])
        batch.charged_cents = charged
        batch.save(update_fields=["charged_cents"])
        InferenceRequest.objects.filter(pk__in=[row.pk for row in rows]).update(settlement=batch)
        return batch


def metering_settle(*, max_batches: int = 50) -> dict[str, int]:
    """Drain the stream, then settle batches until none wait (or `max_batches`): the beat task."""
    stored = 0
    while True:
        drained = log_drain()
        stored += drained
        if drained == 0:
            break
    batches = calls = 0
    for _ in range(max_batches):
        batch = settle_batch()
        if batch is None:
            break
        batches += 1
        calls += batch.calls
    metrics.settlement_observed(calls=calls, lag_s=settlement_lag_seconds())
    return {"stored": stored, "batches": batches, "calls": calls}
