"""A real Triton Inference Server (nvidia-pytriton) serving the demo models, one per test session.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py, so any test can ask for it:

    def test_digits(pytriton_server: PyTritonServer) -> None:
        client = httpclient.InferenceServerClient(pytriton_server.http_address)
        ...

`pytriton_server.url` is the node URL a provider registers ("http://127.0.0.1:PORT");
`pytriton_server.models` are the served `marketplace.hosted_demo` models (digits, iris, sentiment,
identity_fp32) whose specs the demo listings declare. The server is started lazily the first time
a test asks for it (about 10-20 s on a busy 2-core machine; the ONNX files are cached under
`.demo/models/` after the first training), runs in its own process (`python -m
compute.demo_models.server`) on free loopback ports, and is stopped with SIGTERM at the end of the
session (SIGKILL if it does not stop within 30 s). If pytest itself is killed, the kernel sends the
server SIGTERM (PR_SET_PDEATHSIG), so no Triton outlives the run.

Tests must not stop, reload or unload its models: it is shared. A test that needs a failing node
uses a stub server of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from marketplace.hosted_demo import SERVED_MODELS, HostedDemoModel

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT_S = 180.0  # first start trains the models; a loaded CI machine is slow
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PyTritonServer:
    host: str
    http_port: int
    grpc_port: int
    metrics_port: int
    models: tuple[HostedDemoModel, ...]
    pid: int
    log_path: Path

    @property
    def url(self) -> str:
        """The node URL, as a provider registers it."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def http_address(self) -> str:
        """host:port, as tritonclient.http.InferenceServerClient takes it."""
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.host}:{self.metrics_port}/metrics"

    def model(self, triton_name: str) -> HostedDemoModel:
        return next(model for model in self.models if model.triton_name == triton_name)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGTERM it when the pytest process dies.
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _ready(url: str, models: tuple[HostedDemoModel, ...]) -> bool:
    try:
        for path in ["/v2/health/ready", *(f"/v2/models/{model.triton_name}/ready" for model in models)]:
            with urllib.request.urlopen(url + path, timeout=2) as response:
                if response.status != 200:
                    return False
    except (urllib.error.URLError, OSError):
        return False
    return True


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def pytriton_server_start(
    log_dir: Path, models: tuple[HostedDemoModel, ...] = SERVED_MODELS
) -> tuple[subprocess.Popen[bytes], PyTritonServer]:
    http_port, grpc_port, metrics_port = free_ports(3)
    log_path = log_dir / f"pytriton-{http_port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compute.demo_models.server",
                "--host",
                HOST,
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
                "--metrics-port",
                str(metrics_port),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = PyTritonServer(HOST, http_port, grpc_port, metrics_port, models, process.pid, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _ready(server.url, models):
        if process.poll() is not None:
            raise RuntimeError(f"PyTriton exited with {process.returncode}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            pytriton_server_stop(process)
            raise RuntimeError(f"PyTriton was not ready after {START_TIMEOUT_S:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.25)
    return process, server


def pytriton_server_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture(scope="session")
def pytriton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyTritonServer]:
    """One real PyTriton server with the demo models for the whole session (see the module doc)."""
    process, server = pytriton_server_start(tmp_path_factory.mktemp("pytriton"))
    try:
        yield server
    finally:
        pytriton_server_stop(process)


def model_metadata(server: PyTritonServer, triton_name: str) -> dict[str, object]:
    """Triton's own KServe v2 metadata of a served model (GET /v2/models/{name})."""
    with urllib.request.urlopen(f"{server.url}/v2/models/{triton_name}", timeout=5) as response:
        return dict(json.load(response))
