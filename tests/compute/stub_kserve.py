"""Small KServe v2 servers that misbehave on purpose, for the faults a real Triton will not stage.

Each serves one model on a free loopback port, speaking just enough of the protocol for
tritonclient's HTTP client: health, model readiness and metadata, and infer (binary or JSON
inputs in, JSON outputs back). `mode` says how it behaves:
  ok         echo the input as the output (an identity model)
  error      answer every infer with 503
  bad_input  answer every infer with 400 (the input refused)
  hang       accept the infer and never answer (until stopped)
  slow       answer correctly after `delay_s`
  malformed  answer with an output of the wrong shape
  not_ready  the server is up but says the model is not ready
  custom     answer with `respond(input values)` -> (status, JSON body): any answer a test makes up
A refused connection needs no server: use `closed_port()`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

MODEL = "identity_fp32"
SPEC_IN = {"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}
SPEC_OUT = {"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StubNode:
    mode: str = "ok"
    delay_s: float = 0.0
    model: str = MODEL  # the model name it answers for
    infer_calls: int = 0
    respond: Callable[[list[float]], tuple[int, Any]] | None = None  # for mode "custom"
    server: ThreadingHTTPServer | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StubNode:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None) -> None:
                data = json.dumps({} if body is None else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.rstrip("/")
                if path in ("/v2/health/live", "/v2/health/ready"):
                    self._send(200)
                elif path == f"/v2/models/{stub.model}/ready":
                    self._send(400 if stub.mode == "not_ready" else 200)
                elif path == f"/v2/models/{stub.model}":
                    self._send(
                        200,
                        {"name": stub.model, "platform": "stub", "inputs": [SPEC_IN], "outputs": [SPEC_OUT]},
                    )
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.path.rstrip("/") != f"/v2/models/{stub.model}/infer":
                    self._send(404, {"error": "not found"})
                    return
                stub.infer_calls += 1
                if stub.mode == "hang":
                    stub.stop_event.wait(30)
                    return
                if stub.mode == "error":
                    self._send(503, {"error": "overloaded"})
                    return
                if stub.mode == "bad_input":
                    self._send(400, {"error": "bad input"})
                    return
                if stub.mode == "slow":
                    time.sleep(stub.delay_s)
                header_length = self.headers.get("Inference-Header-Content-Length")
                header = json.loads(body[: int(header_length)] if header_length else body)
                tensor = header["inputs"][0]
                shape = tensor["shape"]
                if "data" in tensor:
                    values = np.array(tensor["data"], dtype=np.float32).reshape(-1).tolist()
                else:
                    raw = body[int(header_length) :] if header_length else b""
                    values = np.frombuffer(raw, dtype=np.float32).tolist()
                if stub.mode == "custom":
                    assert stub.respond is not None
                    self._send(*stub.respond(values))
                    return
                out_shape = [shape[0], 3] if stub.mode == "malformed" else shape
                data = values[: out_shape[0] * out_shape[1]]
                self._send(
                    200,
                    {
                        "model_name": MODEL,
                        "outputs": [
                            {"name": "OUTPUT_1", "datatype": "FP32", "shape": out_shape, "data": data}
                        ],
                    },
                )

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (a timeout, on purpose) is no news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
