"""Demo money for `make demo`: a funded buyer and a few sales; running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from tokenomics.models import Escrow
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr
from tokenomics.services.escrow import escrow_hold, escrow_refund, escrow_release
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.staking import stake_deposit
from tokenomics.services.wallet import wallet_top_up

# (reference, asset, amount, outcome): amounts in minor units (cents, AGR base units).
DEMO_SALES = (
    ("demo:order:1", "USD", 4_900, "release"),
    ("demo:order:2", "USD", 12_500, "release"),
    ("demo:order:3", "AGR", agr(800), "release"),
    ("demo:order:4", "USD", 2_000, "refund"),
    ("demo:order:5", "USD", 7_500, "hold"),
)


class Command(BaseCommand):
    help = "Fund the demo buyer (USD and AGR) and record a few sales to the demo creator."

    def handle(self, *args: Any, **options: Any) -> None:
        buyer = User.objects.filter(email="buyer@agora.local").first()
        creator = User.objects.filter(email="creator@agora.local").first()
        if buyer is None or creator is None:
            raise CommandError("Run `manage.py load_demo_data` first: the demo accounts are missing.")
        wallet_top_up(user=buyer, asset="USD", amount=50_000, rail="stripe", idempotency_key="demo:topup:usd")
        wallet_top_up(
            user=buyer, asset="AGR", amount=agr(5_000), rail="chain", idempotency_key="demo:topup:agr"
        )
        for reference, asset, amount, outcome in DEMO_SALES:
            wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset=asset)
            escrow = escrow_hold(
                reference=reference,
                creator=creator,
                source_account=wallet,
                amount=amount,
                payer=buyer,
                release_after=timezone.now() + timedelta(days=7),
                memo=f"Demo purchase {reference}",
            )
            if escrow.state != Escrow.State.HELD:
                continue
            if outcome == "release":
                escrow_release(escrow_id=escrow.pk)
            elif outcome == "refund":
                escrow_refund(escrow_id=escrow.pk)
        provider = User.objects.filter(email="provider@agora.local").first()
        if provider is not None:
            # The demo provider bonds 60,000 AGR: Silver (priority routing, a lower platform fee).
            wallet_top_up(
                user=provider,
                asset="AGR",
                amount=agr(75_000),
                rail="chain",
                idempotency_key="demo:topup:provider",
            )
            stake_deposit(user=provider, amount=agr(60_000), idempotency_key="demo:stake")
        self.stdout.write(
            self.style.SUCCESS("Demo ledger ready: buyer funded, sales recorded, provider staked.")
        )
