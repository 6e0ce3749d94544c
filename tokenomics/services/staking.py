"""Staking: bond AGR from the wallet, unbond it through a cool-down, and slash it.

Every operation first locks the holder's STAKE account row (the position lock), so a slash racing
an unstake or a release is applied to one consistent position: lock → check → post with an
idempotency key, as in escrow. Money moves only through `transaction_post`; slashed AGR is burned
(moved to the burn account).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import AmountInvalid, InvalidState, PermissionDenied
from tokenomics.models import KycVerification, LedgerAccount, Slash, Unbonding, UnbondingState
from tokenomics.models.ledger import AccountKind, Asset, TransactionKind
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.staking import tier_for, tier_rules
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

BPS = 10_000


def _position_lock(user: User) -> tuple[LedgerAccount, LedgerAccount]:
    """The holder's STAKE and UNBONDING accounts, the STAKE row locked (the position lock)."""
    stake = user_account_get_or_create(user=user, kind=AccountKind.STAKE, asset=Asset.AGR)
    unbonding = user_account_get_or_create(user=user, kind=AccountKind.UNBONDING, asset=Asset.AGR)
    stake = LedgerAccount.objects.select_for_update().get(pk=stake.pk)
    return stake, unbonding


def _positive(amount: int) -> int:
    if type(amount) is not int or amount <= 0:
        raise AmountInvalid("Stake a positive whole amount of AGR base units.")
    return amount


def stake_deposit(*, user: User, amount: int, idempotency_key: str) -> LedgerAccount:
    """Bond `amount` AGR from the holder's wallet. Raises AmountInvalid, InsufficientFunds."""
    _positive(amount)
    with transaction.atomic():
        stake, _ = _position_lock(user)
        wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset=Asset.AGR)
        transaction_post(
            kind=TransactionKind.STAKE,
            legs=[Leg(wallet, -amount), Leg(stake, amount)],
            idempotency_key=f"stake:{user.pk}:{idempotency_key}",
            memo="AGR staked",
            party=user,
        )
    stake.refresh_from_db()
    return stake


def unstake_start(*, user: User, amount: int, idempotency_key: str, now: datetime | None = None) -> Unbonding:
    """Move `amount` of bonded stake into its cool-down (`staking.unstake_cooldown_seconds`): it no
    longer counts for a tier or a vote, can still be slashed, and is released to the wallet after.
    Raises AmountInvalid, InsufficientFunds (more than is bonded)."""
    _positive(amount)
    now = now or timezone.now()
    key = f"unstake:{user.pk}:{idempotency_key}"
    with transaction.atomic():
        stake, unbonding = _position_lock(user)
        posted = transaction_post(
            kind=TransactionKind.UNSTAKE,
            legs=[Leg(stake, -amount), Leg(unbonding, amount)],
            idempotency_key=key,
            memo="Unstake started",
            party=user,
        )
        if not posted.created:
            return Unbonding.objects.get(start_transaction=posted.transaction)
        return Unbonding.objects.create(
            user=user,
            amount=amount,
            release_at=now + timedelta(seconds=parameter_get("staking.unstake_cooldown_seconds")),
            start_transaction=posted.transaction,
        )


def _release(unbonding_id: int, now: datetime) -> bool:
    with transaction.atomic():
        row = Unbonding.objects.select_related("user").get(pk=unbonding_id)
        _, account = _position_lock(row.user)
        row = Unbonding.objects.select_for_update().get(pk=unbonding_id)
        if row.state != UnbondingState.UNBONDING or row.release_at > now:
            return False
        wallet = user_account_get_or_create(user=row.user, kind=AccountKind.WALLET, asset=Asset.AGR)
        if row.amount:
            row.release_transaction = transaction_post(
                kind=TransactionKind.STAKE_RELEASE,
                legs=[Leg(account, -int(row.amount)), Leg(wallet, int(row.amount))],
                idempotency_key=f"unstake-release:{row.pk}",
                memo="Unstaked AGR released",
                party=row.user,
            ).transaction
        row.state = UnbondingState.RELEASED
        row.save(update_fields=["state", "release_transaction", "updated_at"])
        return True


def unstakes_release_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Release every unbonding whose cool-down has ended; returns how many this call released."""
    now = now or timezone.now()
    due = list(
        Unbonding.objects.filter(state=UnbondingState.UNBONDING, release_at__lte=now)
        .order_by("release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_release(pk, now) for pk in due)


def stake_slash(
    *, user: User, fraction_bps: int, reason: str, evidence: dict[str, Any], idempotency_key: str
) -> Slash:
    """Slash the holder's stake (bonded and unbonding) by `fraction_bps`, capped by their tier's max
    slash, and burn it. Bonded stake is taken first, then unbonding rows, latest release first.
    The evidence is stored with the slash. Idempotent per key. Raises AmountInvalid, InvalidState
    (nothing staked)."""
    if type(fraction_bps) is not int or not 0 < fraction_bps <= BPS:
        raise AmountInvalid("A slash is a fraction between 1 and 10,000 bps.")
    key = f"slash:{user.pk}:{idempotency_key}"
    existing = Slash.objects.filter(transaction__idempotency_key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        stake, unbonding_account = _position_lock(user)
        rows = list(
            Unbonding.objects.select_for_update()
            .filter(user=user, state=UnbondingState.UNBONDING, amount__gt=0)
            .order_by("-release_at", "-pk")
        )
        bonded = int(stake.balance)
        unbonding_total = sum(int(r.amount) for r in rows)
        rules = tier_rules()
        tier = tier_for(bonded, rules)
        cap = tier.max_slash_bps if tier else rules[0].max_slash_bps
        applied = min(fraction_bps, cap)
        total = (bonded + unbonding_total) * applied // BPS
        if total <= 0:
            raise InvalidState("There is no stake to slash.", detail={"bonded": str(bonded)})
        from_bonded = min(total, bonded)
        from_unbonding = total - from_bonded
        left = from_unbonding
        for row in rows:
            take = min(left, int(row.amount))
            if take:
                row.amount = int(row.amount) - take
                row.save(update_fields=["amount", "updated_at"])
                left -= take
        burn = system_account_get_or_create(kind=AccountKind.BURN, asset=Asset.AGR)
        legs = [Leg(burn, total)]
        if from_bonded:
            legs.append(Leg(stake, -from_bonded))
        if from_unbonding:
            legs.append(Leg(unbonding_account, -from_unbonding))
        posted = transaction_post(
            kind=TransactionKind.SLASH,
            legs=legs,
            idempotency_key=key,
            memo=f"Slash: {reason}"[:255],
            party=user,
        )
        return Slash.objects.create(
            user=user,
            fraction_bps=fraction_bps,
            applied_bps=applied,
            tier=tier.tier if tier else "",
            bonded_amount=from_bonded,
            unbonding_amount=from_unbonding,
            reason=reason[:255],
            evidence=evidence,
            transaction=posted.transaction,
        )


def stake_slash_reverse(*, slash_id: int, staff_user: User) -> Slash:
    """Staff reverse a slash (an upheld appeal): the burned AGR comes back to the holder's bonded
    stake in a reversing transaction. Once per slash. Raises PermissionDenied, InvalidState."""
    if not staff_user.is_staff:
        raise PermissionDenied("Only staff may reverse a slash.")
    with transaction.atomic():
        slash = Slash.objects.select_for_update().select_related("user", "transaction").get(pk=slash_id)
        if slash.reversal_id is not None:
            raise InvalidState("This slash was already reversed.")
        stake, _ = _position_lock(slash.user)
        burn = system_account_get_or_create(kind=AccountKind.BURN, asset=Asset.AGR)
        posted = transaction_post(
            kind=TransactionKind.REVERSAL,
            legs=[Leg(burn, -slash.total), Leg(stake, slash.total)],
            idempotency_key=f"slash-reverse:{slash.pk}",
            memo=f"Slash #{slash.pk} reversed",
            party=slash.user,
            reverses=slash.transaction,
        )
        slash.reversal = posted.transaction
        slash.reversed_by = staff_user
        slash.save(update_fields=["reversal", "reversed_by", "updated_at"])
        return slash


def kyc_verify(*, user: User, staff_user: User, note: str = "") -> tuple[KycVerification, bool]:
    """Staff mark the person's identity verified; who and when are kept, and a repeat keeps the
    first verification (returned with `False`). Raises PermissionDenied (not staff)."""
    if not staff_user.is_staff:
        raise PermissionDenied("Only staff may verify an identity.")
    return KycVerification.objects.get_or_create(
        user=user, defaults={"verified_by": staff_user, "note": note[:255]}
    )
