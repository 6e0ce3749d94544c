"""The models `make demo` really serves, as the catalog declares them: the Triton model name, the
KServe v2 tensor specs (names, datatypes, shapes with -1 for the batch) and the samples of each.

Pure data, no Django: `load_demo_catalog` writes these specs onto the demo listings' versions, and
the local provider (compute.demo_models, `manage.py run_provider`) binds its Triton models with the
same tensors, so a node registers against exactly what the listing declares (compute sits above
marketplace and reads them from here).

A sample's `input` is what the playground prefills: the text itself for a BYTES text input, a JSON
array of numbers (in the input tensor's shape without the batch axis) for a numeric one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TensorSpec = dict[str, Any]  # {"name": "TEXT", "datatype": "BYTES", "shape": [-1, 1]}


@dataclass(frozen=True)
class HostedDemoModel:
    triton_name: str
    title: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    labels: tuple[str, ...]  # what each position of the first output means
    samples: tuple[tuple[str, str], ...]  # (input, output) as the listing page shows them

    @property
    def input_spec(self) -> list[TensorSpec]:
        return [dict(tensor, shape=list(tensor["shape"])) for tensor in self.inputs]

    @property
    def output_spec(self) -> list[TensorSpec]:
        return [dict(tensor, shape=list(tensor["shape"])) for tensor in self.outputs]


# scikit-learn's bundled digits dataset, first image (a zero); pixel intensities 0-16, 8 rows of 8.
DIGIT_ZERO = (
    (0, 0, 5, 13, 9, 1, 0, 0),
    (0, 0, 13, 15, 10, 15, 5, 0),
    (0, 3, 15, 2, 0, 11, 8, 0),
    (0, 4, 12, 0, 0, 8, 8, 0),
    (0, 5, 8, 0, 0, 9, 8, 0),
    (0, 4, 11, 0, 1, 12, 7, 0),
    (0, 2, 14, 5, 10, 12, 0, 0),
    (0, 0, 6, 13, 10, 0, 0, 0),
)

DIGITS = HostedDemoModel(
    triton_name="agora_digits",
    title="Pixel Digits 8x8",
    inputs=({"name": "IMAGE", "datatype": "FP32", "shape": (-1, 8, 8)},),
    outputs=(
        {"name": "PROBABILITIES", "datatype": "FP32", "shape": (-1, 10)},
        {"name": "LABEL", "datatype": "INT64", "shape": (-1, 1)},
    ),
    labels=tuple(str(digit) for digit in range(10)),
    samples=((json.dumps([list(row) for row in DIGIT_ZERO]), "LABEL 0 (PROBABILITIES[0] ≈ 0.99)"),),
)

IRIS = HostedDemoModel(
    triton_name="agora_iris",
    title="Iris Species Classifier",
    inputs=({"name": "FEATURES", "datatype": "FP32", "shape": (-1, 4)},),
    outputs=(
        {"name": "PROBABILITIES", "datatype": "FP32", "shape": (-1, 3)},
        {"name": "LABEL", "datatype": "INT64", "shape": (-1, 1)},
    ),
    # Features: sepal length, sepal width, petal length, petal width (cm).
    labels=("setosa", "versicolor", "virginica"),
    samples=(("[5.1, 3.5, 1.4, 0.2]", "LABEL 0: setosa"), ("[6.7, 3.0, 5.2, 2.3]", "LABEL 2: virginica")),
)

SENTIMENT = HostedDemoModel(
    triton_name="agora_sentiment",
    title="VADER Sentiment Scorer",
    inputs=({"name": "TEXT", "datatype": "BYTES", "shape": (-1, 1)},),
    outputs=({"name": "SCORES", "datatype": "FP32", "shape": (-1, 4)},),
    labels=("negative", "neutral", "positive", "compound"),
    samples=(
        ("The delivery was fast and the support team was wonderful!", "positive, compound ≈ 0.8"),
        ("The box arrived broken and nobody answered my emails.", "negative, compound ≈ -0.6"),
    ),
)

# The stand-in every other hosted demo listing declares: FP32 in, the same FP32 back.
IDENTITY = HostedDemoModel(
    triton_name="identity_fp32",
    title="Identity (FP32)",
    inputs=({"name": "INPUT_1", "datatype": "FP32", "shape": (-1, 4)},),
    outputs=({"name": "OUTPUT_1", "datatype": "FP32", "shape": (-1, 4)},),
    labels=(),
    samples=(("[0.1, 0.2, 0.3, 0.4]", "[0.1, 0.2, 0.3, 0.4]"),),
)

# The real models first; each has its own listing in the demo catalog.
REAL_MODELS: tuple[HostedDemoModel, ...] = (DIGITS, IRIS, SENTIMENT)
SERVED_MODELS: tuple[HostedDemoModel, ...] = (*REAL_MODELS, IDENTITY)
