"""Serve the demo models from a real Triton Inference Server started through nvidia-pytriton.

The tensors each model is bound with come from `marketplace.hosted_demo`, the specs the demo
listings' versions declare, so Triton's own model metadata (`GET /v2/models/{name}`) matches them
and a node registers against them.

PyTriton's Python-backend stub links the system `libpython3.11.so` unless `LD_LIBRARY_PATH` points
at the running interpreter's own library folder (an older libpython fails with
`'_thread.RLock' object has no attribute '_recursion_count'`); `triton_start` sets it in this
process's environment before Triton starts, and Triton and its stubs inherit it.
"""

from __future__ import annotations

import logging
import os
import sysconfig
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from compute.demo_models import training
from marketplace.hosted_demo import DIGITS, IDENTITY, IRIS, SENTIMENT, SERVED_MODELS, HostedDemoModel

if TYPE_CHECKING:
    from pytriton.triton import Triton

logger = logging.getLogger(__name__)

Array = NDArray[Any]
InferFunction = Callable[[Array], dict[str, Array]]

# KServe v2 datatype -> the numpy type PyTriton binds a tensor with.
NUMPY_TYPES: dict[str, type] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.bytes_,
}
MAX_BATCH_SIZE = 64


@dataclass(frozen=True)
class TritonPorts:
    http: int
    grpc: int
    metrics: int


def stub_library_path() -> str:
    """The folder holding this interpreter's libpython, which the Python-backend stub must load."""
    return str(sysconfig.get_config_var("LIBDIR") or "")


def library_path_fix(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Put the interpreter's library folder first on LD_LIBRARY_PATH (idempotent)."""
    folder = stub_library_path()
    if not folder:
        return
    current = [part for part in environ.get("LD_LIBRARY_PATH", "").split(":") if part]
    if current[:1] != [folder]:
        environ["LD_LIBRARY_PATH"] = ":".join([folder, *[part for part in current if part != folder]])


# ---------------------------------------------------------------- the inference callables


def _session(path: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # A provider shares its machine; one thread a call keeps latency steady under load.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """A skl2onnx classifier: FP32 features in (any shape after the batch axis, flattened), class
    probabilities and the predicted label out."""

    def __init__(self, path: Path) -> None:
        self._session = _session(path)
        self._lock = threading.Lock()  # one onnxruntime call at a time per instance

    def __call__(self, features: Array) -> dict[str, Array]:
        batch = np.ascontiguousarray(features.reshape(features.shape[0], -1), dtype=np.float32)
        with self._lock:
            label, probabilities = self._session.run(["label", "probabilities"], {"features": batch})
        return {
            "PROBABILITIES": np.asarray(probabilities, dtype=np.float32),
            "LABEL": np.asarray(label, dtype=np.int64).reshape(-1, 1),
        }


class SentimentScorer:
    """VADER (its lexicon ships in the package): text in, [negative, neutral, positive, compound]."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def __call__(self, text: Array) -> dict[str, Array]:
        scores = []
        for value in text.reshape(-1):
            sentence = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
            polarity = self._analyzer.polarity_scores(sentence)
            scores.append([polarity["neg"], polarity["neu"], polarity["pos"], polarity["compound"]])
        return {"SCORES": np.asarray(scores, dtype=np.float32).reshape(-1, 4)}


def _identity(values: Array) -> dict[str, Array]:
    return {"OUTPUT_1": np.asarray(values, dtype=np.float32)}


def demo_callables() -> dict[str, InferFunction]:
    """Each served model's function of its one input tensor (trains or loads the ONNX files)."""
    return {
        DIGITS.triton_name: OnnxClassifier(training.digits_onnx()),
        IRIS.triton_name: OnnxClassifier(training.iris_onnx()),
        SENTIMENT.triton_name: SentimentScorer(),
        IDENTITY.triton_name: _identity,
    }


# ---------------------------------------------------------------- binding and starting Triton


def _tensors(specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    from pytriton.model_config import Tensor

    tensors = []
    for spec in specs:
        shape = list(spec["shape"])
        if not shape or shape[0] != -1:
            raise ValueError(f"{spec['name']}: the first axis must be the batch axis (-1).")
        tensors.append(Tensor(name=spec["name"], dtype=NUMPY_TYPES[spec["datatype"]], shape=tuple(shape[1:])))
    return tensors


def _batched(model: HostedDemoModel, function: InferFunction) -> Callable[..., Any]:
    """PyTriton's callable: a list of requests in, a list of responses out; @batch stacks the
    requests' tensors into one batch and splits the outputs back."""
    from pytriton.decorators import batch

    input_name = model.inputs[0]["name"]

    def infer(**inputs: Array) -> dict[str, Array]:
        return function(inputs[input_name])

    batched: Callable[..., Any] = batch(infer)
    return batched


def demo_models_bind(triton: Triton, models: Sequence[HostedDemoModel] = SERVED_MODELS) -> None:
    """Bind the demo models on a (not yet started) PyTriton server."""
    from pytriton.model_config import ModelConfig

    callables = demo_callables()
    for model in models:
        triton.bind(
            model_name=model.triton_name,
            infer_func=_batched(model, callables[model.triton_name]),
            inputs=_tensors(model.inputs),
            outputs=_tensors(model.outputs),
            config=ModelConfig(max_batch_size=MAX_BATCH_SIZE),
            strict=True,
        )


def triton_start(
    *,
    host: str,
    ports: TritonPorts,
    models: Sequence[HostedDemoModel] = SERVED_MODELS,
    workspace: Path | None = None,
) -> Triton:
    """Start a real Triton serving the demo models on `host`'s ports; returns once every model is
    ready. Stop it with `.stop()`.

    The statistics and metadata endpoints stay open (the platform's health probe reads them); the
    model repository, shared memory, trace and logging endpoints need PyTriton's generated token,
    so nobody who can reach the node loads or unloads its models."""
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

    library_path_fix()
    config = TritonConfig(
        http_address=host,
        http_port=ports.http,
        grpc_address=host,
        grpc_port=ports.grpc,
        metrics_address=host,
        metrics_port=ports.metrics,
        allow_metrics=True,
        allow_gpu_metrics=False,
        exit_timeout_secs=5,
        log_verbose=0,
    )
    security = TritonSecurityConfig(
        restricted_endpoints=["model-repository", "shared-memory", "trace", "logging"]
    )
    triton = Triton(config=config, workspace=workspace, security_config=security)
    try:
        demo_models_bind(triton, models)
        triton.run()
    except BaseException:
        triton.stop()
        raise
    logger.info(
        "Triton serves %s on http://%s:%s", ", ".join(m.triton_name for m in models), host, ports.http
    )
    return triton
