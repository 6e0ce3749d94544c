"""The creator tier is exact at its threshold when many releases of one creator run at once
(issue 16, item 3), on PostgreSQL with real threads (`transaction=True`: every call commits).

Before the running totals, the tier was read from committed sales while the same creator's other
releases were still in flight: with 50 releases at once, up to 4 after the creator crossed $1,000
were still split at Bronze. Now each release locks the creator's totals row, so exactly the releases
that start below the threshold are split at Bronze and every later one at Silver.
"""

from __future__ import annotations

import pytest

from tests.accounts.factories import UserFactory
from tests.tokenomics.concurrency.threads import race
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import CreatorSales, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify
from tokenomics.selectors.parameters import parameter_get
from tokenomics.selectors.rates import creator_standing, sale_rates
from tokenomics.services.escrow import escrow_hold, escrow_release
from tokenomics.splits import CreatorTier, split_sale

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RELEASES = 50
SALE = 1_000  # cents, each


def test_fifty_concurrent_releases_cross_the_silver_threshold_exactly_once() -> None:
    threshold = parameter_get("creator_tier.silver_threshold_cents")
    bronze = parameter_get("sale.creator_share.bronze_bps")
    silver = parameter_get("sale.creator_share.silver_bps")
    creator = UserFactory()
    # Lifetime sales one cent short of Silver, made by real releases.
    opening = escrow_hold(
        reference="tier:opening",
        creator=creator,
        source_account=funded_wallet(user=UserFactory(), amount=threshold),
        amount=threshold - 1,
    )
    escrow_release(escrow_id=opening.pk)
    assert creator_standing(creator=creator).tier.tier == CreatorTier.BRONZE
    held = [
        escrow_hold(
            reference=f"tier:sale-{n}",
            creator=creator,
            source_account=funded_wallet(user=UserFactory(), amount=SALE),
            amount=SALE,
        )
        for n in range(RELEASES)
    ]

    outcomes = race(RELEASES, lambda index: escrow_release(escrow_id=held[index].pk))

    assert all(outcome.ok for outcome in outcomes), [o for o in outcomes if not o.ok]
    # The creator's part of each release, in commit order (transaction ids are not commit order,
    # but the totals row serialises this creator's releases, so exactly one started below).
    shares = sorted(
        LedgerEntry.objects.filter(
            transaction__kind=TransactionKind.SALE,
            transaction__reference__startswith="tier:sale-",
            account__kind=AccountKind.CREATOR_PAYABLE,
        ).values_list("amount", flat=True)
    )
    assert len(shares) == RELEASES
    at_bronze = split_sale(gross=SALE, rates=sale_rates(creator_share_bps=bronze)).creator
    at_silver = split_sale(gross=SALE, rates=sale_rates(creator_share_bps=silver)).creator
    assert at_bronze < at_silver
    assert shares.count(at_bronze) == 1, shares
    assert shares.count(at_silver) == RELEASES - 1, shares
    totals = CreatorSales.objects.get(creator=creator)
    assert totals.net_usd == threshold - 1 + RELEASES * SALE
    assert LedgerTransaction.objects.filter(kind=TransactionKind.SALE, party=creator).count() == RELEASES + 1
    assert ledger_verify().ok
