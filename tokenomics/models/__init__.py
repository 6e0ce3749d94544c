"""The money app's tables: the ledger, the parameter registry, escrow holds, rails and payouts."""

from __future__ import annotations

from tokenomics.models.creators import CreatorSales
from tokenomics.models.epochs import ChainBurn, Epoch
from tokenomics.models.escrow import Escrow
from tokenomics.models.ledger import Asset, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.parameters import Parameter, ParameterChange
from tokenomics.models.payouts import Payout, PayoutStatus
from tokenomics.models.rails import (
    ChainPayout,
    ChainScanCursor,
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
    "ChainBurn",
    "ChainPayout",
    "ChainScanCursor",
    "ChainTransfer",
    "CreatorSales",
    "Epoch",
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
