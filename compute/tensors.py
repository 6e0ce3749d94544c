"""KServe v2 tensors checked against a listing version's tensor spec, both ways.

A spec is the version's `input_spec` / `output_spec`: [{"name", "datatype", "shape"}] with -1 for a
dimension of any size (the batch). The gateway validates a buyer's inputs before any node is called
(400 validation_error naming the tensor); routing validates a node's outputs the same way, and an
output that does not fit is the node's failure (retried elsewhere), never passed on to the buyer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from compute.triton_client import NUMPY_TYPES, Tensor

# Elements a single call may carry in all its inputs together (4 Mi: a batch of 4 images of
# 512x512x4 FP32, or 4 Mi tokens), and the bytes of one BYTES element. Larger work goes to batch jobs.
MAX_ELEMENTS = 4 * 1024 * 1024
MAX_BYTES_ELEMENT = 1024 * 1024


class TensorValidationError(Exception):
    def __init__(self, tensor: str, message: str) -> None:
        super().__init__(f"{tensor}: {message}")
        self.tensor = tensor
        self.message = message


def _shape_fits(shape: Sequence[int], spec_shape: Sequence[int]) -> bool:
    return len(shape) == len(spec_shape) and all(
        want == -1 or want == got for got, want in zip(shape, spec_shape, strict=True)
    )


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list) and data and isinstance(data[0], list):
        return [item for part in data for item in _flatten(part)]
    return list(data) if isinstance(data, list) else [data]


def _array(name: str, datatype: str, shape: list[int], data: list[Any]) -> Any:
    if datatype == "BYTES":
        values = []
        for item in data:
            if isinstance(item, str):
                item = item.encode()
            if not isinstance(item, bytes):
                raise TensorValidationError(name, "BYTES elements are strings.")
            if len(item) > MAX_BYTES_ELEMENT:
                raise TensorValidationError(name, f"An element is longer than {MAX_BYTES_ELEMENT} bytes.")
            values.append(item)
        return np.array(values, dtype=np.object_).reshape(shape)
    try:
        if datatype == "BOOL":
            if not all(isinstance(item, bool) for item in data):
                raise TypeError
        elif datatype.startswith(("INT", "UINT")):
            if not all(isinstance(item, int) and not isinstance(item, bool) for item in data):
                raise TypeError
        elif not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in data):
            raise TypeError
        array = np.array(data, dtype=NUMPY_TYPES[datatype])
        if datatype.startswith(("INT", "UINT")) and not np.array_equal(
            array.astype(object), np.array(data, dtype=object)
        ):
            raise TensorValidationError(name, f"A value does not fit {datatype}.")
        return array.reshape(shape)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TensorValidationError(name, f"The data are not all {datatype} values.") from exc


def validate_inputs(spec: Sequence[dict[str, Any]], inputs: Any) -> list[Tensor]:
    """The buyer's KServe v2 `inputs` as numpy tensors, in spec order. Raises TensorValidationError
    naming the first tensor that is missing, unexpected, of another datatype or shape, whose data
    do not fill its shape, or that goes over the size caps."""
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise TensorValidationError("inputs", "inputs is a list of tensors {name, datatype, shape, data}.")
    by_name: dict[str, dict[str, Any]] = {}
    for item in inputs:
        name = str(item.get("name", ""))
        if name in by_name:
            raise TensorValidationError(name, "This input is given twice.")
        by_name[name] = item
    expected = {str(t["name"]) for t in spec}
    for name in by_name:
        if name not in expected:
            raise TensorValidationError(
                name, f"{name} is not an input of this model ({', '.join(sorted(expected))})."
            )
    tensors: list[Tensor] = []
    total = 0
    for want in spec:
        name = str(want["name"])
        item = by_name.get(name)
        if item is None:
            raise TensorValidationError(name, "This input is missing.")
        datatype = item.get("datatype")
        if datatype != want["datatype"]:
            raise TensorValidationError(name, f"The datatype is {want['datatype']}, not {datatype}.")
        shape = item.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise TensorValidationError(name, "shape is a list of whole numbers.")
        if not _shape_fits(shape, want["shape"]):
            raise TensorValidationError(name, f"The shape {shape} does not fit {list(want['shape'])}.")
        count = math.prod(shape)
        total += count
        if total > MAX_ELEMENTS:
            raise TensorValidationError(name, f"The inputs carry more than {MAX_ELEMENTS:,} elements.")
        data = _flatten(item.get("data", []))
        if len(data) != count:
            raise TensorValidationError(name, f"{len(data)} values do not fill the shape {shape} ({count}).")
        tensors.append(
            Tensor(name=name, datatype=str(datatype), array=_array(name, str(datatype), shape, data))
        )
    return tensors


def validate_outputs(spec: Sequence[dict[str, Any]], outputs: Sequence[Tensor]) -> list[dict[str, Any]]:
    """A node's outputs as KServe v2 JSON, after checking names, datatypes, shapes and the size caps
    against the spec. Raises TensorValidationError (a malformed answer: the node's failure)."""
    by_name = {tensor.name: tensor for tensor in outputs}
    result = []
    total = 0
    for want in spec:
        name = str(want["name"])
        tensor = by_name.get(name)
        if tensor is None:
            raise TensorValidationError(name, "The node's answer lacks this output.")
        if tensor.datatype and tensor.datatype != want["datatype"]:
            raise TensorValidationError(name, f"The node answered {tensor.datatype}, not {want['datatype']}.")
        shape = [int(d) for d in tensor.array.shape]
        if not _shape_fits(shape, want["shape"]):
            raise TensorValidationError(name, f"The node answered shape {shape}, not {list(want['shape'])}.")
        array = tensor.array
        total += int(array.size)
        if total > MAX_ELEMENTS:  # the same size caps as the inputs': a flood is a malformed answer
            raise TensorValidationError(name, f"The node answered more than {MAX_ELEMENTS:,} elements.")
        if want["datatype"] == "BYTES":
            if any(len(v) > MAX_BYTES_ELEMENT for v in array.reshape(-1) if isinstance(v, (bytes, str))):
                raise TensorValidationError(name, f"An element is longer than {MAX_BYTES_ELEMENT} bytes.")
            data = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array.reshape(-1)
            ]
        else:
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                raise TensorValidationError(name, "The node answered values that are not finite.")
            data = array.reshape(-1).tolist()
        result.append({"name": name, "datatype": want["datatype"], "shape": shape, "data": data})
    return result


def spec_problems(
    spec: Sequence[dict[str, Any]], served: Sequence[dict[str, Any]], *, side: str
) -> list[str]:
    """How a served model's metadata tensors (`inputs` or `outputs`) differ from the version's spec,
    in words; empty when they agree (names, datatypes, shapes, -1 matching -1)."""
    problems = []
    served_by_name = {str(t.get("name")): t for t in served}
    for want in spec:
        name = str(want["name"])
        got = served_by_name.pop(name, None)
        if got is None:
            problems.append(f"{side} {name} is not served")
            continue
        if got.get("datatype") != want["datatype"]:
            problems.append(f"{side} {name} is {got.get('datatype')}, the listing says {want['datatype']}")
        if [int(d) for d in got.get("shape", [])] != [int(d) for d in want["shape"]]:
            problems.append(f"{side} {name} has shape {got.get('shape')}, the listing says {want['shape']}")
    problems.extend(f"{side} {name} is served but not in the listing" for name in served_by_name)
    return problems
