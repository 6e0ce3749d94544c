"""R6, output validation with fuzzed answers: a node answers whatever hypothesis makes up (wrong
names, datatypes, shapes, element counts, non-finite values, odd JSON), over real HTTP through
tritonclient, and routing either delivers outputs that fit the version's spec exactly or fails the
call as the provider's failure. 0 malformed outputs are delivered."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compute.services.routing import ProviderFailed, route_infer
from compute.tensors import validate_inputs, validate_outputs
from compute.triton_client import Tensor
from tests.compute.nodes.conftest import serving
from tests.compute.stub_kserve import StubNode

pytestmark = pytest.mark.django_db

INPUTS = [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
tensors = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["OUTPUT_1", "OUTPUT_2", "", "output_1"]),
        "datatype": st.sampled_from(["FP32", "FP64", "FP16", "INT64", "INT8", "BYTES", "BOOL", "fp32", "X"]),
        "shape": st.lists(st.integers(min_value=-1, max_value=5), max_size=3),
        "data": st.one_of(st.lists(values, max_size=24), st.lists(st.lists(values, max_size=5), max_size=5)),
    }
)
answers = st.one_of(
    st.tuples(st.just(200), st.fixed_dictionaries({"outputs": st.lists(tensors, max_size=3)})),
    st.tuples(
        st.sampled_from([200, 404, 500, 503]),
        st.one_of(st.none(), st.text(max_size=5), st.lists(st.integers())),
    ),
)


def _fits(outputs: list[dict[str, Any]]) -> bool:
    (output,) = outputs
    shape = output["shape"]
    return (
        output["name"] == "OUTPUT_1"
        and output["datatype"] == "FP32"
        and len(shape) == 2
        and shape[1] == 4
        and shape[0] >= 0
        and len(output["data"]) == math.prod(shape)
        and all(isinstance(v, float) and math.isfinite(v) for v in output["data"])
    )


def test_r6_no_malformed_output_is_ever_delivered(version, stubs) -> None:
    stub = StubNode(mode="custom").start()
    stubs.append(stub)
    serving(version, stub.url)
    inputs = validate_inputs(version.input_spec, INPUTS)
    seen = {"delivered": 0, "failed": 0}

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(answer=answers)
    def one_call(answer: tuple[int, Any]) -> None:
        stub.respond = lambda _values: answer
        try:
            result = route_infer(version, inputs, deadline_s=5.0)
        except ProviderFailed:
            seen["failed"] += 1
            return
        seen["delivered"] += 1
        assert _fits(result.outputs), (answer, result.outputs)

    one_call()
    assert seen["failed"] > 0


def test_an_answer_that_fits_is_delivered_as_it_came(version, stubs) -> None:
    data = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    answer = {"outputs": [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [2, 4], "data": data}]}
    stub = StubNode(mode="custom", respond=lambda _values: (200, answer)).start()
    stubs.append(stub)
    serving(version, stub.url)
    result = route_infer(version, validate_inputs(version.input_spec, INPUTS), deadline_s=5.0)
    assert result.outputs == [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [2, 4], "data": data}]


def test_outputs_over_the_size_caps_are_the_nodes_failure() -> None:
    import numpy as np

    from compute.tensors import MAX_BYTES_ELEMENT, MAX_ELEMENTS, TensorValidationError

    spec = [{"name": "OUT", "datatype": "FP32", "shape": [-1, 1024]}]
    huge = [Tensor("OUT", "FP32", np.zeros((MAX_ELEMENTS // 1024 + 1, 1024), dtype=np.float32))]
    with pytest.raises(TensorValidationError, match="more than"):
        validate_outputs(spec, huge)
    text_spec = [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}]
    long_text = [Tensor("TEXT", "BYTES", np.array([b"x" * (MAX_BYTES_ELEMENT + 1)], dtype=np.object_))]
    with pytest.raises(TensorValidationError, match="longer than"):
        validate_outputs(text_spec, long_text)
