"""Train the demo classifiers from scikit-learn's bundled datasets and export them to ONNX.

Training takes about a second; the ONNX files are cached under `.demo/models/` (or
`$AGORA_DEMO_DIR/models`), named by a digest of what produced them (the recipe and the library
versions), so a second start loads them and an upgrade retrains. Files are written to a temporary
name and renamed, so two providers starting at once never read half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Bump when a recipe changes, so cached files are retrained.
RECIPE_VERSION = "1"
# The held-out part of each dataset (tests check the served model on it); the rest trains.
TEST_SIZE = 0.2
SPLIT_SEED = 0


def models_dir() -> Path:
    root = Path(os.environ.get("AGORA_DEMO_DIR") or BASE_DIR / ".demo")
    path = root / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Split:
    train_x: NDArray[Any]
    train_y: NDArray[Any]
    test_x: NDArray[Any]
    test_y: NDArray[Any]


def _split(data: Any) -> Split:
    from sklearn.model_selection import train_test_split

    x = np.asarray(data.data, dtype=np.float32)
    y = np.asarray(data.target, dtype=np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    return Split(train_x, train_y, test_x, test_y)


def digits_split() -> Split:
    """scikit-learn's 8x8 digits (1,797 images, pixel values 0-16), flattened to 64 features."""
    from sklearn.datasets import load_digits

    return _split(load_digits())


def iris_split() -> Split:
    """Fisher's iris: sepal length, sepal width, petal length, petal width (cm) -> 3 species."""
    from sklearn.datasets import load_iris

    return _split(load_iris())


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000, random_state=SPLIT_SEED))


def _export(model: Any, features: int) -> bytes:
    """ONNX with one FP32 input `features` [N, features] and two outputs: `label` INT64 [N] and
    `probabilities` FP32 [N, classes] (no ZipMap, so probabilities stay a tensor)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    onnx_model = to_onnx(
        model,
        initial_types=[("features", _float_tensor_type(features))],
        options={LogisticRegression: {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return bytes(onnx_model.SerializeToString())


def _float_tensor_type(features: int) -> Any:
    from skl2onnx.common.data_types import FloatTensorType

    return FloatTensorType([None, features])


def _digest(name: str) -> str:
    import onnxruntime
    import skl2onnx
    import sklearn

    recipe = f"{name}:{RECIPE_VERSION}:{sklearn.__version__}:{skl2onnx.__version__}:{onnxruntime.__version__}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _cached(name: str, build: Callable[[], bytes]) -> Path:
    path = models_dir() / f"{name}-{_digest(name)}.onnx"
    if path.exists():
        return path
    content = build()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    os.replace(temporary, path)
    return path


def digits_onnx() -> Path:
    """The digits classifier's ONNX file (trained now unless cached)."""

    def build() -> bytes:
        split = digits_split()
        return _export(_classifier().fit(split.train_x, split.train_y), features=64)

    return _cached("digits", build)


def iris_onnx() -> Path:
    """The iris classifier's ONNX file (trained now unless cached)."""

    def build() -> bytes:
        split = iris_split()
        return _export(_classifier().fit(split.train_x, split.train_y), features=4)

    return _cached("iris", build)
