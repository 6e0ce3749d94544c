"""Staff tools for the catalog: categories, tags and collections are edited here; listings, their
versions and plans are read-only, and every change to a listing goes through
marketplace.services.listings (suspend, take down, restore, quality tier) as an admin action with
a reason, so the same rules and side effects (pricing columns, search index) apply as anywhere.

A version's wrapped key and storage path are never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.http import authenticated_user
from core.admin import ReadOnlyAdminMixin
from core.exceptions import ApplicationError
from marketplace.errors import ValidationFailed
from marketplace.models import (
    Category,
    Collection,
    CollectionItem,
    FeaturedPlacement,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    QualityTier,
    Tag,
)
from marketplace.services import listing_fields
from marketplace.services import listings as services
from tokenomics.money import format_amount


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("name", "slug", "parent", "position")
    list_filter = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("parent__position", "position", "name")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class ModerationActionForm(ActionForm):
    """The changelist's action bar, with what the moderation actions need."""

    reason = forms.CharField(
        required=False,
        max_length=listing_fields.SUMMARY_MAX,
        help_text="Shown to the creator. Required to suspend or take down.",
    )
    quality_tier = forms.ChoiceField(choices=[("", "Quality tier…"), *QualityTier.choices], required=False)


def _apply(
    admin_view: ListingAdmin,
    request: HttpRequest,
    queryset: QuerySet[Listing],
    *,
    verb: str,
    change: Callable[[Listing], Listing],
) -> None:
    """Run one service call per selected listing; report what worked and why the rest did not."""
    done = 0
    for listing in queryset.order_by("pk"):
        try:
            change(listing)
        except ApplicationError as exc:
            admin_view.message_user(request, f"{listing.title}: {exc.message}", messages.ERROR)
        else:
            done += 1
            # Who moderated, when and why: the listing's admin history.
            reason = request.POST.get("reason", "").strip()
            admin_view.log_change(request, listing, f"{verb}{f': {reason}' if reason else ''}.")
    if done:
        admin_view.message_user(
            request, f"{verb} {done} listing{'s' if done != 1 else ''}.", messages.SUCCESS
        )


@admin.register(Listing)
class ListingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Listing]):
    list_display = (
        "title",
        "slug",
        "creator",
        "status",
        "quality_tier",
        "category",
        "min_price",
        "published_at",
    )
    list_filter = (
        "status",
        "quality_tier",
        "category",
        "task",
        "has_one_time",
        "has_subscription",
        "has_per_inference",
    )
    search_fields = ("title", "slug", "creator__email")
    list_select_related = ("creator", "category")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    action_form = ModerationActionForm
    actions = ("suspend", "take_down", "restore", "set_quality_tier")
    fields = (
        "title",
        "slug",
        "creator",
        "status",
        "status_reason",
        "quality_tier",
        "category",
        "tags",
        "task",
        "size",
        "summary",
        "model_card",
        "license_terms",
        "sample_io",
        "benchmarks",
        "min_price",
        "has_one_time",
        "has_subscription",
        "has_per_inference",
        "accepts_agr",
        "rating_average",
        "rating_count",
        "sales_count",
        "view_count",
        "featured_until",
        "published_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("marketplace.moderate_listing"))

    @admin.display(description="Cheapest plan")
    def min_price(self, listing: Listing) -> str:
        if listing.min_price_cents is None:
            return "—"
        return format_amount(amount=listing.min_price_cents, asset="USD")

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Listing], *, status: str, verb: str) -> None:
        staff, reason = authenticated_user(request), request.POST.get("reason", "")
        _apply(
            self,
            request,
            queryset,
            verb=verb,
            change=lambda listing: services.listing_moderate(
                listing=listing, staff_user=staff, status=status, reason=reason
            ),
        )

    @admin.action(description="Suspend (reason required)", permissions=["moderate"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        self._moderate(request, queryset, status=ListingStatus.SUSPENDED, verb="Suspended")

    @admin.action(description="Take down (reason required)", permissions=["moderate"])
    def take_down(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        self._moderate(request, queryset, status=ListingStatus.TAKEN_DOWN, verb="Took down")

    @admin.action(description="Restore to published", permissions=["moderate"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        self._moderate(request, queryset, status=ListingStatus.PUBLISHED, verb="Restored")

    @admin.action(description="Set the quality tier chosen beside the actions", permissions=["moderate"])
    def set_quality_tier(self, request: HttpRequest, queryset: QuerySet[Listing]) -> None:
        staff, tier = authenticated_user(request), request.POST.get("quality_tier", "")
        if not tier:
            self.message_user(request, "Choose a quality tier next to the action.", messages.ERROR)
            return
        _apply(
            self,
            request,
            queryset,
            verb="Set the quality tier of",
            change=lambda listing: services.listing_quality_tier_set(listing=listing, actor=staff, tier=tier),
        )


@admin.register(ListingVersion)
class ListingVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ListingVersion]):
    list_display = ("listing", "version", "artefact_name", "artefact_size", "triton_model_name", "created_at")
    search_fields = ("listing__slug", "listing__title", "version", "triton_model_name", "checksum_sha256")
    list_select_related = ("listing",)
    ordering = ("listing", "-major", "-minor", "-patch")
    # Never the wrapped key or the ciphertext's storage path.
    fields = (
        "listing",
        "version",
        "changelog",
        "artefact_name",
        "artefact_size",
        "checksum_sha256",
        "encrypted",
        "triton_model_name",
        "input_spec",
        "output_spec",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Stored encrypted", boolean=True)
    def encrypted(self, version: ListingVersion) -> bool:
        return bool(version.artefact and version.wrapped_key)


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Plan]):
    list_display = ("listing", "name", "kind", "price", "interval", "monthly_quota", "is_active")
    list_filter = ("kind", "is_active", "interval")
    search_fields = ("listing__slug", "listing__title", "name")
    list_select_related = ("listing",)
    fields = (
        "listing",
        "kind",
        "name",
        "description",
        "price",
        "agr_price",
        "interval",
        "monthly_quota",
        "rate_limit_per_minute",
        "download_limit",
        "is_active",
        "position",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Price (USD)")
    def price(self, plan: Plan) -> str:
        return format_amount(amount=plan.price_cents, asset="USD")

    @admin.display(description="AGR price")
    def agr_price(self, plan: Plan) -> str:
        return format_amount(amount=int(plan.price_agr), asset="AGR") if plan.price_agr else "—"


class CollectionItemInline(admin.TabularInline[CollectionItem, Collection]):
    model = CollectionItem
    extra = 1
    autocomplete_fields = ("listing",)
    ordering = ("position", "pk")


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ("title", "slug", "is_published", "position")
    list_filter = ("is_published",)
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = (CollectionItemInline,)


class FeaturedPlacementForm(forms.ModelForm[FeaturedPlacement]):
    class Meta:
        model = FeaturedPlacement
        fields = ("listing", "ends_at")
        help_texts = {"ends_at": "A staff grant starts now and costs nothing."}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("listing") is not None and data.get("ends_at") is not None:
            try:
                services.featured_placement_check(listing=data["listing"], ends_at=data["ends_at"])
            except ApplicationError as exc:
                field = next(iter(exc.detail), None) if isinstance(exc, ValidationFailed) else None
                self.add_error(
                    field if field in self.fields else None,
                    exc.message if field is None else exc.detail[field],
                )
        return data


@admin.register(FeaturedPlacement)
class FeaturedPlacementAdmin(admin.ModelAdmin[FeaturedPlacement]):
    """Staff may grant a placement (through the service, which keeps `featured_until` in step);
    recorded placements, paid or granted, are never edited or deleted here."""

    form = FeaturedPlacementForm
    list_display = ("listing", "starts_at", "ends_at", "paid")
    list_select_related = ("listing",)
    search_fields = ("listing__slug", "listing__title")
    autocomplete_fields = ("listing",)
    date_hierarchy = "starts_at"

    @admin.display(description="Paid")
    def paid(self, placement: FeaturedPlacement) -> str:
        return (
            format_amount(amount=placement.amount_cents, asset="USD") if placement.amount_cents else "granted"
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FeaturedPlacement, form: Any, change: bool) -> None:
        placement = services.featured_placement_grant(
            listing=obj.listing, staff_user=authenticated_user(request), ends_at=obj.ends_at
        )
        obj.pk, obj.starts_at, obj.amount_cents = placement.pk, placement.starts_at, placement.amount_cents
