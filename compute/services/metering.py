"""Prepaid credit for metered calls: reserved from the wallet in chunks, drawn per call in Redis,
unused chunks returned.

Money and counters (all USD):
- `reservation_ensure` moves a chunk (registry `inference.reservation_chunk_cents`, or what the
  call needs if more, at most the wallet's balance) from the buyer's wallet to their metering hold
  in one ledger posting, then adds it to the Redis reservation (micro-USD). One posting per chunk,
  not per call. The Redis amount is added only after the posting committed, so Redis never holds
  credit the ledger does not;
- each call draws its price from the reservation atomically before the provider is called, and a
  failed call gives it back (`meter_store.credit_draw` / `credit_add`);
- settlement (`compute.services.settlement`) moves consumed calls from the hold to the splits;
- `reservations_release` returns the whole cents left in a reservation to the wallet.

Invariant: hold balance x 10_000 >= Redis reservation left + consumed-but-unsettled charges, so a
release or a settlement never finds the hold short.
"""

from __future__ import annotations

import time
import uuid

from django.core.cache import cache
from django.db import transaction

from accounts.models import User
from compute import meter_store
from compute.billing import MICRO_PER_CENT
from tokenomics.errors import InsufficientFunds
from tokenomics.models import Asset, LedgerAccount
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import user_account_get_or_create

_LOCK_SECONDS = 10
_LOCK_WAIT_SECONDS = 3.0


def metering_reference(*, user_id: int) -> str:
    return f"metering:{user_id}"


def _accounts(user: User) -> tuple[LedgerAccount, LedgerAccount]:
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.USD)
    hold = user_account_get_or_create(user=user, kind=AccountKind.METERING_HOLD, asset=Asset.USD)
    return wallet, hold


def _reserve_chunk(*, user: User, need_micro: int) -> int:
    """Move a chunk from the wallet to the hold; returns the cents moved (0 if the wallet cannot
    cover `need_micro`)."""
    need_cents = -(-need_micro // MICRO_PER_CENT)
    wallet, hold = _accounts(user)
    available = int(LedgerAccount.objects.values_list("balance", flat=True).get(pk=wallet.pk))
    amount = min(max(parameter_get("inference.reservation_chunk_cents"), need_cents), available)
    if amount < need_cents or amount <= 0:
        return 0
    try:
        with transaction.atomic():
            transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(wallet, -amount), Leg(hold, amount)],
                idempotency_key=f"metering:reserve:{user.pk}:{uuid.uuid4().hex}",
                memo="Prepaid credit reserved for inference calls",
                reference=metering_reference(user_id=user.pk),
            )
    except InsufficientFunds:  # spent meanwhile (a checkout from balance, another reservation)
        return 0
    meter_store.credit_add(user.pk, amount * MICRO_PER_CENT)
    return amount


def credit_draw_or_reserve(*, user: User, amount_micro: int) -> bool:
    """Draw `amount_micro` from the buyer's reservation, reserving a new chunk from the wallet when
    it is short. False when the wallet cannot cover it (nothing drawn). One reservation at a time per
    buyer (a short lock in the cache), so 50 racing calls move one chunk, not 50."""
    if meter_store.credit_draw(user.pk, amount_micro) >= 0:
        return True
    lock = f"gw:reserve-lock:{user.pk}"
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while not cache.add(lock, 1, timeout=_LOCK_SECONDS):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
        if meter_store.credit_draw(user.pk, amount_micro) >= 0:
            return True
    try:
        if meter_store.credit_draw(user.pk, amount_micro) >= 0:  # another caller reserved meanwhile
            return True
        if not _reserve_chunk(user=user, need_micro=amount_micro):
            return False
        return meter_store.credit_draw(user.pk, amount_micro) >= 0
    finally:
        cache.delete(lock)


def credit_give_back(*, user_id: int, amount_micro: int) -> None:
    """Return a failed call's draw to the reservation."""
    if amount_micro:
        meter_store.credit_add(user_id, amount_micro)


def reservation_release(*, user: User) -> int:
    """Return the whole cents left in the buyer's reservation to their wallet (the sub-cent rest
    stays reserved). Returns the cents returned. If the posting fails, the amount goes back into
    the reservation."""
    whole = meter_store.credit_take_whole(user.pk, MICRO_PER_CENT)
    if whole <= 0:
        return 0
    cents = whole // MICRO_PER_CENT
    wallet, hold = _accounts(user)
    try:
        with transaction.atomic():
            transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(hold, -cents), Leg(wallet, cents)],
                idempotency_key=f"metering:release:{user.pk}:{uuid.uuid4().hex}",
                memo="Unused inference reservation returned",
                reference=metering_reference(user_id=user.pk),
            )
    except Exception:
        meter_store.credit_add(user.pk, whole)
        raise
    return cents


def reservations_release(*, user_ids: list[int] | None = None) -> int:
    """Return every reservation's unused whole cents to the wallets (a periodic task). Returns
    the cents returned in all."""
    ids = user_ids if user_ids is not None else meter_store.credit_users()
    total = 0
    for user in User.objects.filter(pk__in=ids):
        total += reservation_release(user=user)
    return total
