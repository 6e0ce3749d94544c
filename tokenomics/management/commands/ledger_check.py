"""`manage.py ledger_check`: verify every ledger invariant, print totals, exit 1 on any violation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tokenomics.money import format_amount
from tokenomics.selectors.ledger import ledger_verify


class Command(BaseCommand):
    help = (
        "Check the ledger: trial balance zero per asset, every transaction balanced with two or more "
        "entries, no user-owned account below zero, cached balances equal to the sum of entries."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        report = ledger_verify()
        elapsed = time.perf_counter() - started
        out = self.stdout
        out.write(f"{report.transactions} transactions, {report.entries} entries, {report.accounts} accounts")
        for asset, total in report.trial_balance.items():
            volume = format_amount(amount=report.volume[asset], asset=asset)
            held = format_amount(amount=report.user_holdings[asset], asset=asset)
            out.write(f"  {asset}: trial balance {total} (must be 0); volume {volume}; held by users {held}")
        problems: dict[str, Sequence[object]] = {
            "assets whose entries do not sum to zero": [a for a, t in report.trial_balance.items() if t],
            "unbalanced transactions": report.unbalanced_transactions,
            "transactions with fewer than two entries": report.short_transactions,
            "entries in another asset than their account": report.asset_mismatches,
            "accounts below zero that may not be": report.negative_accounts,
            "accounts whose cached balance differs from their entries": [
                f"{pk} (cached {cached}, entries {derived})"
                for pk, cached, derived in report.cache_mismatches
            ],
            "assets whose escrow account differs from the payments held": [
                f"{asset} (account {account}, held {held})"
                for asset, account, held in report.escrow_mismatches
            ],
            "creators whose sales totals differ from the ledger": [
                f"{creator} {asset} (counted {counted}, ledger {scanned})"
                for creator, asset, counted, scanned in report.creator_sales_mismatches
            ],
        }
        failed = False
        for label, items in problems.items():
            if items:
                failed = True
                shown = ", ".join(str(item) for item in items[:20])
                more = f" … and {len(items) - 20} more" if len(items) > 20 else ""
                self.stderr.write(self.style.ERROR(f"{len(items)} {label}: {shown}{more}"))
        out.write(f"checked in {elapsed:.2f} s")
        if failed:
            raise CommandError("The ledger has violations (listed above).", returncode=1)
        out.write(self.style.SUCCESS("Ledger OK: every invariant holds."))
