"""The money app's tables: the ledger, the parameter registry and escrow holds."""

from __future__ import annotations

from tokenomics.models.escrow import Escrow
from tokenomics.models.ledger import Asset, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.parameters import Parameter, ParameterChange

__all__ = [
    "Asset",
    "Escrow",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Parameter",
    "ParameterChange",
]
