"""Reads behind the playground: which version of a listing the gateway would run, how its inputs
are drawn as a form, what the listing's samples prefill, and the free runs left today."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from compute import meter_store
from compute.selectors.quota import playground_counter_name, playground_day
from marketplace.hosted_demo import SERVED_MODELS
from marketplace.models import Listing, ListingVersion
from tokenomics.selectors.parameters import parameter_get

NUMERIC_DATATYPES = frozenset(
    {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
)
# A 1-D input this small is shown as one number field per element; larger ones as JSON.
MAX_NUMBER_FIELDS = 16
# Digits-like models: one 8x8 image (a drawing pad of 64 cells, intensity 0-16).
PAD_SHAPE = (8, 8)
PAD_MAX = 16

KIND_TEXT = "text"
KIND_PAD = "pad"
KIND_NUMBERS = "numbers"
KIND_JSON = "json"


@dataclass(frozen=True)
class PlaygroundInput:
    """One input tensor as the form draws it. `value` is the prefill: the text, or a JSON array in
    the tensor's shape without the batch axis; `numbers` the flat prefill of number fields."""

    name: str
    datatype: str
    shape: tuple[int, ...]  # without the batch axis
    kind: str
    value: str = ""
    numbers: list[str] = field(default_factory=list)
    pad: list[list[int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return math.prod(self.shape) if self.shape else 1


@dataclass(frozen=True)
class PlaygroundModel:
    listing: Listing
    version: ListingVersion
    inputs: list[PlaygroundInput]
    labels: list[str]  # what each position of the first output means, when the listing says


def hosted_version(*, listing: Listing) -> ListingVersion | None:
    """The version the gateway runs when a call names none: the newest with a Triton model."""
    return (
        ListingVersion.objects.filter(listing=listing).exclude(triton_model_name="").first()
        if listing.pk
        else None
    )


def _sample_inputs(listing: Listing) -> list[str]:
    return [str(row.get("input", "")) for row in listing.sample_io or [] if isinstance(row, dict)]


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for part in value for item in _flat(part)]
    return [value]


def _number_text(value: Any) -> str:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else "0"


def _input(spec: dict[str, Any], samples: list[str]) -> PlaygroundInput:
    name = str(spec.get("name", ""))
    datatype = str(spec.get("datatype", ""))
    dims = tuple(int(d) for d in list(spec.get("shape", []))[1:])  # drop the batch axis
    if datatype == "BYTES":
        text = next((s for s in samples if _parse(s) is None or isinstance(_parse(s), str)), "")
        return PlaygroundInput(name=name, datatype=datatype, shape=dims, kind=KIND_TEXT, value=text)
    numeric = [s for s in samples if isinstance(_parse(s), list)]
    sample = numeric[0] if numeric else ""
    count = math.prod(dims) if dims and all(d > 0 for d in dims) else 0
    flat = _flat(_parse(sample)) if sample else []
    if len(flat) != count:
        flat = [0] * count
    if dims == PAD_SHAPE and datatype in NUMERIC_DATATYPES:
        cells = [min(max(int(v), 0), PAD_MAX) if isinstance(v, int | float) else 0 for v in flat]
        pad = [cells[row * 8 : row * 8 + 8] for row in range(8)]
        return PlaygroundInput(
            name=name, datatype=datatype, shape=dims, kind=KIND_PAD, value=json.dumps(pad), pad=pad
        )
    if len(dims) == 1 and 0 < count <= MAX_NUMBER_FIELDS:
        return PlaygroundInput(
            name=name,
            datatype=datatype,
            shape=dims,
            kind=KIND_NUMBERS,
            numbers=[_number_text(v) for v in flat],
        )
    return PlaygroundInput(
        name=name, datatype=datatype, shape=dims, kind=KIND_JSON, value=sample or json.dumps(flat)
    )


def _labels(version: ListingVersion) -> list[str]:
    outputs = version.output_spec or []
    first = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
    labels = first.get("labels")
    if isinstance(labels, list):
        return [str(label) for label in labels]
    # The demo models declare their class names in marketplace.hosted_demo, not in the spec.
    for model in SERVED_MODELS:
        if model.triton_name == version.triton_model_name:
            return list(model.labels)
    return []


def playground_model(*, listing: Listing) -> PlaygroundModel | None:
    """The playground of a hosted listing (None when no version of it is hosted)."""
    version = hosted_version(listing=listing)
    if version is None or not version.input_spec:
        return None
    samples = _sample_inputs(listing)
    inputs = [_input(spec, samples) for spec in version.input_spec if isinstance(spec, dict)]
    return PlaygroundModel(listing=listing, version=version, inputs=inputs, labels=_labels(version))


def playground_free_per_day() -> int:
    return int(parameter_get("playground.free_inferences_per_day"))


def playground_free_left(*, user: User, listing: Listing) -> int:
    """Free playground runs `user` has left today on `listing` (the gateway's own counter)."""
    per_day = playground_free_per_day()
    day, _ = playground_day()
    used = meter_store.counter_get(playground_counter_name(user_id=user.pk, listing_id=listing.pk, day=day))
    return max(per_day - int(used or 0), 0)
