"""Writes of listings by their creators and by staff: create and edit, versions (artefacts stored
encrypted), plans, publishing, moderation and quality tiers.

Who may do what:
- only a listing's creator edits it, uploads versions, manages plans and publishes or unpublishes
  it; anyone else gets PermissionDenied for a published listing and NotFound for any other, so an
  unpublished listing's existence is not revealed (marketplace.selectors.creator);
- staff suspend, take down and restore listings and set the quality tier (Verified and above are
  staff-only; a creator may set Community); staff fields are never accepted from a creator.

Every write runs in one transaction that locks the listing's row, and ends by recomputing the
listing's denormalised pricing columns and its search vector, so search and filters never see a
plan change without its effect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from marketplace.artefacts import artefact_delete, artefact_upload_problems, encrypt_to_storage
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.markdown import render_model_card
from marketplace.models import (
    Category,
    FeaturedPlacement,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanKind,
    QualityTier,
    Tag,
    TaskType,
)
from marketplace.models.catalog import ModelSize, PlanInterval, price_unit
from marketplace.selectors.creator import listing_creator_check
from marketplace.services.notifications import listing_moderated_notify
from marketplace.services.search import listing_search_index
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

PRICE_MAX_CENTS = CARD_MAXIMUM_CENTS  # a plan must be payable in one card charge
AGR_PRICE_MAX = 1_000_000_000 * AGR_BASE_UNITS_PER_AGR  # the total supply, in base units
PLAN_NAME_MAX = 60
PLAN_DESCRIPTION_MAX = 300
MONTHLY_QUOTA_MAX = 10**12  # inferences a month
RATE_LIMIT_MAX = 100_000  # calls a minute
DOWNLOAD_LIMIT_MAX = 1_000
MAX_ACTIVE_PLANS = 10

VERSION_RE = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
CHANGELOG_MAX = 20_000
TRITON_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,119}")
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

Errors = dict[str, list[str]]


# ----------------------------------------------------------------------------- helpers


def _fail(errors: Errors, message: str = "Some fields are not valid.") -> None:
    if errors:
        raise ValidationFailed(message, detail=errors)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(errors: Errors, field: str, value: object, *, maximum: int, required: bool) -> str:
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Enter text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.setdefault(field, []).append("This field is required.")
    elif len(value) > maximum:
        errors.setdefault(field, []).append(f"Use at most {maximum:,} characters.")
    return value


def _choice(errors: Errors, field: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        errors.setdefault(field, []).append(f"Choose one of: {', '.join(choices)}.")
        return ""
    return value


def _whole(
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


def _clean_listing_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The given listing fields validated and normalised. Raises ValidationFailed."""
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "title":
            cleaned[field] = _text(errors, field, value, maximum=TITLE_MAX, required=True)
        elif field == "summary":
            cleaned[field] = _text(errors, field, value, maximum=SUMMARY_MAX, required=True)
        elif field == "model_card":
            cleaned[field] = _text(errors, field, value, maximum=MODEL_CARD_MAX, required=False)
        elif field == "license_terms":
            cleaned[field] = _text(errors, field, value, maximum=LICENSE_TERMS_MAX, required=False)
        elif field == "category":
            if not isinstance(value, Category) or value.pk is None:
                errors.setdefault(field, []).append("Choose a category.")
            cleaned[field] = value
        elif field == "task":
            cleaned[field] = _choice(errors, field, value, TaskType.values)
        elif field == "size":
            cleaned[field] = _choice(errors, field, value, ModelSize.values)
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
    _fail(errors, "The listing has fields that are not valid.")
    return cleaned


def _free_slug(title: str) -> str:
    base = slugify(title)[:SLUG_BASE_MAX].strip("-") or "model"
    if base in RESERVED_SLUGS:
        base = f"{base}-model"
    taken = set(Listing.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def _lock(listing: Listing) -> Listing:
    """The listing's row, locked until the end of the transaction (a no-op lock on SQLite)."""
    return Listing.objects.select_for_update().select_related("category").get(pk=listing.pk)


def _not_taken_down(listing: Listing) -> None:
    if listing.status == ListingStatus.TAKEN_DOWN:
        raise InvalidState(
            "This listing was taken down by staff and cannot be changed.",
            detail={"status": listing.status, "reason": listing.status_reason},
        )


def _after_write(listing_id: int) -> None:
    listing_pricing_refresh(listing_id=listing_id)
    listing_search_index(listing_id=listing_id)


def listing_pricing_refresh(*, listing_id: int) -> None:
    """Recompute the listing's cheapest price and its unit, pricing kinds and AGR flag from its
    active plans.

    Every plan is payable in AGR (its USD price at the reference rate),
    so `accepts_agr` is whether there is anything to buy. Side effects: one UPDATE of the listing."""
    plans = Plan.objects.filter(listing_id=listing_id, is_active=True)
    kinds = set(plans.values_list("kind", flat=True).distinct())
    cheapest = plans.order_by("price_cents", "position", "pk").values("kind", "interval").first()
    Listing.objects.filter(pk=listing_id).update(
        min_price_cents=plans.aggregate(cheapest=Min("price_cents"))["cheapest"],
        min_price_unit=price_unit(kind=cheapest["kind"], interval=cheapest["interval"]) if cheapest else "",
        has_one_time=PlanKind.ONE_TIME in kinds,
        has_subscription=PlanKind.SUBSCRIPTION in kinds,
        has_per_inference=PlanKind.PER_INFERENCE in kinds,
        accepts_agr=bool(kinds),
    )


def _reloaded(listing_id: int) -> Listing:
    return Listing.objects.select_related("category", "creator").get(pk=listing_id)


# ----------------------------------------------------------------------------- listings


def listing_create(
    *,
    creator: User,
    title: str,
    summary: str,
    category: Category,
    model_card: str = "",
    tags: Iterable[Tag | str] = (),
    task: str,
    size: str,
    license_terms: str = "",
    sample_io: Sequence[Mapping[str, str]] = (),
    benchmarks: Sequence[Mapping[str, str]] = (),
) -> Listing:
    """Create a draft listing with a unique slug from its title and the model card rendered.
    Side effects: may create new tags; indexes the listing for search. Raises ValidationFailed."""
    fields = _clean_listing_fields(
        {
            "title": title,
            "summary": summary,
            "category": category,
            "model_card": model_card,
            "tags": tags,
            "task": task,
            "size": size,
            "license_terms": license_terms,
            "sample_io": list(sample_io),
            "benchmarks": list(benchmarks),
        }
    )
    chosen_tags = fields.pop("tags")
    for attempt in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():
                listing = Listing.objects.create(
                    creator=creator,
                    slug=_free_slug(fields["title"]),
                    model_card_html=render_model_card(fields["model_card"]),
                    status=ListingStatus.DRAFT,
                    quality_tier=QualityTier.COMMUNITY,
                    **fields,
                )
                listing.tags.set(chosen_tags)
                _after_write(listing.pk)
        except IntegrityError:
            # Another listing took the same slug between the check and the insert: pick again.
            if attempt == SLUG_ATTEMPTS - 1:
                raise
            continue
        return _reloaded(listing.pk)
    raise AssertionError("unreachable")  # pragma: no cover


def listing_update(*, listing: Listing, actor: User, **fields: Any) -> Listing:
    """Change the given fields of the creator's listing (title, summary, model_card, category,
    tags, task, size, license_terms, sample_io, benchmarks); the slug stays. Side effects:
    re-renders the model card, may create tags, re-indexes. Raises NotFound/PermissionDenied (not
    the creator), PermissionDenied (a staff field), ValidationFailed, InvalidState (taken down)."""
    listing_creator_check(listing=listing, user=actor)
    staff = sorted(set(fields) & STAFF_FIELDS)
    if staff:
        raise PermissionDenied(
            f"Only staff can change {', '.join(staff)}.",
            detail={field: ["Only staff can change this."] for field in staff},
        )
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    _fail({field: ["This field cannot be changed."] for field in unknown})
    cleaned = _clean_listing_fields(fields)
    with transaction.atomic():
        locked = _lock(listing)
        _not_taken_down(locked)
        chosen_tags = cleaned.pop("tags", None)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        if "model_card" in cleaned:
            locked.model_card_html = render_model_card(locked.model_card)
        locked.save()
        if chosen_tags is not None:
            locked.tags.set(chosen_tags)
        _after_write(locked.pk)
    return _reloaded(locked.pk)


def listing_publish_problems(*, listing: Listing) -> list[str]:
    """What stops `listing` from being published, in words; empty when nothing does."""
    kinds = set(listing.plans.filter(is_active=True).values_list("kind", flat=True))
    if not kinds:
        return ["Add at least one active plan, so that buyers have something to buy."]
    problems = []
    versions = ListingVersion.objects.filter(listing=listing)
    if kinds & DOWNLOAD_KINDS and not versions.exclude(artefact="").exists():
        problems.append("A one-time or subscription plan needs a version with an uploaded model file.")
    if kinds & HOSTED_KINDS and not versions.exclude(triton_model_name="").exists():
        problems.append("A subscription or pay-per-inference plan needs a version with a Triton model name.")
    return problems


def _require_publishable(listing: Listing) -> None:
    problems = listing_publish_problems(listing=listing)
    if problems:
        raise InvalidState(
            "This listing cannot be published yet. " + " ".join(problems), detail={"reasons": problems}
        )


def listing_publish(*, listing: Listing, actor: User) -> Listing:
    """Publish the creator's draft (already published: no change). Side effects: sets
    published_at the first time; re-indexes. Raises NotFound/PermissionDenied (not the creator)
    and InvalidState (suspended or taken down; no active plan; a one-time or subscription plan
    without a version holding a file; a hosted plan without a version with a Triton model name)."""
    listing_creator_check(listing=listing, user=actor)
    with transaction.atomic():
        locked = _lock(listing)
        if locked.status in (ListingStatus.SUSPENDED, ListingStatus.TAKEN_DOWN):
            verb = "suspended" if locked.status == ListingStatus.SUSPENDED else "taken down"
            raise InvalidState(
                f"This listing was {verb} by staff and cannot be published"
                + (f": {locked.status_reason}" if locked.status_reason else "."),
                detail={"status": locked.status, "reason": locked.status_reason},
            )
        if locked.status == ListingStatus.DRAFT:
            _require_publishable(locked)
            locked.status = ListingStatus.PUBLISHED
            locked.published_at = locked.published_at or timezone.now()
            locked.save(update_fields=["status", "published_at", "updated_at"])
        _after_write(locked.pk)
    return _reloaded(locked.pk)


def listing_unpublish(*, listing: Listing, actor: User) -> Listing:
    """Take the creator's published listing back to draft (existing licenses and subscriptions are
    untouched). Side effects: re-indexes. Raises NotFound/PermissionDenied (not the creator) and
    InvalidState (not published)."""
    listing_creator_check(listing=listing, user=actor)
    with transaction.atomic():
        locked = _lock(listing)
        if locked.status != ListingStatus.PUBLISHED:
            raise InvalidState(
                "Only a published listing can be unpublished; "
                f"this one is {locked.get_status_display().lower()}.",
                detail={"status": locked.status},
            )
        locked.status = ListingStatus.DRAFT
        locked.save(update_fields=["status", "updated_at"])
        _after_write(locked.pk)
    return _reloaded(locked.pk)


def _require_staff(user: User) -> None:
    if not (user.is_active and user.is_staff):
        raise PermissionDenied("Only staff can do this.")


def listing_moderate(*, listing: Listing, staff_user: User, status: str, reason: str) -> Listing:
    """Suspend, take down, or restore to published (from suspended or taken down) a listing, with
    the reason shown to its creator. Side effects: re-indexes. Raises PermissionDenied (not staff),
    ValidationFailed (unknown status, missing reason) and InvalidState (restoring a listing that
    is not suspended or taken down, or that no longer meets the publishing conditions)."""
    _require_staff(staff_user)
    errors: Errors = {}
    target = _choice(errors, "status", status, sorted(MODERATION_STATUSES))
    text = _text(errors, "reason", reason, maximum=SUMMARY_MAX, required=target != ListingStatus.PUBLISHED)
    _fail(errors)
    with transaction.atomic():
        locked = _lock(listing)
        if target == ListingStatus.PUBLISHED:
            if locked.status not in (ListingStatus.SUSPENDED, ListingStatus.TAKEN_DOWN):
                raise InvalidState(
                    "Only a suspended or taken-down listing can be restored.",
                    detail={"status": locked.status},
                )
            _require_publishable(locked)
            locked.published_at = locked.published_at or timezone.now()
            text = ""
        locked.status = target
        locked.status_reason = text
        locked.save(update_fields=["status", "status_reason", "published_at", "updated_at"])
        _after_write(locked.pk)
        listing_moderated_notify(listing=locked)
    return _reloaded(locked.pk)


def listing_quality_tier_set(*, listing: Listing, actor: User, tier: str) -> Listing:
    """Set the listing's quality tier: staff any tier, its creator only Community. Side effects:
    re-indexes. Raises ValidationFailed (unknown tier), PermissionDenied (a creator asking for
    Verified or above) and NotFound/PermissionDenied (neither staff nor the creator)."""
    errors: Errors = {}
    tier = _choice(errors, "quality_tier", tier, QualityTier.values)
    _fail(errors)
    if not (actor.is_active and actor.is_staff):
        listing_creator_check(listing=listing, user=actor)
        if tier != QualityTier.COMMUNITY:
            raise PermissionDenied(
                "Verified and higher quality tiers are set by staff after review.",
                detail={"quality_tier": ["Only staff can set this tier."]},
            )
    with transaction.atomic():
        locked = _lock(listing)
        locked.quality_tier = tier
        locked.save(update_fields=["quality_tier", "updated_at"])
        _after_write(locked.pk)
    return _reloaded(locked.pk)


def featured_placement_check(*, listing: Listing, ends_at: datetime) -> None:
    """Whether a staff placement from now to `ends_at` may be granted. No side effects. Raises
    ValidationFailed (`ends_at` not in the future) and InvalidState (the listing is not published)."""
    if ends_at <= timezone.now():
        raise ValidationFailed(detail={"ends_at": ["Choose an end in the future."]})
    if listing.status != ListingStatus.PUBLISHED:
        raise InvalidState("Only a published listing can be featured.", detail={"status": listing.status})


def featured_placement_grant(*, listing: Listing, staff_user: User, ends_at: datetime) -> FeaturedPlacement:
    """Feature a published listing from now until `ends_at`, free (amount 0), and extend the
    listing's `featured_until` to the latest placement running now. Side effects: re-indexes.
    Raises PermissionDenied (not staff) and what featured_placement_check raises."""
    _require_staff(staff_user)
    with transaction.atomic():
        locked = _lock(listing)
        featured_placement_check(listing=locked, ends_at=ends_at)
        now = timezone.now()
        placement = FeaturedPlacement.objects.create(
            listing=locked, starts_at=now, ends_at=ends_at, amount_cents=0
        )
        locked.featured_until = FeaturedPlacement.objects.filter(
            listing=locked, starts_at__lte=now, ends_at__gt=now
        ).aggregate(latest=Max("ends_at"))["latest"]
        locked.save(update_fields=["featured_until", "updated_at"])
        _after_write(locked.pk)
    return placement


# ----------------------------------------------------------------------------- plans


def _clean_plan(values: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's fields checked together (the rules tie kind, interval, quota and download limit)."""
    errors: Errors = {}
    kind = _choice(errors, "kind", values["kind"], PlanKind.values)
    cleaned: dict[str, Any] = {
        "kind": kind,
        "name": _text(errors, "name", values["name"], maximum=PLAN_NAME_MAX, required=True),
        "description": _text(
            errors, "description", values["description"], maximum=PLAN_DESCRIPTION_MAX, required=False
        ),
        "price_cents": _whole(
            errors, "price_cents", values["price_cents"], minimum=1, maximum=PRICE_MAX_CENTS
        ),
        "price_agr": _whole(
            errors, "price_agr", values["price_agr"], minimum=1, maximum=AGR_PRICE_MAX, optional=True
        ),
        "rate_limit_per_minute": _whole(
            errors,
            "rate_limit_per_minute",
            values["rate_limit_per_minute"],
            minimum=1,
            maximum=RATE_LIMIT_MAX,
        ),
        "position": _whole(errors, "position", values.get("position", 0), minimum=0, maximum=32_767),
    }
    interval = values["interval"] or ""
    if kind == PlanKind.SUBSCRIPTION:
        cleaned["interval"] = _choice(errors, "interval", interval, PlanInterval.values)
    else:
        if interval:
            errors.setdefault("interval", []).append("Only a subscription has a billing interval.")
        cleaned["interval"] = ""
    quota = values["monthly_quota"]
    if kind != PlanKind.SUBSCRIPTION and quota is not None:
        errors.setdefault("monthly_quota", []).append("Only a subscription has a monthly quota.")
    cleaned["monthly_quota"] = _whole(
        errors, "monthly_quota", quota, minimum=1, maximum=MONTHLY_QUOTA_MAX, optional=True
    )
    downloads = values["download_limit"]
    if kind != PlanKind.ONE_TIME and downloads is not None:
        errors.setdefault("download_limit", []).append("Only a one-time plan has a download limit.")
    cleaned["download_limit"] = _whole(
        errors, "download_limit", downloads, minimum=1, maximum=DOWNLOAD_LIMIT_MAX, optional=True
    )
    _fail(errors, "The plan has fields that are not valid.")
    return cleaned


def plan_add(
    *,
    listing: Listing,
    actor: User,
    kind: str,
    name: str,
    price_cents: int,
    price_agr: int | None = None,
    interval: str = "",
    monthly_quota: int | None = None,
    rate_limit_per_minute: int = 60,
    download_limit: int | None = None,
    description: str = "",
) -> Plan:
    """Add a plan to the creator's listing. Prices: US cents, 1 to 99,999,999 (one-time: the price;
    subscription: per interval; per-inference: per 1,000 calls); the AGR price in base units.
    Side effects: refreshes the listing's pricing columns, re-indexes. Raises NotFound/
    PermissionDenied (not the creator), ValidationFailed, InvalidState (taken down; too many plans)."""
    listing_creator_check(listing=listing, user=actor)
    cleaned = _clean_plan(
        {
            "kind": kind,
            "name": name,
            "price_cents": price_cents,
            "price_agr": price_agr,
            "interval": interval,
            "monthly_quota": monthly_quota,
            "rate_limit_per_minute": rate_limit_per_minute,
            "download_limit": download_limit,
            "description": description,
        }
    )
    with transaction.atomic():
        locked = _lock(listing)
        _not_taken_down(locked)
        plans = Plan.objects.filter(listing=locked)
        if plans.filter(is_active=True).count() >= MAX_ACTIVE_PLANS:
            raise InvalidState(f"A listing can offer at most {MAX_ACTIVE_PLANS} active plans.")
        last = plans.order_by("-position").values_list("position", flat=True).first()
        cleaned["position"] = 0 if last is None else min(last + 1, 32_767)
        plan = Plan.objects.create(listing=locked, **cleaned)
        _after_write(locked.pk)
    return plan


def plan_update(*, plan: Plan, actor: User, **fields: Any) -> Plan:
    """Change the given fields of a plan (not its kind), checked together with the rest. Buyers
    who already paid keep what they bought. Side effects: refreshes the listing's pricing columns,
    re-indexes. Raises NotFound/PermissionDenied (not the creator), ValidationFailed, InvalidState."""
    listing_creator_check(listing=plan.listing, user=actor)
    unknown = sorted(set(fields) - PLAN_EDITABLE_FIELDS)
    _fail({field: ["This field cannot be changed."] for field in unknown})
    with transaction.atomic():
        locked_listing = _lock(plan.listing)
        _not_taken_down(locked_listing)
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        current = {field: getattr(locked, field) for field in PLAN_EDITABLE_FIELDS} | {"kind": locked.kind}
        cleaned = _clean_plan(current | fields)
        for field in PLAN_EDITABLE_FIELDS:
            setattr(locked, field, cleaned[field])
        locked.save()
        _after_write(locked_listing.pk)
    return locked


def plan_deactivate(*, plan: Plan, actor: User) -> Plan:
    """Stop selling a plan (existing licenses and subscriptions keep running; already inactive:
    no change). Side effects: refreshes the listing's pricing columns, re-indexes. Raises
    NotFound/PermissionDenied (not the creator) and InvalidState (the last active plan of a
    published listing: unpublish it first)."""
    listing_creator_check(listing=plan.listing, user=actor)
    with transaction.atomic():
        locked_listing = _lock(plan.listing)
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if locked.is_active:
            others = Plan.objects.filter(listing=locked_listing, is_active=True).exclude(pk=locked.pk)
            if locked_listing.status == ListingStatus.PUBLISHED and not others.exists():
                raise InvalidState(
                    "This is the last plan of a published listing; unpublish the listing first, "
                    "or add another plan."
                )
            locked.is_active = False
            locked.save(update_fields=["is_active", "updated_at"])
        _after_write(locked_listing.pk)
    return locked


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


def _version_numbers(version: object) -> tuple[int, int, int] | None:
    match = VERSION_RE.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def version_upload(
    *,
    listing: Listing,
    actor: User,
    version: str,
    changelog: str = "",
    file: File[Any] | None,
    triton_model_name: str = "",
    input_spec: Sequence[Mapping[str, Any]] = (),
    output_spec: Sequence[Mapping[str, Any]] = (),
) -> ListingVersion:
    """Add a version to the creator's listing: semantic version X.Y.Z unique per listing, the model
    file encrypted at rest (checksum and size of the plaintext kept), the Triton model name and
    KServe tensor specs (both needed when a Triton name is given). A version needs a file, a Triton
    model name, or both. Side effects: writes the encrypted file to storage (removed again if the
    version is not saved), re-indexes. Raises NotFound/PermissionDenied (not the creator),
    ValidationFailed, InvalidState (taken down)."""
    listing_creator_check(listing=listing, user=actor)
    _not_taken_down(listing)
    errors: Errors = {}
    numbers = _version_numbers(version)
    if numbers is None:
        errors["version"] = ["Use a semantic version: three whole numbers such as 1.2.0."]
    elif ListingVersion.objects.filter(listing=listing, version=version).exists():
        errors["version"] = [f"Version {version} already exists for this listing; choose a higher number."]
    notes = _text(errors, "changelog", changelog, maximum=CHANGELOG_MAX, required=False)
    triton = _text(errors, "triton_model_name", triton_model_name, maximum=120, required=False)
    if triton and not TRITON_NAME_RE.fullmatch(triton):
        errors.setdefault("triton_model_name", []).append(
            "Use the model's name in the Triton repository: letters, digits, _ . - (at most 120)."
        )
    specs: dict[str, list[dict[str, Any]]] = {}
    for field, spec in (("input_spec", input_spec), ("output_spec", output_spec)):
        try:
            specs[field] = tensor_spec_validate(
                spec=list(spec) if isinstance(spec, tuple) else spec, field=field
            )
        except ValidationFailed as exc:
            errors.update(exc.detail)
            continue
        if triton and not specs[field]:
            errors.setdefault(field, []).append("A hosted model needs at least one tensor here.")
    if file is None and not triton:
        errors.setdefault("file", []).append("Upload the model file, give a Triton model name, or both.")
    if file is not None and not file.size:
        errors.setdefault("file", []).append("The file is empty.")
    elif file is not None and (problems := artefact_upload_problems(file)):
        errors.setdefault("file", []).extend(problems)
    _fail(errors, "The version has fields that are not valid.")
    assert numbers is not None

    stored = encrypt_to_storage(source=file, name=file.name or "") if file is not None else None
    try:
        with transaction.atomic():
            locked = _lock(listing)
            _not_taken_down(locked)
            created = ListingVersion.objects.create(
                listing=locked,
                version=version,
                major=numbers[0],
                minor=numbers[1],
                patch=numbers[2],
                changelog=notes,
                artefact=stored.path if stored else "",
                artefact_name=stored.name if stored else "",
                artefact_size=stored.size if stored else 0,
                checksum_sha256=stored.sha256 if stored else "",
                wrapped_key=stored.wrapped_key if stored else "",
                triton_model_name=triton,
                input_spec=specs["input_spec"],
                output_spec=specs["output_spec"],
            )
            _after_write(locked.pk)
    except IntegrityError as exc:  # the same version uploaded concurrently
        if stored:
            artefact_delete(path=stored.path)
        raise ValidationFailed(
            "The version has fields that are not valid.",
            detail={
                "version": [f"Version {version} already exists for this listing; choose a higher number."]
            },
        ) from exc
    except BaseException:
        if stored:
            artefact_delete(path=stored.path)
        raise
    return created
