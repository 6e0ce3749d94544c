"""Double-entry ledger: accounts, transactions and their entries.

Invariants (held by `tokenomics.services.ledger.transaction_post`, the only writer, and on
PostgreSQL also by the triggers of migration 0002):
- the entries of a transaction sum to zero per asset;
- posted transactions and entries are never updated or deleted; corrections are reversals;
- an account's `balance` equals the sum of its entries and is never below zero unless the account
  allows overdraft (the external counter-accounts through which money enters and leaves).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.assets import Asset as Asset  # the vocabulary lives in core: every API's money object uses it
from core.fields import WideIntegerField
from core.models import BaseModel


class AccountKind(models.TextChoices):
    # Owned by a user.
    WALLET = "wallet", "Wallet (prepaid balance)"
    CREATOR_PAYABLE = "creator_payable", "Creator payable"
    PROVIDER_PAYABLE = "provider_payable", "Provider payable"
    STAKE = "stake", "Staked AGR"
    # Prepaid credit reserved for metered inference calls (moved in chunks from the wallet,
    # settled in batches, unused chunks returned): see compute.services.metering.
    METERING_HOLD = "metering_hold", "Reserved for inference calls"
    UNBONDING = "unbonding", "Unbonding AGR (unstaked, in its cool-down)"
    # Owned by the platform.
    ESCROW = "escrow", "Escrow"
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
    TREASURY = "treasury", "Treasury"
    VALIDATOR_POOL = "validator_pool", "Validator pool"
    BURN = "burn", "Burned"
    BUYBACK_RESERVE = "buyback_reserve", "Buy-back reserve"
    PROMOTIONS = "promotions", "Promotions (credit bonuses)"
    GOVERNANCE_BOND = "governance_bond", "Governance proposal bonds (held)"
    # The provider rewards not yet emitted (35% of the supply, funded once at genesis).
    REWARDS_RESERVE = "rewards_reserve", "Provider rewards reserve"
    # The community's share of each epoch while no governance participation weights exist.
    COMMUNITY_POOL = "community_pool", "Community pool"
    # External counter-accounts: money entering or leaving the ledger; may go negative.
    EXTERNAL_STRIPE = "external_stripe", "External: Stripe"
    EXTERNAL_CHAIN = "external_chain", "External: chain"


USER_ACCOUNT_KINDS = frozenset(
    {
        AccountKind.WALLET,
        AccountKind.CREATOR_PAYABLE,
        AccountKind.PROVIDER_PAYABLE,
        AccountKind.STAKE,
        AccountKind.METERING_HOLD,
        AccountKind.UNBONDING,
    }
)
# Where money enters and leaves, like Formance's @world; promotions pay bonuses the platform funds.
OVERDRAFT_ACCOUNT_KINDS = frozenset(
    {AccountKind.EXTERNAL_STRIPE, AccountKind.EXTERNAL_CHAIN, AccountKind.PROMOTIONS}
)


class LedgerAccount(BaseModel):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    asset = models.CharField(max_length=3, choices=Asset.choices)
    # Cached Σ of this account's entries, in minor units of `asset`; written only by the posting
    # service in the same transaction as the entries; `manage.py ledger_check` verifies it.
    balance = WideIntegerField(default=0)
    overdraft_allowed = models.BooleanField(default=False)

    Kind: ClassVar[type[AccountKind]] = AccountKind

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["owner", "kind", "asset"],
                condition=Q(owner__isnull=False),
                name="ledger_account_unique_per_owner",
            ),
            models.UniqueConstraint(
                fields=["kind", "asset"],
                condition=Q(owner__isnull=True),
                name="ledger_account_unique_system",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(kind__in=sorted(USER_ACCOUNT_KINDS)),
                name="ledger_account_owner_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=True, overdraft_allowed=True)
                | Q(overdraft_allowed=False, balance__gte=0),
                name="ledger_account_not_overdrawn",
            ),
            models.CheckConstraint(condition=Q(asset__in=Asset.values), name="ledger_account_asset_valid"),
        ]

    def __str__(self) -> str:
        who = f"user {self.owner_id}" if self.owner_id else "system"
        return f"{self.kind} {self.asset} ({who})"


class TransactionKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    CREDIT_BONUS = "credit_bonus", "Prepaid credit bonus"
    ESCROW_HOLD = "escrow_hold", "Payment held in escrow"
    SALE = "sale", "Sale released to the split"
    REFUND = "refund", "Refund"
    SALE_CLAWBACK = "sale_clawback", "Refund after release (upheld dispute)"
    INFERENCE = "inference", "Inference charges"
    PAYOUT = "payout", "Payout"
    TRANSFER = "transfer", "Transfer"
    REVERSAL = "reversal", "Reversal"
    BURN = "burn", "Burn"
    GENESIS = "genesis", "Token genesis (rewards reserve funded)"
    DISTRIBUTION = "distribution", "Revenue distribution (epoch)"
    EMISSION = "emission", "Provider rewards emission (epoch)"
    STAKE = "stake", "Stake"
    UNSTAKE = "unstake", "Unstake (cool-down starts)"
    STAKE_RELEASE = "stake_release", "Unstaked AGR released to the wallet"
    SLASH = "slash", "Stake slashed and burned"


# Transactions whose `party` is the creator credited by a sale; the creator tier counts them.
SALE_KINDS = frozenset({TransactionKind.SALE, TransactionKind.INFERENCE})


class LedgerTransaction(models.Model):
    """One atomic movement of money; immutable once posted."""

    kind = models.CharField(max_length=32, choices=TransactionKind.choices)
    memo = models.CharField(max_length=255, blank=True)
    # Chosen by the caller and reused on every retry; a replay returns this row.
    idempotency_key = models.CharField(max_length=255, unique=True)
    # SHA-256 of kind + entries, so that a replay with different entries is told apart.
    fingerprint = models.CharField(max_length=64)
    # What caused it, as "<type>:<id>" (e.g. "order:42"); a string so that lower apps need not
    # import the higher ones that cause money to move.
    reference = models.CharField(max_length=120, blank=True, db_index=True)
    # For sale-related movements (hold, release, refund, clawback), the creator whose sale it is;
    # the creator tier sums SALE transactions by it. Buyers are found through account owners.
    party = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_transactions",
    )
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    posted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    Kind: ClassVar[type[TransactionKind]] = TransactionKind

    class Meta:
        indexes: ClassVar = [models.Index(fields=["party", "kind"], name="ledger_tx_party_kind")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.reference or self.memo}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    # Copy of account.asset, so per-asset sums need no join; the trigger checks they agree.
    asset = models.CharField(max_length=3, choices=Asset.choices)
    # Signed, in minor units of `asset` (USD cents, AGR base units); positive adds to the balance.
    amount = WideIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_nonzero"),
        ]
        indexes: ClassVar = [models.Index(fields=["account", "transaction"], name="ledger_entry_account_tx")]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.asset} → account {self.account_id}"
