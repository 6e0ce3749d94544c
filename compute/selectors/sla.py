"""Reads of SLA enforcement for the provider console: a provider's slashes, newest first, each with
its evidence, its appeal (if any) and until when it may be appealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.models import User
from compute.models_sla import SlashAppeal
from tokenomics.models import Slash
from tokenomics.selectors.parameters import parameter_get

CONSOLE_SLASHES = 50


@dataclass(frozen=True)
class SlashView:
    slash: Slash
    appeal: SlashAppeal | None
    appeal_deadline: datetime
    can_appeal: bool
    evidence: dict[str, Any]


def provider_slashes(*, provider: User, now: datetime) -> list[SlashView]:
    window = timedelta(seconds=parameter_get("slashing.appeal_window_seconds"))
    slashes = list(Slash.objects.filter(user=provider).order_by("-created_at", "-pk")[:CONSOLE_SLASHES])
    appeals = {a.slash_id: a for a in SlashAppeal.objects.filter(slash__in=slashes)}
    views = []
    for slash in slashes:
        deadline = slash.created_at + window
        appeal = appeals.get(slash.pk)
        views.append(
            SlashView(
                slash=slash,
                appeal=appeal,
                appeal_deadline=deadline,
                can_appeal=appeal is None and slash.reversal_id is None and now <= deadline,
                evidence=slash.evidence if isinstance(slash.evidence, dict) else {},
            )
        )
    return views
