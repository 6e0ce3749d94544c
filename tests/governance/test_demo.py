"""`manage.py load_demo_governance`: proposals in every state with real votes, one executed parameter
change in the history, idempotent on rerun."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from governance.models import Proposal, Vote
from governance.selectors import proposal_list
from governance.state import State
from tokenomics.models import ParameterChange
from tokenomics.selectors.ledger import ledger_verify

pytestmark = [pytest.mark.django_db]


def test_demo_governance_has_every_state_and_reruns_to_the_same_result() -> None:
    call_command("load_demo_data")
    call_command("load_demo_governance")
    states = {view.proposal.title: view.state for view in proposal_list()}
    assert set(states.values()) == set(State)
    executed = Proposal.objects.get(title="Raise the sale treasury share by a tenth")
    assert ParameterChange.objects.filter(proposal_ref=f"proposal:{executed.pk}").count() == 1
    assert Vote.objects.filter(weight__gt=0).count() >= 10
    counts = (Proposal.objects.count(), Vote.objects.count(), ParameterChange.objects.count())
    call_command("load_demo_governance")
    assert (Proposal.objects.count(), Vote.objects.count(), ParameterChange.objects.count()) == counts
    assert ledger_verify().ok
