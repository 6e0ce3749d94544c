"""G1 (vote, transfer, the receiver votes: weight 0), G2 (acquisition, stake and delegation at or
after the snapshot add nothing: hypothesis over times around it), G3 (supply changes after the
snapshot change no quorum), and the delegation rule, on real ledger history."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import governance
from governance.selectors import proposal_tally, voting_power, voting_powers
from governance.services.votes import delegation_remove, delegation_set, vote_cast
from tests.accounts.factories import UserFactory
from tests.governance.conftest import economic_proposal, travel_to, voting_open
from tests.governance.factories import agr_credit, agr_stake, agr_transfer, delegate_at
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameter_get

pytestmark = [pytest.mark.django_db]


def test_vote_then_transfer_then_the_receiver_votes_with_weight_0(proposer) -> None:
    alice, bob = UserFactory(), UserFactory()
    agr_credit(alice, agr(500_000))
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        first = vote_cast(proposal_id=proposal.pk, voter=alice, choice="for")
        agr_transfer(alice, bob, agr(500_000))
        second = vote_cast(proposal_id=proposal.pk, voter=bob, choice="for")
        tally, _ = proposal_tally(proposal)
    assert first.weight == agr(500_000)
    assert second.weight == 0
    assert tally.votes_for == agr(500_000)


def test_staked_weights_1_5x_and_2x_after_a_year() -> None:
    user = UserFactory()
    now = timezone.now()
    agr_credit(user, agr(1_000), now - timedelta(days=800))
    agr_stake(user, agr(100), now - timedelta(days=400))  # staked over a year at the snapshot
    agr_stake(user, agr(200), now - timedelta(days=10))
    assert parameter_get("governance.staked_weight_bps") == 15_000
    assert voting_power(user.pk, now) == agr(700) + agr(200) * 3 // 2 + agr(100) * 2


# Offsets from the snapshot, in seconds: before it, at it and after it.
OFFSETS = st.integers(min_value=-3, max_value=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    credits=st.lists(st.tuples(OFFSETS, st.integers(min_value=1, max_value=10**6)), min_size=1, max_size=4),
    stake_offset=st.none() | OFFSETS,
    delegation_offset=st.none() | OFFSETS,
    delegation_end=st.none() | OFFSETS,
)
def test_power_counts_only_what_came_strictly_before_the_snapshot(
    credits, stake_offset, delegation_offset, delegation_end
) -> None:
    snapshot = timezone.now() - timedelta(days=1)
    holder, delegate = UserFactory(), UserFactory()
    for offset, amount in sorted(credits):
        agr_credit(holder, amount, snapshot + timedelta(seconds=offset))
    owned_before = sum(amount for offset, amount in credits if offset < 0)
    staked_before = 0
    if stake_offset is not None:
        at = snapshot + timedelta(seconds=stake_offset)
        held_then = sum(amount for offset, amount in credits if snapshot + timedelta(seconds=offset) <= at)
        if held_then:
            agr_stake(holder, held_then, at)
            if stake_offset < 0:
                staked_before = held_then
    own = owned_before - staked_before + staked_before * 3 // 2
    # A delegation removed at or after the snapshot still counts for it; one removed before does not.
    ends = delegation_offset is not None and delegation_end is not None and delegation_end > delegation_offset
    if delegation_offset is not None:
        delegate_at(
            holder,
            delegate,
            snapshot + timedelta(seconds=delegation_offset),
            ended_at=snapshot + timedelta(seconds=delegation_end) if ends else None,
        )
    moved = delegation_offset is not None and delegation_offset < 0 and not (ends and delegation_end < 0)
    powers = voting_powers([holder.pk, delegate.pk], snapshot)
    assert powers == {holder.pk: 0 if moved else own, delegate.pk: own if moved else 0}


def test_delegation_moves_all_power_one_level_and_the_delegators_vote_weighs_0(proposer) -> None:
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for user, amount in ((a, 100), (b, 200), (c, 400)):
        agr_credit(user, agr(amount))
    delegation_set(delegator=a, delegate=b)
    delegation_set(delegator=b, delegate=c)  # b's own power moves; a's stays with b (one level)
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        delegation_remove(delegator=a)  # after the snapshot: changes nothing for this proposal
        votes = {u.pk: vote_cast(proposal_id=proposal.pk, voter=u, choice="for").weight for u in (a, b, c)}
    assert votes == {a.pk: 0, b.pk: agr(100), c.pk: agr(600)}


def test_supply_minted_after_the_snapshot_changes_no_quorum(proposer) -> None:
    proposal = economic_proposal(proposer)
    with travel_to(voting_open(proposal)):
        at_open, supply_open = proposal_tally(proposal)
        agr_credit(UserFactory(), agr(10_000_000))
        after, supply_after = proposal_tally(proposal)
    assert supply_open == supply_after
    assert at_open.quorum == after.quorum == -(-supply_open * 400 // 10_000)


def test_no_power_read_uses_a_current_balance() -> None:
    """G2's static half: governance never reads a cached balance or today's balances; every power
    read goes through the `*_at` selectors with a snapshot instant."""
    forbidden_names = {"user_balances", "balance", "LedgerAccount"}
    offenders = []
    for path in Path(governance.__file__).parent.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else None
            )
            if name in forbidden_names:
                offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []
