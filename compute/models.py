"""compute's models. The gateway's request log lives in `compute.models_gateway`."""

from __future__ import annotations

from compute.models_batch import BatchItem, BatchJob, BatchState, ItemState, WebhookState
from compute.models_gateway import (
    CarryPart,
    Entitlement,
    InferenceRequest,
    MeteringCarry,
    Outcome,
    SettlementBatch,
    Via,
)
from compute.models_nodes import LATENCY_BUCKETS_MS, Node, NodeMinute, NodeVersion
from compute.models_reputation import CallRating, TrustScore
from compute.models_sla import (
    AppealState,
    ProposalSource,
    ProposalState,
    SevereSlashProposal,
    SlashAppeal,
)

__all__ = [
    "LATENCY_BUCKETS_MS",
    "AppealState",
    "BatchItem",
    "BatchJob",
    "BatchState",
    "CallRating",
    "CarryPart",
    "Entitlement",
    "InferenceRequest",
    "ItemState",
    "MeteringCarry",
    "Node",
    "NodeMinute",
    "NodeVersion",
    "Outcome",
    "ProposalSource",
    "ProposalState",
    "SettlementBatch",
    "SevereSlashProposal",
    "SlashAppeal",
    "TrustScore",
    "Via",
    "WebhookState",
]
