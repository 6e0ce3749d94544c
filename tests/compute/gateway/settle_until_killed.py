"""A settlement worker that stops midway and waits to be killed (for the R4 test).

Run as `python -m tests.compute.gateway.settle_until_killed <marker-file>` with the test database in
DATABASE_URL. It runs the beat task's work (`metering_settle`: drain the request log, settle in
batches of 10) and, inside the first batch, right after its first ledger posting, writes the marker
file and sleeps: the test then kills it with SIGKILL, as a worker dies mid-transaction in production.
Nothing here replaces settlement: the posting really happened in the open database transaction.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def main(marker: Path) -> None:
    import django

    django.setup()
    from compute.services import settlement

    real_post = settlement.transaction_post

    def post_then_wait(**kwargs: Any) -> Any:
        posted = real_post(**kwargs)
        marker.write_text(str(kwargs["idempotency_key"]))
        time.sleep(120)  # the test kills us long before this ends
        return posted

    settlement.transaction_post = post_then_wait  # type: ignore[assignment]
    while settlement.log_drain():
        pass
    settlement.settle_batch(limit=10)
    sys.exit("settlement was not killed")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
