"""Listing, plan and version fields: the limits and the one validation of each field, shared by the
services that write them (marketplace.services.listings, plans, versions), the creator forms
(marketplace.forms) and the creator API's serializers (marketplace.api.creator), which take their
limits from here so that a form, a request and a service call refuse the same values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from marketplace.errors import ValidationFailed
from marketplace.models import Category, ListingStatus, PlanKind, Tag, TaskType
from marketplace.models.catalog import ModelSize, PlanInterval
from tokenomics.money import AGR_BASE_UNITS_PER_AGR
from tokenomics.services.stripe_rail import CARD_MAXIMUM_CENTS

# ----------------------------------------------------------------------------- limits

TITLE_MAX = 120
SUMMARY_MAX = 300
MODEL_CARD_MAX = 100_000  # characters of Markdown
LICENSE_TERMS_MAX = 20_000
MAX_TAGS = 10
TAG_MAX = 50
MAX_SAMPLES = 10
SAMPLE_TEXT_MAX = 5_000
MAX_BENCHMARKS = 30
BENCHMARK_TEXT_MAX = 80
SLUG_BASE_MAX = 120  # leaves room for "-<n>" within the column's 140
# Paths under /creator/listings/ that are pages, not listings.
RESERVED_SLUGS = frozenset({"new", "preview"})
SLUG_ATTEMPTS = 5
PLAN_POSITION_MAX = 32_767  # the column is a PositiveSmallIntegerField

PRICE_MAX_CENTS = CARD_MAXIMUM_CENTS  # a plan must be payable in one card charge
AGR_PRICE_MAX = 1_000_000_000 * AGR_BASE_UNITS_PER_AGR  # the total supply, in base units
PLAN_NAME_MAX = 60
PLAN_DESCRIPTION_MAX = 300
MONTHLY_QUOTA_MAX = 10**12  # inferences a month
RATE_LIMIT_MAX = 100_000  # calls a minute
DOWNLOAD_LIMIT_MAX = 1_000
MAX_ACTIVE_PLANS = 10

VERSION_MAX = 40  # characters: the column; VERSION_RE allows at most 29
VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
CHANGELOG_MAX = 20_000
TRITON_NAME_MAX = 120
TRITON_NAME_RE = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.\-]{{0,{TRITON_NAME_MAX - 1}}}")
TENSOR_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,63}")
# KServe v2 / Triton tensor datatypes.
KSERVE_DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
)
MAX_TENSORS = 64
MAX_DIMS = 8
DIM_MAX = 2**31 - 1

# What a creator may change with listing_update; staff-only columns are refused by name.
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "summary",
        "model_card",
        "category",
        "tags",
        "task",
        "size",
        "license_terms",
        "sample_io",
        "benchmarks",
    }
)
STAFF_FIELDS = frozenset({"status", "status_reason", "quality_tier", "published_at", "featured_until"})
PLAN_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "price_cents",
        "price_agr",
        "interval",
        "monthly_quota",
        "rate_limit_per_minute",
        "download_limit",
        "description",
        "position",
    }
)
MODERATION_STATUSES = frozenset({ListingStatus.SUSPENDED, ListingStatus.TAKEN_DOWN, ListingStatus.PUBLISHED})
# Kinds of plan that sell the model file (downloads) and kinds that sell hosted inference.
DOWNLOAD_KINDS = frozenset({PlanKind.ONE_TIME, PlanKind.SUBSCRIPTION})
HOSTED_KINDS = frozenset({PlanKind.SUBSCRIPTION, PlanKind.PER_INFERENCE})

# Service field names -> the names forms and the API use for them, so errors point at what was sent.
PLAN_FIELD_NAMES = {"price_cents": "price", "price_agr": "agr_price"}
VERSION_FIELD_NAMES = {"file": "artefact"}

Errors = dict[str, list[str]]


# ----------------------------------------------------------------------------- helpers


def errors_raise(errors: Errors, message: str = "Some fields are not valid.") -> None:
    if errors:
        raise ValidationFailed(message, detail=errors)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text_clean(errors: Errors, field: str, value: object, *, maximum: int, required: bool) -> str:
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Enter text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.setdefault(field, []).append("This field is required.")
    elif len(value) > maximum:
        errors.setdefault(field, []).append(f"Use at most {maximum:,} characters.")
    return value


def choice_clean(errors: Errors, field: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        errors.setdefault(field, []).append(f"Choose one of: {', '.join(choices)}.")
        return ""
    return value


def whole_clean(
    errors: Errors, field: str, value: object, *, minimum: int, maximum: int, optional: bool = False
) -> int | None:
    if value is None and optional:
        return None
    if not _is_int(value):
        errors.setdefault(field, []).append("Enter a whole number.")
        return None
    assert isinstance(value, int)
    if not minimum <= value <= maximum:
        errors.setdefault(field, []).append(f"Enter a whole number from {minimum:,} to {maximum:,}.")
        return None
    return value


def _entries(
    errors: Errors, field: str, value: object, *, keys: Mapping[str, bool], limit: int, text_max: int
) -> list[dict[str, str]]:
    """A list of small objects of text: `keys` maps each allowed key to whether it is required."""
    if not isinstance(value, list | tuple):
        errors.setdefault(field, []).append("Give a list.")
        return []
    if len(value) > limit:
        errors.setdefault(field, []).append(f"Give at most {limit} entries.")
        return []
    cleaned: list[dict[str, str]] = []
    for position, entry in enumerate(value, start=1):
        if not isinstance(entry, Mapping) or set(entry) - set(keys):
            errors.setdefault(field, []).append(
                f"Entry {position}: give an object with the keys {', '.join(keys)}."
            )
            continue
        row: dict[str, str] = {}
        for key, required in keys.items():
            text = entry.get(key, "")
            if not isinstance(text, str) or (required and not text.strip()) or len(text) > text_max:
                errors.setdefault(field, []).append(
                    f"Entry {position}: “{key}” must be text of at most {text_max:,} characters"
                    + (", and not blank." if required else ".")
                )
                break
            row[key] = text.strip()
        else:
            cleaned.append(row)
    return cleaned


def _tags(errors: Errors, value: object) -> list[Tag]:
    """Tags by object or by name; a name that is new becomes a tag."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        errors.setdefault("tags", []).append("Give a list of tag names.")
        return []
    items = list(value)
    if len(items) > MAX_TAGS:
        errors.setdefault("tags", []).append(f"Use at most {MAX_TAGS} tags.")
        return []
    tags: dict[int, Tag] = {}
    for item in items:
        if isinstance(item, Tag):
            tags[item.pk] = item
            continue
        name = item.strip() if isinstance(item, str) else ""
        slug = slugify(name)[:TAG_MAX]
        if not slug or len(name) > TAG_MAX:
            errors.setdefault("tags", []).append(
                f"“{item}” is not a usable tag: use letters or digits, at most {TAG_MAX} characters."
            )
            continue
        tag = Tag.objects.filter(slug=slug).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(name=name, slug=slug)
            except IntegrityError:  # created meanwhile, or the same name under another slug
                tag = Tag.objects.filter(slug=slug).first() or Tag.objects.get(name=name)
        tags[tag.pk] = tag
    return list(tags.values())


def listing_fields_clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The given listing fields validated and normalised. Raises ValidationFailed."""
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "title":
            cleaned[field] = text_clean(errors, field, value, maximum=TITLE_MAX, required=True)
        elif field == "summary":
            cleaned[field] = text_clean(errors, field, value, maximum=SUMMARY_MAX, required=True)
        elif field == "model_card":
            cleaned[field] = text_clean(errors, field, value, maximum=MODEL_CARD_MAX, required=False)
        elif field == "license_terms":
            cleaned[field] = text_clean(errors, field, value, maximum=LICENSE_TERMS_MAX, required=False)
        elif field == "category":
            if not isinstance(value, Category) or value.pk is None:
                errors.setdefault(field, []).append("Choose a category.")
            cleaned[field] = value
        elif field == "task":
            cleaned[field] = choice_clean(errors, field, value, TaskType.values)
        elif field == "size":
            cleaned[field] = choice_clean(errors, field, value, ModelSize.values)
        elif field == "tags":
            cleaned[field] = _tags(errors, value)
        elif field == "sample_io":
            cleaned[field] = _entries(
                errors,
                field,
                value,
                keys={"input": True, "output": True},
                limit=MAX_SAMPLES,
                text_max=SAMPLE_TEXT_MAX,
            )
        elif field == "benchmarks":
            cleaned[field] = _entries(
                errors,
                field,
                value,
                keys={"name": True, "score": True, "unit": False},
                limit=MAX_BENCHMARKS,
                text_max=BENCHMARK_TEXT_MAX,
            )
    errors_raise(errors, "The listing has fields that are not valid.")
    return cleaned


def plan_fields_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's fields checked together (the rules tie kind, interval, quota and download limit)."""
    errors: Errors = {}
    kind = choice_clean(errors, "kind", values["kind"], PlanKind.values)
    cleaned: dict[str, Any] = {
        "kind": kind,
        "name": text_clean(errors, "name", values["name"], maximum=PLAN_NAME_MAX, required=True),
        "description": text_clean(
            errors, "description", values["description"], maximum=PLAN_DESCRIPTION_MAX, required=False
        ),
        "price_cents": whole_clean(
            errors, "price_cents", values["price_cents"], minimum=1, maximum=PRICE_MAX_CENTS
        ),
        "price_agr": whole_clean(
            errors, "price_agr", values["price_agr"], minimum=1, maximum=AGR_PRICE_MAX, optional=True
        ),
        "rate_limit_per_minute": whole_clean(
            errors,
            "rate_limit_per_minute",
            values["rate_limit_per_minute"],
            minimum=1,
            maximum=RATE_LIMIT_MAX,
        ),
        "position": whole_clean(
            errors, "position", values.get("position", 0), minimum=0, maximum=PLAN_POSITION_MAX
        ),
    }
    interval = values["interval"] or ""
    if kind == PlanKind.SUBSCRIPTION:
        cleaned["interval"] = choice_clean(errors, "interval", interval, PlanInterval.values)
    else:
        if interval:
            errors.setdefault("interval", []).append("Only a subscription has a billing interval.")
        cleaned["interval"] = ""
    quota = values["monthly_quota"]
    if kind != PlanKind.SUBSCRIPTION and quota is not None:
        errors.setdefault("monthly_quota", []).append("Only a subscription has a monthly quota.")
    cleaned["monthly_quota"] = whole_clean(
        errors, "monthly_quota", quota, minimum=1, maximum=MONTHLY_QUOTA_MAX, optional=True
    )
    downloads = values["download_limit"]
    if kind != PlanKind.ONE_TIME and downloads is not None:
        errors.setdefault("download_limit", []).append("Only a one-time plan has a download limit.")
    cleaned["download_limit"] = whole_clean(
        errors, "download_limit", downloads, minimum=1, maximum=DOWNLOAD_LIMIT_MAX, optional=True
    )
    errors_raise(errors, "The plan has fields that are not valid.")
    return cleaned


# ----------------------------------------------------------------------------- versions


def tensor_spec_validate(*, spec: object, field: str = "spec") -> list[dict[str, Any]]:
    """A KServe v2 tensor spec, checked and normalised: a list of {"name", "datatype", "shape"}
    with unique names, a KServe datatype and a shape of whole numbers ≥ -1 (-1: any size).
    Raises ValidationFailed with the problems under `field`."""
    problems: list[str] = []
    cleaned: list[dict[str, Any]] = []
    if not isinstance(spec, list | tuple):
        problems.append(
            'Give a list of tensors, e.g. [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}].'
        )
    elif len(spec) > MAX_TENSORS:
        problems.append(f"Give at most {MAX_TENSORS} tensors.")
    else:
        names: set[str] = set()
        for position, tensor in enumerate(spec, start=1):
            where = f"Tensor {position}"
            if not isinstance(tensor, Mapping) or set(tensor) != {"name", "datatype", "shape"}:
                problems.append(f'{where}: give exactly the keys "name", "datatype" and "shape".')
                continue
            name, datatype, shape = tensor["name"], tensor["datatype"], tensor["shape"]
            if not isinstance(name, str) or not TENSOR_NAME_RE.fullmatch(name):
                problems.append(f"{where}: the name must be 1 to 64 letters, digits, or _ . : - characters.")
            elif name in names:
                problems.append(f"{where}: the name {name} is used twice.")
            else:
                names.add(name)
            if datatype not in KSERVE_DATATYPES:
                problems.append(f"{where}: the datatype must be one of {', '.join(KSERVE_DATATYPES)}.")
            if (
                not isinstance(shape, list | tuple)
                or not 1 <= len(shape) <= MAX_DIMS
                or not all(_is_int(dim) and -1 <= dim <= DIM_MAX for dim in shape)
            ):
                problems.append(
                    f"{where}: the shape must be a list of 1 to {MAX_DIMS} whole numbers, "
                    "each -1 (any size) or more."
                )
            else:
                cleaned.append({"name": name, "datatype": datatype, "shape": list(shape)})
    if problems:
        raise ValidationFailed("The tensor spec is not valid.", detail={field: problems})
    return cleaned


def version_numbers(version: object) -> tuple[int, int, int] | None:
    match = VERSION_RE.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])
