"""The demo models answer correctly through a real Triton (nvidia-pytriton), with the tensors the
demo listings declare."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as httpclient

from compute.demo_models import training
from compute.demo_models.serving import MAX_BATCH_SIZE, library_path_fix, stub_library_path
from marketplace.hosted_demo import DIGIT_ZERO, DIGITS, IDENTITY, IRIS, SENTIMENT, SERVED_MODELS
from tests.compute.pytriton_server import PyTritonServer, model_metadata


def _client(server: PyTritonServer) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(server.http_address, network_timeout=30.0)


def _infer(
    server: PyTritonServer, model: str, name: str, array: np.ndarray, datatype: str
) -> httpclient.InferResult:
    tensor = httpclient.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=False)
    return _client(server).infer(model, [tensor])


@pytest.mark.parametrize("model", SERVED_MODELS, ids=lambda model: model.triton_name)
def test_triton_metadata_is_the_declared_spec(pytriton_server: PyTritonServer, model) -> None:
    metadata = model_metadata(pytriton_server, model.triton_name)

    assert metadata["inputs"] == model.input_spec
    assert metadata["outputs"] == model.output_spec


def test_digits_model_reads_held_out_digits(pytriton_server: PyTritonServer) -> None:
    split = training.digits_split()
    images = split.test_x.reshape(-1, 8, 8)

    results = [
        _infer(pytriton_server, DIGITS.triton_name, "IMAGE", images[start : start + MAX_BATCH_SIZE], "FP32")
        for start in range(0, len(images), MAX_BATCH_SIZE)
    ]
    labels = np.concatenate([result.as_numpy("LABEL") for result in results]).reshape(-1)
    probabilities = np.concatenate([result.as_numpy("PROBABILITIES") for result in results])

    assert probabilities.shape == (len(images), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert (probabilities.argmax(axis=1) == labels).all()
    # Images the model never saw in training: a logistic regression reads ~96% of them right.
    assert (labels == split.test_y).mean() >= 0.93


def test_digits_sample_of_the_listing_is_a_zero(pytriton_server: PyTritonServer) -> None:
    result = _infer(
        pytriton_server, DIGITS.triton_name, "IMAGE", np.asarray([DIGIT_ZERO], np.float32), "FP32"
    )

    assert result.as_numpy("LABEL").tolist() == [[0]]
    assert result.as_numpy("PROBABILITIES")[0].argmax() == 0


def test_iris_model_reads_held_out_flowers(pytriton_server: PyTritonServer) -> None:
    split = training.iris_split()

    result = _infer(pytriton_server, IRIS.triton_name, "FEATURES", split.test_x, "FP32")

    assert (result.as_numpy("LABEL").reshape(-1) == split.test_y).mean() >= 0.9


def test_sentiment_model_scores_text(pytriton_server: PyTritonServer) -> None:
    texts = np.asarray(
        [[SENTIMENT.samples[0][0].encode()], [SENTIMENT.samples[1][0].encode()]], dtype=np.object_
    )

    scores = _infer(pytriton_server, SENTIMENT.triton_name, "TEXT", texts, "BYTES").as_numpy("SCORES")

    assert scores.shape == (2, 4)
    happy, unhappy = scores
    assert happy[3] > 0.5  # compound
    assert unhappy[3] < -0.3
    assert happy[2] > happy[0]  # more positive than negative
    assert unhappy[0] > unhappy[2]


def test_identity_model_echoes(pytriton_server: PyTritonServer) -> None:
    values = np.asarray([[0.1, 0.2, 0.3, 0.4]], dtype=np.float32)

    result = _infer(pytriton_server, IDENTITY.triton_name, "INPUT_1", values, "FP32")

    np.testing.assert_array_equal(result.as_numpy("OUTPUT_1"), values)


def test_onnx_files_are_cached_between_starts() -> None:
    first = training.digits_onnx()
    modified = first.stat().st_mtime_ns

    assert training.digits_onnx() == first
    assert first.stat().st_mtime_ns == modified


def test_library_path_fix_puts_the_interpreters_libdir_first_once() -> None:
    environ = {"LD_LIBRARY_PATH": "/opt/other"}

    library_path_fix(environ)
    library_path_fix(environ)

    assert environ["LD_LIBRARY_PATH"] == f"{stub_library_path()}:/opt/other"
