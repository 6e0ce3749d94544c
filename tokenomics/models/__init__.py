"""The money app's tables: the ledger, the parameter registry, escrow holds, rails and payouts."""

from __future__ import annotations

from tokenomics.models.creators import CreatorSales
from tokenomics.models.escrow import Escrow
from tokenomics.models.ledger import Asset, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.parameters import Parameter, ParameterChange
from tokenomics.models.payouts import Payout, PayoutStatus
from tokenomics.models.rails import (
    ChainPayout,
    ChainTransfer,
    HotWallet,
    Payment,
    PaymentRefund,
    Rail,
    StripeCustomer,
    StripeEvent,
    StripeSubscription,
)
from tokenomics.models.staking import KycVerification, Slash, Unbonding, UnbondingState

__all__ = [
    "Asset",
    "ChainPayout",
    "ChainTransfer",
    "CreatorSales",
    "Escrow",
    "HotWallet",
    "KycVerification",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Parameter",
    "ParameterChange",
    "Payment",
    "PaymentRefund",
    "Payout",
    "PayoutStatus",
    "Rail",
    "Slash",
    "StripeCustomer",
    "StripeEvent",
    "StripeSubscription",
    "Unbonding",
    "UnbondingState",
]
