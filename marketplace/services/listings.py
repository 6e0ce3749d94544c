"""Writes of listings by their creators and by staff: create and edit, versions (artefacts stored
encrypted, in .versions), plans (.plans), publishing, moderation and quality tiers.

Who may do what:
- only a listing's creator edits it, uploads versions, manages plans and publishes or unpublishes
  it; anyone else gets PermissionDenied for a published listing and NotFound for any other, so an
  unpublished listing's existence is not revealed (marketplace.selectors.creator);
- staff suspend, take down and restore listings and set the quality tier (Verified and above are
  staff-only; a creator may set Community); staff fields are never accepted from a creator.

Every write runs in one transaction that locks the listing's row, and ends by recomputing the
listing's denormalised pricing columns and its search vector, so search and filters never see a
plan change without its effect. Plans are written by marketplace.services.plans, versions by
marketplace.services.versions, and every field is checked by marketplace.services.listing_fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
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
)
from marketplace.models.catalog import price_unit
from marketplace.selectors.creator import listing_creator_check
from marketplace.services.listing_fields import (
    DOWNLOAD_KINDS,
    EDITABLE_FIELDS,
    HOSTED_KINDS,
    MODERATION_STATUSES,
    RESERVED_SLUGS,
    SLUG_ATTEMPTS,
    SLUG_BASE_MAX,
    STAFF_FIELDS,
    SUMMARY_MAX,
    Errors,
    choice_clean,
    errors_raise,
    listing_fields_clean,
    text_clean,
)
from marketplace.services.notifications import listing_moderated_notify
from marketplace.services.search import listing_search_index


def _free_slug(title: str) -> str:
    base = slugify(title)[:SLUG_BASE_MAX].strip("-") or "model"
    if base in RESERVED_SLUGS:
        base = f"{base}-model"
    taken = set(Listing.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def listing_lock(listing: Listing) -> Listing:
    """The listing's row, locked until the end of the transaction (a no-op lock on SQLite)."""
    return Listing.objects.select_for_update().select_related("category").get(pk=listing.pk)


def listing_not_taken_down(listing: Listing) -> None:
    if listing.status == ListingStatus.TAKEN_DOWN:
        raise InvalidState(
            "This listing was taken down by staff and cannot be changed.",
            detail={"status": listing.status, "reason": listing.status_reason},
        )


def listing_after_write(listing_id: int) -> None:
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
    fields = listing_fields_clean(
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
                listing_after_write(listing.pk)
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
    errors_raise({field: ["This field cannot be changed."] for field in unknown})
    cleaned = listing_fields_clean(fields)
    with transaction.atomic():
        locked = listing_lock(listing)
        listing_not_taken_down(locked)
        chosen_tags = cleaned.pop("tags", None)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        if "model_card" in cleaned:
            locked.model_card_html = render_model_card(locked.model_card)
        locked.save()
        if chosen_tags is not None:
            locked.tags.set(chosen_tags)
        listing_after_write(locked.pk)
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
        locked = listing_lock(listing)
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
        listing_after_write(locked.pk)
    return _reloaded(locked.pk)


def listing_unpublish(*, listing: Listing, actor: User) -> Listing:
    """Take the creator's published listing back to draft (existing licenses and subscriptions are
    untouched). Side effects: re-indexes. Raises NotFound/PermissionDenied (not the creator) and
    InvalidState (not published)."""
    listing_creator_check(listing=listing, user=actor)
    with transaction.atomic():
        locked = listing_lock(listing)
        if locked.status != ListingStatus.PUBLISHED:
            raise InvalidState(
                "Only a published listing can be unpublished; "
                f"this one is {locked.get_status_display().lower()}.",
                detail={"status": locked.status},
            )
        locked.status = ListingStatus.DRAFT
        locked.save(update_fields=["status", "updated_at"])
        listing_after_write(locked.pk)
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
    target = choice_clean(errors, "status", status, sorted(MODERATION_STATUSES))
    text = text_clean(
        errors, "reason", reason, maximum=SUMMARY_MAX, required=target != ListingStatus.PUBLISHED
    )
    errors_raise(errors)
    with transaction.atomic():
        locked = listing_lock(listing)
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
        listing_after_write(locked.pk)
        listing_moderated_notify(listing=locked)
    return _reloaded(locked.pk)


def listing_quality_tier_set(*, listing: Listing, actor: User, tier: str) -> Listing:
    """Set the listing's quality tier: staff any tier, its creator only Community. Side effects:
    re-indexes. Raises ValidationFailed (unknown tier), PermissionDenied (a creator asking for
    Verified or above) and NotFound/PermissionDenied (neither staff nor the creator)."""
    errors: Errors = {}
    tier = choice_clean(errors, "quality_tier", tier, QualityTier.values)
    errors_raise(errors)
    if not (actor.is_active and actor.is_staff):
        listing_creator_check(listing=listing, user=actor)
        if tier != QualityTier.COMMUNITY:
            raise PermissionDenied(
                "Verified and higher quality tiers are set by staff after review.",
                detail={"quality_tier": ["Only staff can set this tier."]},
            )
    with transaction.atomic():
        locked = listing_lock(listing)
        locked.quality_tier = tier
        locked.save(update_fields=["quality_tier", "updated_at"])
        listing_after_write(locked.pk)
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
        locked = listing_lock(listing)
        featured_placement_check(listing=locked, ends_at=ends_at)
        now = timezone.now()
        placement = FeaturedPlacement.objects.create(
            listing=locked, starts_at=now, ends_at=ends_at, amount_cents=0
        )
        locked.featured_until = FeaturedPlacement.objects.filter(
            listing=locked, starts_at__lte=now, ends_at__gt=now
        ).aggregate(latest=Max("ends_at"))["latest"]
        locked.save(update_fields=["featured_until", "updated_at"])
        listing_after_write(locked.pk)
    return placement
