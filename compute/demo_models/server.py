"""Run the demo models on a real Triton without Django, until SIGTERM or Ctrl-C:

    python -m compute.demo_models.server --http-port 19101 --grpc-port 19102 --metrics-port 19103

The pytest session fixture (tests/compute/pytriton_server.py) starts it in a subprocess;
`manage.py run_provider` does the same in-process and also registers the node.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from compute.demo_models.serving import TritonPorts, triton_start


def stop_event_on_signals() -> threading.Event:
    """An event set by SIGTERM, SIGINT or SIGHUP, so the caller stops Triton cleanly (its stop()
    ends the tritonserver process and removes the workspace) instead of dying mid-way."""
    stopping = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, handler)
    return stopping


def serve_until_stopped(
    stopping: threading.Event, is_alive: Callable[[], bool], period_s: float = 1.0
) -> bool:
    """Wait until a signal asks to stop (True) or the server died (False)."""
    while not stopping.wait(period_s):
        if not is_alive():
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stopping = stop_event_on_signals()
    triton = triton_start(
        host=args.host, ports=TritonPorts(http=args.http_port, grpc=args.grpc_port, metrics=args.metrics_port)
    )
    print(f"READY http://{args.host}:{args.http_port}", flush=True)
    try:
        stopped_by_signal = serve_until_stopped(stopping, triton.is_alive)
    finally:
        triton.stop()
    return 0 if stopped_by_signal else 1


if __name__ == "__main__":
    sys.exit(main())
