"""The one place that speaks to Triton: tritonclient's HTTP client, pooled per node, no retries.

Nothing else in the project imports tritonclient (import-linter keeps it so); callers see our own
errors, split the way routing needs them: the node could not be reached or did not answer in time
(`TritonUnavailable`, `TritonTimeout`), it answered 5xx (`TritonServerError`) or 4xx
(`TritonInputRejected`: the input, not the node). The gateway is the only retry loop: these
clients never retry on their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

# KServe v2 datatype -> numpy dtype (BYTES are object arrays of bytes).
NUMPY_TYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}


class TritonError(Exception):
    """Anything that went wrong talking to a node."""


class TritonUnavailable(TritonError):
    """Connection refused, reset or unresolvable: the node is not there."""


class TritonTimeout(TritonError):
    """The node did not answer within the timeout."""


class TritonServerError(TritonError):
    """The node answered with a 5xx (or an unreadable answer)."""


class TritonInputRejected(TritonError):
    """The node answered 4xx: it refused the input itself."""


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str
    array: Any  # numpy array


def _host_port(url: str) -> str:
    """tritonclient wants host:port; a node URL is http(s)://host:port[/]."""
    parts = urlsplit(url)
    return parts.netloc or url


# tritonclient's HTTP client runs on gevent and is bound to the thread that first used it, so the
# pool is per thread (a threaded server such as runserver answers each request in its own thread;
# a gunicorn gthread worker has `threads` of them, config/gunicorn.conf.py).
_local = threading.local()


def _client(url: str, timeout_s: float) -> Any:
    """A pooled client per node URL and timeout (rounded to 100 ms, so the pool stays small) in this
    thread; reusing it keeps the connections open, which is most of the gateway's latency budget."""
    timeout = max(0.1, round(timeout_s, 1))
    key = (url, timeout)
    clients: dict[tuple[str, float], Any] | None = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    client = clients.get(key)
    if client is None:
        client = httpclient.InferenceServerClient(
            url=_host_port(url),
            ssl=url.startswith("https://"),
            concurrency=4,
            connection_timeout=timeout,
            network_timeout=timeout,
        )
        clients[key] = client
    return client


def _translate(exc: BaseException) -> TritonError:
    text = str(exc)
    if isinstance(exc, InferenceServerException):
        status = str(exc.status() or "")
        # 400 is Triton refusing the input itself; any other 4xx (404: the model is not loaded
        # there) is the node's misconfiguration, retried elsewhere like a 5xx.
        if status == "400":
            return TritonInputRejected(exc.message() or text)
        if "timed out" in text.lower() or "timeout" in text.lower():
            return TritonTimeout(text)
        return TritonServerError(exc.message() or text)
    lowered = text.lower()
    if isinstance(exc, TimeoutError) or "timed out" in lowered or "timeout" in lowered:
        return TritonTimeout(text or type(exc).__name__)
    if isinstance(exc, (ConnectionError, OSError)):
        return TritonUnavailable(text or type(exc).__name__)
    return TritonServerError(text or type(exc).__name__)


def server_ready(url: str, *, timeout_s: float = 2.0) -> bool:
    """GET /v2/health/ready. Raises TritonError when the node cannot be reached."""
    try:
        return bool(_client(url, timeout_s).is_server_ready())
    except Exception as exc:
        raise _translate(exc) from exc


def server_live(url: str, *, timeout_s: float = 2.0) -> bool:
    try:
        return bool(_client(url, timeout_s).is_server_live())
    except Exception as exc:
        raise _translate(exc) from exc


def model_ready(url: str, model_name: str, *, timeout_s: float = 2.0) -> bool:
    try:
        return bool(_client(url, timeout_s).is_model_ready(model_name))
    except Exception as exc:
        raise _translate(exc) from exc


def model_metadata(url: str, model_name: str, *, timeout_s: float = 2.0) -> dict[str, Any]:
    """The model's KServe v2 metadata: {"name", "inputs": [{name, datatype, shape}], "outputs"}."""
    try:
        return dict(_client(url, timeout_s).get_model_metadata(model_name))
    except Exception as exc:
        raise _translate(exc) from exc


def model_statistics(url: str, model_name: str = "", *, timeout_s: float = 2.0) -> dict[str, Any]:
    try:
        return dict(_client(url, timeout_s).get_inference_statistics(model_name))
    except Exception as exc:
        raise _translate(exc) from exc


def infer(
    url: str, model_name: str, inputs: list[Tensor], output_names: list[str], *, timeout_s: float
) -> list[Tensor]:
    """One inference, binary tensors both ways; returns the named outputs as numpy arrays."""
    try:
        prepared = []
        for tensor in inputs:
            item = httpclient.InferInput(tensor.name, list(tensor.array.shape), tensor.datatype)
            item.set_data_from_numpy(tensor.array, binary_data=True)
            prepared.append(item)
        requested = [httpclient.InferRequestedOutput(name, binary_data=True) for name in output_names]
        result = _client(url, timeout_s).infer(model_name, prepared, outputs=requested)
        response = result.get_response()
        datatypes = {o["name"]: o["datatype"] for o in response.get("outputs", [])}
        outputs = []
        for name in output_names:
            array = result.as_numpy(name)
            if array is None:
                raise TritonServerError(f"The node's answer has no output {name}.")
            outputs.append(Tensor(name=name, datatype=datatypes.get(name, ""), array=array))
        return outputs
    except TritonError:
        raise
    except Exception as exc:
        raise _translate(exc) from exc
