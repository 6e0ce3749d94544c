"""A few closed revenue-distribution epochs for `make demo` (after load_demo_catalog's sales).

The token genesis is dated DEMO_WEEKS weeks (and a day) back, so the epoch clock has that many
whole weeks behind it; each past epoch is then closed as the hourly task would have closed it, an
hour after its end, through the same service (its postings are dated then). Creators' weights come
from the catalog's orders; providers' and integrations' from the calls the gateway recorded
(load_demo_inference's history). Running
it again changes nothing (the genesis and every closed epoch are found and left alone), except
closing epochs that have ended since.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from tokenomics.selectors.epochs import epoch_next_bounds, genesis_transaction
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.epochs import epoch_close, token_genesis

DEMO_WEEKS = 4
CLOSE_DELAY = timedelta(hours=1)


class Command(BaseCommand):
    help = "Date the token genesis a few weeks back and close the epochs since, as the weekly task would."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if genesis_transaction() is None:
            token_genesis(at=now - timedelta(weeks=DEMO_WEEKS, days=1))
        closed = 0
        while True:
            bounds = epoch_next_bounds(epoch_seconds=parameter_get("distribution.epoch_seconds"))
            if bounds is None:
                break
            number, start, end = bounds
            if end > now:
                break
            epoch_close(number=number, starts_at=start, ends_at=end, at=min(end + CLOSE_DELAY, now))
            closed += 1
        self.stdout.write(self.style.SUCCESS(f"Demo epochs ready: {closed} closed now."))
