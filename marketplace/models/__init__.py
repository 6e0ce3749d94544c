"""The storefront's data: catalog (listings, versions, plans), commerce (orders, licenses,
subscriptions, disputes), reviews and the search index."""

from __future__ import annotations

from marketplace.models.catalog import (
    Category,
    Collection,
    CollectionItem,
    FeaturedPlacement,
    Listing,
    ListingDailyStat,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanKind,
    QualityTier,
    Tag,
    TaskType,
)
from marketplace.models.commerce import (
    Dispute,
    DisputeStatus,
    License,
    LicenseDownload,
    Order,
    OrderStatus,
    Subscription,
    SubscriptionStatus,
)
from marketplace.models.reviews import Review
from marketplace.models.search import SearchEntry, SearchTerm

__all__ = [
    "Category",
    "Collection",
    "CollectionItem",
    "Dispute",
    "DisputeStatus",
    "FeaturedPlacement",
    "License",
    "LicenseDownload",
    "Listing",
    "ListingDailyStat",
    "ListingStatus",
    "ListingVersion",
    "Order",
    "OrderStatus",
    "Plan",
    "PlanKind",
    "QualityTier",
    "Review",
    "SearchEntry",
    "SearchTerm",
    "Subscription",
    "SubscriptionStatus",
    "Tag",
    "TaskType",
]
