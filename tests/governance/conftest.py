from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from governance.models import Proposal, ProposalKind
from governance.services.proposals import proposal_create
from tests.accounts.factories import UserFactory
from tests.governance.factories import agr_credit
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameter_get

BOND = agr(100_000)


@pytest.fixture
def proposer() -> User:
    user = UserFactory()
    agr_credit(user, BOND + agr(1_000))
    return user


def moderator() -> User:
    """Staff with the permission to cancel and veto proposals."""
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="moderate_proposal"))
    return User.objects.get(pk=user.pk)  # a fresh instance: permissions are cached per object


def economic_proposal(proposer: User, **changes: int) -> Proposal:
    """An economic proposal moving sale.treasury_bps by 10% (within the quarterly limit)."""
    current = parameter_get("sale.treasury_bps")
    return proposal_create(
        proposer=proposer,
        kind=ProposalKind.ECONOMIC,
        title="Adjust the treasury share",
        body="Move the **treasury** share.",
        changes=changes or {"sale.treasury_bps": current * 11 // 10},
    )


def travel_to(moment: Any) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def voting_open(proposal: Proposal) -> Any:
    assert proposal.voting_starts_at is not None
    return proposal.voting_starts_at + timedelta(seconds=1)


def now() -> Any:
    return timezone.now()
