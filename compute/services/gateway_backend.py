"""The gateway's one seam to compute's routing and tensor validation.

The gateway (`compute.services.gateway_impl`) reaches input validation, the router and the node
registry only through `gateway_backend()`, so the names it depends on live in one place:
`compute.tensors` (`validate_inputs`, `TensorValidationError` naming the tensor) and
`compute.services.routing` (`route_infer(version, inputs, *, deadline_s, priority)` returning
`outputs, node_id, latency_ms, attempts`, raising `NoProviderAvailable` / `ProviderFailed`,
and the end-to-end `deadline_seconds()`), as the compute work announced them. Tests that run the
gateway before or without that router put another backend in with `gateway_backend_set` (and say
so); production code never does.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any, Protocol


class TensorInvalid(Exception):
    """An input that does not fit the version's tensor spec (`tensor` names it)."""

    def __init__(self, tensor: str, message: str) -> None:
        super().__init__(message)
        self.tensor = tensor
        self.message = message


class NoProvider(Exception):
    """No healthy node serves the version (503, nothing charged)."""


class ProviderFailure(Exception):
    """Every attempt failed (502, nothing charged)."""

    def __init__(self, message: str = "", *, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class Routed:
    outputs: list[dict[str, Any]]
    node_id: int
    provider_id: int | None
    latency_ms: float
    attempts: int


class GatewayBackend(Protocol):
    def validate_inputs(self, version: Any, inputs: list[dict[str, Any]]) -> Any:
        """Raise TensorInvalid; return what `route` takes."""

    def route(self, version: Any, inputs: Any, *, priority: bool) -> Routed:
        """Raise NoProvider or ProviderFailure; never for an input error."""


class ComputeBackend:
    """compute's own validation and router (imported by name on first use: they are compute's).
    A node's provider is cached for a minute (the hot path reads no row it can avoid)."""

    def __init__(self) -> None:
        self._providers: dict[int, tuple[float, int | None]] = {}

    def _provider_of(self, node_id: int) -> int | None:
        node_model = importlib.import_module("compute.models").Node
        now = time.monotonic()
        cached = self._providers.get(node_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = node_model.objects.filter(pk=node_id).values_list("provider_id", flat=True).first()
        provider_id = None if found is None else int(found)
        self._providers[node_id] = (now + 60.0, provider_id)
        return provider_id

    def validate_inputs(self, version: Any, inputs: list[dict[str, Any]]) -> Any:
        tensors = importlib.import_module("compute.tensors")

        try:
            return tensors.validate_inputs(version.input_spec, inputs)
        except tensors.TensorValidationError as exc:
            raise TensorInvalid(str(exc.tensor), str(exc.message)) from exc

    def route(self, version: Any, inputs: Any, *, priority: bool) -> Routed:
        routing = importlib.import_module("compute.services.routing")

        try:
            routed = routing.route_infer(
                version, inputs, deadline_s=routing.deadline_seconds(), priority=priority
            )
        except routing.NoProviderAvailable as exc:
            raise NoProvider(str(exc)) from exc
        except routing.ProviderFailed as exc:
            raise ProviderFailure(str(exc), attempts=int(getattr(exc, "attempts", 0) or 0)) from exc
        return Routed(
            outputs=routed.outputs,
            node_id=int(routed.node_id),
            provider_id=self._provider_of(int(routed.node_id)),
            latency_ms=float(routed.latency_ms),
            attempts=int(routed.attempts),
        )


_backend: list[GatewayBackend] = [ComputeBackend()]


def gateway_backend() -> GatewayBackend:
    return _backend[0]


def gateway_backend_set(backend: GatewayBackend) -> GatewayBackend:
    """Use `backend` (tests); returns the one it replaced, to put back."""
    previous = _backend[0]
    _backend[0] = backend
    return previous
