"""gunicorn settings the deployment shares (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

Prometheus with several workers (compute/metrics.py): set PROMETHEUS_MULTIPROC_DIR to an empty
directory in the environment of gunicorn; its files are removed here when the master starts, and a dead
worker's live gauges are dropped from the sums when it exits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Threaded workers keep a client's connection open between requests (HTTP keep-alive); the sync
# worker closes it after every answer, so each API call paid a new connection: measured with
# benchmarks/gateway.py, 3.9 ms of worker CPU per inference call with sync workers, 2.3 ms with
# these (2026-12-05, 2-core machine). The hot path keeps per-thread state where it must (tritonclient
# pools, the metering batch). Override on the command line (`--worker-class`, `--threads`) or with
# GUNICORN_CMD_ARGS.
worker_class = "gthread"
threads = 2


def on_starting(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        # A previous run's values would be summed in; only prometheus-client's own files go.
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from compute.metrics import worker_exited

    worker_exited(worker.pid)
