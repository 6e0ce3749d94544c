"""KServe v2 tensor validation against a version's spec (inputs, outputs, served metadata)."""

from __future__ import annotations

import numpy as np
import pytest

from compute.tensors import TensorValidationError, spec_problems, validate_inputs, validate_outputs
from compute.triton_client import Tensor

SPEC = [
    {"name": "IMAGE", "datatype": "FP32", "shape": [-1, 64]},
    {"name": "TEXT", "datatype": "BYTES", "shape": [-1, 1]},
]


def _inputs(**changes: object) -> list[dict[str, object]]:
    image = {"name": "IMAGE", "datatype": "FP32", "shape": [1, 64], "data": [0.5] * 64}
    text = {"name": "TEXT", "datatype": "BYTES", "shape": [1, 1], "data": ["hello"]}
    image.update(changes)
    return [image, text]


def test_valid_inputs_become_numpy_tensors_in_spec_order() -> None:
    tensors = validate_inputs(SPEC, list(reversed(_inputs())))
    assert [t.name for t in tensors] == ["IMAGE", "TEXT"]
    assert tensors[0].array.dtype == np.float32
    assert tensors[0].array.shape == (1, 64)
    assert tensors[1].array.tolist() == [[b"hello"]]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"datatype": "INT64"}, "datatype"),
        ({"shape": [1, 63], "data": [0.5] * 63}, "shape"),
        ({"shape": [1, 64], "data": [0.5] * 63}, "values do not fill"),
        ({"data": ["x"] * 64}, "FP32"),
        ({"shape": [1, -1]}, "whole numbers"),
        ({"name": "OTHER"}, "not an input"),
    ],
)
def test_each_bad_input_is_refused_naming_the_tensor(changes: dict[str, object], why: str) -> None:
    with pytest.raises(TensorValidationError) as excinfo:
        validate_inputs(SPEC, _inputs(**changes))
    assert excinfo.value.tensor in ("IMAGE", "OTHER")
    assert why in excinfo.value.message


def test_a_missing_input_and_the_size_cap() -> None:
    with pytest.raises(TensorValidationError, match="missing"):
        validate_inputs(SPEC, _inputs()[:1])
    huge = _inputs(shape=[100_000, 64], data=[0.0])
    with pytest.raises(TensorValidationError, match="more than"):
        validate_inputs(SPEC, huge)


def test_outputs_are_checked_like_inputs() -> None:
    spec = [{"name": "PROBS", "datatype": "FP32", "shape": [-1, 10]}]
    good = [Tensor("PROBS", "FP32", np.full((2, 10), 0.1, dtype=np.float32))]
    assert validate_outputs(spec, good)[0]["shape"] == [2, 10]
    for bad in (
        [Tensor("PROBS", "FP32", np.zeros((2, 9), dtype=np.float32))],
        [Tensor("OTHER", "FP32", np.zeros((2, 10), dtype=np.float32))],
        [Tensor("PROBS", "FP32", np.full((1, 10), np.nan, dtype=np.float32))],
        [Tensor("PROBS", "INT64", np.zeros((1, 10), dtype=np.int64))],
    ):
        with pytest.raises(TensorValidationError):
            validate_outputs(spec, bad)


def test_served_metadata_differences_are_named() -> None:
    served = [
        {"name": "IMAGE", "datatype": "FP16", "shape": [-1, 64]},
        {"name": "EXTRA", "datatype": "FP32", "shape": [1]},
    ]
    problems = spec_problems(SPEC, served, side="input")
    assert "input IMAGE is FP16, the listing says FP32" in problems
    assert "input TEXT is not served" in problems
    assert "input EXTRA is served but not in the listing" in problems
    assert spec_problems(SPEC, SPEC, side="input") == []
