"""The /stake/ page shows the holder the slashes of their stake with their evidence (issue 18 item 2):
amount burned, fraction asked and applied after the tier's cap, reason, evidence, when, reversal;
and an empty state when there are none. Only the holder's own slashes."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.selectors.staking import slashes_for_user
from tokenomics.services.staking import stake_deposit, stake_slash, stake_slash_reverse

pytestmark = pytest.mark.django_db


def _staked(amount: int):
    user = UserFactory()
    funded_wallet(user=user, amount=amount, asset="AGR")
    stake_deposit(user=user, amount=amount, idempotency_key="s")
    return user


def test_a_holder_never_slashed_sees_the_empty_state(client) -> None:
    holder = _staked(agr(20_000))
    client.force_login(holder)
    html = client.get(reverse("tokenomics:stake")).content.decode()
    assert 'id="slashes-title"' in html
    assert 'id="slashes-empty"' in html
    assert 'id="slash-table"' not in html


def test_slashes_are_listed_with_amount_fraction_reason_evidence_and_when(client) -> None:
    holder = _staked(agr(60_000))  # Silver: max slash 10%
    capped = stake_slash(
        user=holder,
        fraction_bps=2_500,
        reason="Latency above the SLA",
        evidence={"p99_ms": 4200, "window": "2026-12-01T00:00Z/PT24H", "calls": [17, 18]},
        idempotency_key="a",
    )
    plain = stake_slash(
        user=holder, fraction_bps=150, reason="Missed probe", evidence={}, idempotency_key="b"
    )
    stake_slash_reverse(slash_id=plain.pk, staff_user=UserFactory(is_staff=True))
    someone_else = _staked(agr(20_000))
    stake_slash(user=someone_else, fraction_bps=100, reason="Not yours", evidence={}, idempotency_key="c")

    client.force_login(holder)
    html = client.get(reverse("tokenomics:stake")).content.decode()
    assert 'id="slashes-empty"' not in html
    assert html.count('<tr data-slash="') == 2
    assert "Not yours" not in html
    row = html[html.index(f'<tr data-slash="{capped.pk}">') :]
    row = row[: row.index("</tr>")]
    assert "6,000 AGR" in row  # 10% of 60,000 AGR burned
    assert "10%" in row  # applied
    assert "25% asked, capped at Silver" in row
    assert "Latency above the SLA" in row
    assert "<dt>p99_ms</dt>" in row
    assert "4200" in row
    assert "2026-12-01T00:00Z/PT24H" in row
    assert "[17, 18]" in row
    when = timezone.localtime(capped.created_at)
    assert f'<time datetime="{dateformat.format(when, "c")}">' in row  # when

    reversed_row = html[html.index(f'<tr data-slash="{plain.pk}">') :]
    reversed_row = reversed_row[: reversed_row.index("</tr>")]
    assert "1.5%" in reversed_row
    assert "capped" not in reversed_row
    assert "No evidence recorded." in reversed_row
    assert "data-reversed" in reversed_row

    # The selector behind it: newest first, evidence as (what, value) pairs by name.
    views = slashes_for_user(holder)
    assert [v.pk for v in views] == [plain.pk, capped.pk]
    assert views[1].evidence == [
        ("calls", "[17, 18]"),
        ("p99_ms", "4200"),
        ("window", "2026-12-01T00:00Z/PT24H"),
    ]
    assert (views[1].amount, views[1].applied_bps, views[1].fraction_bps) == (agr(6_000), 1_000, 2_500)
    assert [v.reversed for v in views] == [True, False]
