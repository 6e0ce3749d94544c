"""compute's models. The gateway's request log lives in `compute.models_gateway`."""

from __future__ import annotations

from compute.models_gateway import (
    CarryPart,
    Entitlement,
    InferenceRequest,
    MeteringCarry,
    Outcome,
    SettlementBatch,
    Via,
)

__all__ = [
    "CarryPart",
    "Entitlement",
    "InferenceRequest",
    "MeteringCarry",
    "Outcome",
    "SettlementBatch",
    "Via",
]
