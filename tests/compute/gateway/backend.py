"""A stand-in for compute's router, for running the gateway end to end before the router lands.

What it replaces, and only that: `compute.services.gateway_backend.ComputeBackend` (compute's
`tensors.validate_inputs` and `routing.route_infer`). It calls a REAL Triton (the session's
PyTriton server) through tritonclient's HTTP client, one node, no retries; input validation checks
names, datatypes and element counts against the version's spec. `fail_every=n` makes every n-th
call fail as a provider failure (502) *after* it was sent, which is what the money tests need: a
call that fails costs nothing, wherever it failed. Tests that use it say so in their docstring.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import tritonclient.http as httpclient

from compute.services.gateway_backend import ProviderFailure, Routed, TensorInvalid

_NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BYTES": np.object_}


class DirectTritonBackend:
    def __init__(self, *, address: str, node_id: int, provider_id: int | None, fail_every: int = 0) -> None:
        self.client = httpclient.InferenceServerClient(url=address, concurrency=4)
        self.node_id = node_id
        self.provider_id = provider_id
        self.fail_every = fail_every
        self.calls = 0
        self.failed = 0
        self._lock = threading.Lock()

    def validate_inputs(self, version: Any, inputs: list[dict[str, Any]]) -> Any:
        spec = {tensor["name"]: tensor for tensor in version.input_spec}
        for tensor in inputs:
            name = str(tensor.get("name"))
            if name not in spec:
                raise TensorInvalid(name, f"{name} is not an input of this model ({', '.join(spec)}).")
            if tensor.get("datatype") != spec[name]["datatype"]:
                raise TensorInvalid(name, f"{name} must be {spec[name]['datatype']}.")
            shape = tensor.get("shape") or []
            if len(tensor.get("data") or []) != math.prod(shape):
                raise TensorInvalid(name, f"{name}'s data does not fill the shape {shape}.")
        return inputs

    def route(self, version: Any, inputs: Any, *, priority: bool) -> Routed:
        with self._lock:
            self.calls += 1
            failing = bool(self.fail_every) and self.calls % self.fail_every == 0
        started = time.perf_counter()
        prepared = []
        for tensor in inputs:
            item = httpclient.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
            data = np.array(tensor["data"], dtype=_NUMPY[tensor["datatype"]]).reshape(tensor["shape"])
            item.set_data_from_numpy(data, binary_data=False)
            prepared.append(item)
        outputs = [httpclient.InferRequestedOutput(t["name"], binary_data=False) for t in version.output_spec]
        result = self.client.infer(version.triton_model_name, prepared, outputs=outputs)
        if failing:
            with self._lock:
                self.failed += 1
            raise ProviderFailure("injected: the node's answer was lost", attempts=1)
        body = result.get_response()
        return Routed(
            outputs=[
                {"name": o["name"], "datatype": o["datatype"], "shape": o["shape"], "data": o["data"]}
                for o in body["outputs"]
            ],
            node_id=self.node_id,
            provider_id=self.provider_id,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=1,
        )
