"""SLA slashing judged from recorded measurements under a controlled clock: each rule at its
boundary (exactly 95% availability, exactly 2x the advertised latency), repeats made major, the
tier's cap, the daily task, appeals and their reversal, and severe slashes upheld by staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from compute.errors import NodeRefused
from compute.models import Node, ProposalState, SlashAppeal
from compute.services.nodes import node_register
from compute.services.sla import (
    availability_breached,
    latency_breached,
    p50_lower_bound_ms,
    provider_sla_evaluate,
    severe_slash_propose,
    severe_slash_uphold,
    slash_appeal_create,
    slash_appeal_decide,
)
from compute.tasks.sla import evaluate_sla
from tests.accounts.factories import UserFactory
from tests.compute.sla.conftest import DAY_END, histogram_at, node_of, record_day, staked_provider
from tokenomics.errors import InvalidState, PermissionDenied
from tokenomics.models import LedgerAccount, Slash
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify

pytestmark = pytest.mark.django_db


def _stake(user) -> int:
    return int(LedgerAccount.objects.get(owner=user, kind=AccountKind.STAKE, asset=Asset.AGR).balance)


# ----------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("ok", "total", "breached"),
    [(950, 1000, False), (949, 1000, True), (19, 20, False), (18, 19, True), (96, 101, False), (0, 0, False)],
)
def test_availability_is_breached_only_under_95_percent(ok: int, total: int, breached: bool) -> None:
    assert availability_breached(ok=ok, total=total, min_bps=9500) is breached


def test_latency_takes_the_lower_bound_of_the_median_bucket() -> None:
    assert p50_lower_bound_ms(histogram_at(500, 10)) == 200  # the (200, 500] bucket
    assert p50_lower_bound_ms(histogram_at(1, 10)) == 0
    assert p50_lower_bound_ms(histogram_at(None, 3)) == 10_000
    assert p50_lower_bound_ms([0] * 14) is None
    # exactly 2x is not an offence; a hair above is
    assert latency_breached(p50_floor_ms=200, advertised_ms=100, factor_bps=20_000) is False
    assert latency_breached(p50_floor_ms=200, advertised_ms=99, factor_bps=20_000) is True
    assert latency_breached(p50_floor_ms=None, advertised_ms=1, factor_bps=20_000) is False


# ----------------------------------------------------------------------------- from measurements


def test_exactly_95_percent_uptime_is_not_slashed_and_just_under_is_minor() -> None:
    kept, slashed = staked_provider(), staked_provider()
    record_day(node_of(kept), probes=1000, probes_ok=950)
    record_day(node_of(slashed), probes=1000, probes_ok=949)

    with time_machine.travel(DAY_END + timedelta(minutes=5), tick=False):
        assert provider_sla_evaluate(provider=kept, end=DAY_END) is None
        slash = provider_sla_evaluate(provider=slashed, end=DAY_END)

    assert slash is not None
    assert (slash.fraction_bps, slash.applied_bps) == (100, 100)  # minor, 1%
    assert slash.total == agr(60_000) // 100
    assert _stake(slashed) == agr(60_000) - slash.total
    assert _stake(kept) == agr(60_000)
    evidence = slash.evidence
    assert evidence["kind"] == "sla"
    assert evidence["severity"] == "minor"
    assert evidence["offences"] == ["availability"]
    assert evidence["availability"] == {"ok": 949, "total": 1000, "min_bps": 9500}
    assert evidence["window"] == {
        "start": (DAY_END - timedelta(hours=24)).isoformat(),
        "end": DAY_END.isoformat(),
    }
    assert ledger_verify().ok


def test_exactly_twice_the_advertised_latency_is_not_slashed_and_above_is() -> None:
    kept, slashed = staked_provider(), staked_provider()
    # Every call in the (200, 500] ms bucket: at least 200 ms, exactly 2x an advertised 100 ms.
    record_day(
        node_of(kept, advertised_ms=100),
        probes=100,
        probes_ok=100,
        calls_ok=50,
        histogram=histogram_at(500, 50),
    )
    record_day(
        node_of(slashed, advertised_ms=99),
        probes=100,
        probes_ok=100,
        calls_ok=50,
        histogram=histogram_at(500, 50),
    )

    assert provider_sla_evaluate(provider=kept, end=DAY_END) is None
    slash = provider_sla_evaluate(provider=slashed, end=DAY_END)

    assert slash is not None
    assert slash.evidence["offences"] == ["latency"]
    node = slash.evidence["nodes"][0]
    assert (node["advertised_latency_ms"], node["p50_floor_ms"]) == (99, 200)


def test_both_rules_broken_is_the_top_of_minor_and_a_day_is_judged_once() -> None:
    provider = staked_provider()
    node = node_of(provider, advertised_ms=10)
    record_day(node, probes=100, probes_ok=50, calls_ok=20, histogram=histogram_at(1000, 20))

    first = provider_sla_evaluate(provider=provider, end=DAY_END)
    again = provider_sla_evaluate(provider=provider, end=DAY_END)

    assert first is not None
    assert again is not None
    assert first.pk == again.pk
    assert first.fraction_bps == 500
    assert first.evidence["offences"] == ["availability", "latency"]
    assert Slash.objects.filter(user=provider).count() == 1


def test_failed_calls_by_the_node_count_as_downtime() -> None:
    provider = staked_provider()
    # 100 probes passed, 100 calls served, 11 failed by the node: 200 / 211 = 94.8%.
    record_day(node_of(provider), probes=100, probes_ok=100, calls_ok=100, calls_failed=11)
    slash = provider_sla_evaluate(provider=provider, end=DAY_END)
    assert slash is not None
    assert slash.evidence["availability"] == {"ok": 200, "total": 211, "min_bps": 9500}


def test_repeated_minor_offences_become_major_and_the_tier_caps_the_slash() -> None:
    # Bronze (10,000 AGR staked): its largest slash is 5%.
    provider = staked_provider(stake_whole=12_000)
    node = node_of(provider)
    fractions = []
    for day in range(4):
        end = DAY_END + timedelta(days=day)
        record_day(node, end=end, probes=100, probes_ok=90)
        with time_machine.travel(end + timedelta(minutes=1), tick=False):
            slash = provider_sla_evaluate(provider=provider, end=end)
        assert slash is not None
        fractions.append((slash.evidence["severity"], slash.fraction_bps, slash.applied_bps))

    # Two earlier minor slashes in the window make the third major (5%), the fourth a step more
    # (10%), which Bronze's cap holds at 5%.
    assert fractions == [("minor", 100, 100), ("minor", 100, 100), ("major", 500, 500), ("major", 1000, 500)]
    assert ledger_verify().ok


def test_a_provider_without_stake_is_not_slashed() -> None:
    provider = UserFactory()
    record_day(node_of(provider), probes=100, probes_ok=10)
    assert provider_sla_evaluate(provider=provider, end=DAY_END) is None


def test_the_daily_task_judges_the_last_whole_day_of_every_provider_once() -> None:
    bad, good = staked_provider(), staked_provider()
    record_day(node_of(bad), probes=100, probes_ok=80)
    record_day(node_of(good), probes=100, probes_ok=100)

    with time_machine.travel(DAY_END + timedelta(hours=3), tick=False):
        assert evaluate_sla.delay().get() == {"evaluated": 2, "slashed": 1}
    with time_machine.travel(DAY_END + timedelta(hours=4), tick=False):
        evaluate_sla.delay().get()  # the same day again: no second slash

    assert Slash.objects.filter(user=bad).count() == 1
    assert not Slash.objects.filter(user=good).exists()
    assert Slash.objects.get(user=bad).evidence["window"]["end"] == DAY_END.isoformat()


# ----------------------------------------------------------------------------- appeals


def test_an_appeal_within_the_window_upheld_by_staff_reverses_the_slash() -> None:
    provider = staked_provider()
    staff = UserFactory(is_staff=True)
    record_day(node_of(provider), probes=100, probes_ok=10)
    with time_machine.travel(DAY_END + timedelta(minutes=1), tick=False):
        slash = provider_sla_evaluate(provider=provider, end=DAY_END)
    assert slash is not None

    with time_machine.travel(DAY_END + timedelta(days=6), tick=False):
        with pytest.raises(PermissionDenied):
            slash_appeal_create(provider=UserFactory(), slash_id=slash.pk, text="Not mine")
        appeal = slash_appeal_create(
            provider=provider, slash_id=slash.pk, text="Our uplink was cut by the DC."
        )
        with pytest.raises(InvalidState):
            slash_appeal_create(provider=provider, slash_id=slash.pk, text="Again")
    with pytest.raises(PermissionDenied):
        slash_appeal_decide(appeal_id=appeal.pk, staff_user=provider, uphold=True)
    slash_appeal_decide(appeal_id=appeal.pk, staff_user=staff, uphold=True, note="DC outage confirmed")

    slash.refresh_from_db()
    assert slash.reversal_id is not None
    assert slash.reversed_by == staff
    assert _stake(provider) == agr(60_000)
    assert SlashAppeal.objects.get(pk=appeal.pk).state == "upheld"
    assert ledger_verify().ok


def test_an_appeal_after_the_window_is_refused() -> None:
    provider = staked_provider()
    record_day(node_of(provider), probes=100, probes_ok=10)
    with time_machine.travel(DAY_END + timedelta(minutes=1), tick=False):
        slash = provider_sla_evaluate(provider=provider, end=DAY_END)
    assert slash is not None
    with (
        time_machine.travel(DAY_END + timedelta(days=7, minutes=2), tick=False),
        pytest.raises(InvalidState, match="appeal window"),
    ):
        slash_appeal_create(provider=provider, slash_id=slash.pk, text="Too late")


# ----------------------------------------------------------------------------- severe


def test_a_buyer_report_upheld_by_staff_slashes_within_the_cap_and_bans() -> None:
    provider = staked_provider(stake_whole=12_000)  # Bronze: capped at 5%
    node = node_of(provider)
    buyer, staff = UserFactory(), UserFactory(is_staff=True)
    proposal = severe_slash_propose(
        provider=provider,
        reason="Returned a phishing URL as the output",
        evidence={"request_id": "0b7c", "output": "http://evil.example"},
        reported_by=buyer,
    )
    assert proposal.source == "buyer"
    assert _stake(provider) == agr(12_000)
    with pytest.raises(PermissionDenied):
        severe_slash_uphold(proposal_id=proposal.pk, staff_user=buyer)

    upheld = severe_slash_uphold(proposal_id=proposal.pk, staff_user=staff, fraction_bps=2000)

    assert upheld.state == ProposalState.UPHELD
    assert upheld.slash is not None
    assert (upheld.slash.fraction_bps, upheld.slash.applied_bps) == (2000, 500)
    assert upheld.slash.evidence["kind"] == "severe"
    assert upheld.slash.evidence["output"] == "http://evil.example"
    assert not Node.objects.get(pk=node.pk).is_active
    with pytest.raises(NodeRefused, match="banned"):
        node_register(provider=provider, triton_url="http://127.0.0.1:9", version_ids=[1])
    with pytest.raises(InvalidState):
        severe_slash_uphold(proposal_id=proposal.pk, staff_user=staff)
