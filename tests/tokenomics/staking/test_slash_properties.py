"""G6, the Hypothesis half: whatever the stake, the unstakes and the slash fractions, every slash is
capped by the tier of the bonded stake, takes no more than is staked, leaves no stake or unbonding
row negative, and the AGR is conserved (wallet + bonded + unbonding + burned = what was funded);
the unbonding rows always add up to the unbonding account."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import InsufficientFunds, InvalidState
from tokenomics.models import LedgerAccount, Unbonding, UnbondingState
from tokenomics.models.ledger import AccountKind, Asset
from tokenomics.money import agr
from tokenomics.selectors.ledger import ledger_verify, system_balance
from tokenomics.selectors.staking import tier_for, tier_rules
from tokenomics.services.staking import stake_deposit, stake_slash, unstake_start

pytestmark = pytest.mark.django_db
BPS = 10_000
FUNDED = agr(2_000_000)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("slash"), st.integers(1, BPS)),
        st.tuples(st.just("unstake"), st.integers(1, 1_500_000)),
        st.tuples(st.just("stake"), st.integers(1, 500_000)),
    ),
    min_size=1,
    max_size=8,
)


def _balance(user, kind: str) -> int:
    row = LedgerAccount.objects.filter(owner=user, kind=kind, asset=Asset.AGR).first()
    return int(row.balance) if row else 0


def test_random_slashes_are_capped_never_negative_and_conserve_value() -> None:
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(first=st.integers(1, 1_500_000), plan=steps)
    def one_holder(first: int, plan: list[tuple[str, int]]) -> None:
        holder = UserFactory()
        funded_wallet(user=holder, amount=FUNDED, asset="AGR")
        burned_before = system_balance(kind=AccountKind.BURN, asset=Asset.AGR)
        stake_deposit(user=holder, amount=agr(first), idempotency_key="first")
        burned = 0
        for n, (action, value) in enumerate(plan):
            bonded = _balance(holder, AccountKind.STAKE)
            unbonding = _balance(holder, AccountKind.UNBONDING)
            try:
                if action == "stake":
                    stake_deposit(user=holder, amount=agr(value), idempotency_key=f"s{n}")
                elif action == "unstake":
                    unstake_start(user=holder, amount=agr(value), idempotency_key=f"u{n}")
                else:
                    slash = stake_slash(
                        user=holder,
                        fraction_bps=value,
                        reason="p",
                        evidence={"n": n},
                        idempotency_key=f"x{n}",
                    )
                    rules = tier_rules()
                    tier = tier_for(bonded, rules)
                    cap = (tier or rules[0]).max_slash_bps
                    assert slash.applied_bps == min(value, cap)
                    assert slash.total == (bonded + unbonding) * slash.applied_bps // BPS
                    assert slash.total <= bonded + unbonding
                    assert slash.bonded_amount == min(slash.total, bonded)  # bonded stake first
                    burned += slash.total
            except (InsufficientFunds, InvalidState):
                pass  # more than is there; nothing to slash
            wallet = _balance(holder, AccountKind.WALLET)
            now_bonded = _balance(holder, AccountKind.STAKE)
            now_unbonding = _balance(holder, AccountKind.UNBONDING)
            assert min(wallet, now_bonded, now_unbonding) >= 0
            assert wallet + now_bonded + now_unbonding + burned == FUNDED
            rows = Unbonding.objects.filter(user=holder, state=UnbondingState.UNBONDING)
            assert all(int(r.amount) >= 0 for r in rows)
            assert sum(int(r.amount) for r in rows) == now_unbonding
        assert system_balance(kind=AccountKind.BURN, asset=Asset.AGR) - burned_before == burned

    one_holder()
    report = ledger_verify()
    assert report.ok, report
