"""The money app's tables: the ledger, the parameter registry and escrow holds."""

from __future__ import annotations

from tokenomics.models.escrow import Escrow
from tokenomics.models.ledger import Asset, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.parameters import Parameter, ParameterChange
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

__all__ = [
    "Asset",
    "ChainPayout",
    "ChainTransfer",
    "Escrow",
    "HotWallet",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Parameter",
    "ParameterChange",
    "Payment",
    "PaymentRefund",
    "Rail",
    "StripeCustomer",
    "StripeEvent",
    "StripeSubscription",
]
