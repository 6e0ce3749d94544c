"""Storefront pages: the catalog with search and filters, a listing's page, the side-by-side
comparison (its selection kept in the session) and curated collections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import User
from core.types import HtmxHttpRequest
from marketplace.errors import NotFound, ValidationFailed
from marketplace.models import Listing, Plan, PlanKind, QualityTier, TaskType
from marketplace.selectors.catalog import (
    COMPARE_LIMIT,
    PRICING_FLAGS,
    category_tree,
    collection_get,
    collection_list,
    collection_listings,
    featured_listings,
    listing_get_public,
    listing_similar,
    listings_compare,
    popular_categories,
)
from marketplace.selectors.offers import listing_holding, plan_offers
from marketplace.selectors.orders import buyer_terms
from marketplace.selectors.reviews import review_list
from marketplace.selectors.search import ORDERINGS, listing_search, search_suggestions
from marketplace.services.search import listing_view_record

PAGE_SIZE = 24
RESULTS_TARGET = "results"
# Session keys: the compare selection (slugs, oldest first) and the listings already counted as
# viewed in this session (so a reload is not a second view).
COMPARE_SESSION_KEY = "catalog_compare"
VIEWED_SESSION_KEY = "catalog_viewed"
VIEWED_REMEMBERED = 200
ORDERING_LABELS = {
    "relevance": "Most relevant",
    "trending": "Trending",
    "newest": "Newest",
    "rating": "Highest rated",
    "price": "Price: low to high",
    "-price": "Price: high to low",
}
RATING_CHOICES = [("", "Any rating"), ("4", "4★ and up"), ("3", "3★ and up"), ("2", "2★ and up")]


class CatalogFilterForm(forms.Form):
    """The catalog's query string. Prices are whole US dollars here (cents in the selector)."""

    q = forms.CharField(required=False, max_length=200, strip=True)
    category = forms.SlugField(required=False, max_length=80)
    task = forms.ChoiceField(required=False, choices=[("", "Any task"), *TaskType.choices])
    pricing = forms.ChoiceField(
        required=False, choices=[("", "Any pricing"), *[(k, PlanKind(k).label) for k in PRICING_FLAGS]]
    )
    min_price = forms.IntegerField(required=False, min_value=0, max_value=10**9)
    max_price = forms.IntegerField(required=False, min_value=0, max_value=10**9)
    quality_tier = forms.ChoiceField(required=False, choices=[("", "Any tier"), *QualityTier.choices])
    min_rating = forms.ChoiceField(required=False, choices=RATING_CHOICES)
    accepts_agr = forms.BooleanField(required=False)
    ordering = forms.ChoiceField(required=False, choices=[(o, ORDERING_LABELS[o]) for o in ORDERINGS])

    def selector_filters(self) -> dict[str, Any]:
        """The valid fields as listing_search arguments; an invalid field is ignored (and shown)."""
        data = getattr(self, "cleaned_data", {})
        filters: dict[str, Any] = {
            "search": data.get("q") or None,
            "category": data.get("category") or None,
            "task": data.get("task") or None,
            "pricing": data.get("pricing") or None,
            "quality_tier": data.get("quality_tier") or None,
            "ordering": data.get("ordering") or "relevance",
        }
        for name in ("min_price", "max_price"):
            if data.get(name) is not None:
                filters[name] = data[name] * 100
        if data.get("min_rating"):
            filters["min_rating"] = Decimal(data["min_rating"])
        if data.get("accepts_agr"):
            filters["accepts_agr"] = True
        return filters


def _viewer(request: HtmxHttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def _compare_selection(request: HtmxHttpRequest) -> list[str]:
    selection = request.session.get(COMPARE_SESSION_KEY, [])
    return [slug for slug in selection if isinstance(slug, str)][:COMPARE_LIMIT]


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def catalog(request: HtmxHttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET)
    form.is_valid()  # invalid fields are dropped from the filters and their errors shown
    filters = form.selector_filters()
    page = Paginator(listing_search(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    narrowed = any(value for key, value in filters.items() if key != "ordering")
    browsing = not narrowed and page.number == 1
    # A search that found nothing offers its nearest matches; popular categories when none is near.
    suggestions = (
        search_suggestions(text=filters["search"]) if filters.get("search") and not page.object_list else None
    )
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "page": page,
        "listings": page.object_list,
        "narrowed": narrowed,
        # Filters beyond the search box: a phone shows the collapsed filters as active.
        "filtered": any(value for key, value in filters.items() if key not in ("ordering", "search")),
        "browsing": browsing,
        "featured": featured_listings() if browsing else [],
        "collections": list(collection_list()[:6]) if browsing else [],
        "suggestions": suggestions,
        "popular": popular_categories() if not page.object_list and not suggestions else [],
        "categories": category_tree(),
        "orderings": ORDERING_LABELS,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"marketplace/catalog/catalog.html#{RESULTS_TARGET}", context)
    return render(request, "marketplace/catalog/catalog.html", context)


@require_GET
def listing_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    try:
        listing = listing_get_public(slug=slug, viewer=_viewer(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if listing.is_published:
        _count_view(request, listing)
    plans = plan_offers(plans=getattr(listing, "active_plans", []))
    versions = list(listing.versions.all())
    return render(
        request,
        "marketplace/catalog/listing.html",
        {
            "listing": listing,
            "plans": plans,
            "holding": listing_holding(buyer=_viewer(request), listing=listing),
            "versions": versions,
            "latest": versions[0] if versions else None,
            # A version with a Triton model: the page loads compute's playground by URL.
            "hosted": any(version.triton_model_name for version in versions),
            "samples": [row for row in listing.sample_io or [] if isinstance(row, dict)],
            "benchmarks": [row for row in listing.benchmarks or [] if isinstance(row, dict)],
            "similar": listing_similar(listing=listing) if listing.is_published else [],
            "reviews": review_list(listing=listing),
            "compare": _compare_selection(request),
            "compare_limit": COMPARE_LIMIT,
            "terms": buyer_terms(),
        },
    )


def _count_view(request: HtmxHttpRequest, listing: Listing) -> None:
    """Count a listing's page view once per session (a reload or a return visit is not another)."""
    viewed = [pk for pk in request.session.get(VIEWED_SESSION_KEY, []) if isinstance(pk, int)]
    if listing.pk in viewed:
        return
    listing_view_record(listing_id=listing.pk)
    request.session[VIEWED_SESSION_KEY] = [*viewed, listing.pk][-VIEWED_REMEMBERED:]


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def compare(request: HtmxHttpRequest) -> HttpResponse:
    return _compare_page(request, asked=request.GET.getlist("l"))


def _compare_page(request: HtmxHttpRequest, *, asked: list[str]) -> HttpResponse:
    """The comparison of `asked` (the `?l=` slugs) or, without them, of the session's selection."""
    slugs = list(dict.fromkeys(asked or _compare_selection(request)))
    error = None
    try:
        comparison = listings_compare(slugs=slugs)
    except ValidationFailed as exc:
        error, slugs = exc.message, slugs[:COMPARE_LIMIT]
        comparison = None
    except NotFound:
        comparison = None
    if comparison is None:
        try:
            comparison = listings_compare(slugs=slugs)
        except NotFound as exc:
            if asked:
                raise Http404(exc.message) from exc
            # A listing in the session's selection was unpublished since: drop it quietly.
            missing = set(exc.detail.get("slugs", []))
            slugs = [slug for slug in slugs if slug not in missing]
            request.session[COMPARE_SESSION_KEY] = slugs
            comparison = listings_compare(slugs=slugs)
    context = {
        "comparison": comparison,
        "columns": [_compare_column(listing) for listing in comparison.listings],
        "benchmark_rows": _benchmark_rows(comparison.listings, comparison.benchmark_names),
        "price_rows": _price_rows(comparison.listings),
        "error": error,
        "compare_limit": COMPARE_LIMIT,
        "from_session": not asked,
    }
    if request.htmx and request.htmx.target == "compare-table" and not request.htmx.history_restore_request:
        return render(request, "marketplace/catalog/compare.html#compare-table", context)
    return render(request, "marketplace/catalog/compare.html", context, status=400 if error else 200)


def _compare_column(listing: Listing) -> dict[str, Any]:
    versions = list(listing.versions.all())
    return {"listing": listing, "latest": versions[0] if versions else None}


def _price_rows(listings: Any) -> list[dict[str, Any]]:
    """One row per plan kind, with each listing's cheapest active plan of that kind (or None); the
    page shows its price with its unit, since a subscription may be monthly or yearly."""
    cheapest: list[dict[str, Plan]] = []
    for listing in listings:
        own: dict[str, Plan] = {}
        for plan in getattr(listing, "active_plans", []):
            if plan.kind not in own or plan.price_cents < own[plan.kind].price_cents:
                own[plan.kind] = plan
        cheapest.append(own)
    return [
        {"kind": kind, "label": PlanKind(kind).label, "prices": [own.get(kind) for own in cheapest]}
        for kind in PRICING_FLAGS
    ]


def _benchmark_rows(listings: Any, names: list[str]) -> list[dict[str, Any]]:
    """One row per benchmark name, with each listing's score (or None) in column order."""
    scores: list[dict[str, str]] = []
    for listing in listings:
        own: dict[str, str] = {}
        for row in listing.benchmarks or []:
            if isinstance(row, dict) and row.get("name"):
                own.setdefault(str(row["name"]), f"{row.get('score', '')}{row.get('unit', '')}")
        scores.append(own)
    return [{"name": name, "scores": [own.get(name) for own in scores]} for name in names]


@require_POST
def compare_toggle(request: HtmxHttpRequest) -> HttpResponse:
    """Add a listing to the compare selection or take it out (POST slug, action=add|remove)."""
    slug = request.POST.get("slug", "")
    selection = _compare_selection(request)
    message = ""
    if request.POST.get("action") == "remove":
        selection = [s for s in selection if s != slug]
    elif slug not in selection:
        if len(selection) >= COMPARE_LIMIT:
            message = f"You can compare up to {COMPARE_LIMIT} models; remove one first."
        else:
            try:
                selection.append(listing_get_public(slug=slug).slug)  # published only
            except NotFound as exc:
                raise Http404(exc.message) from exc
    request.session[COMPARE_SESSION_KEY] = selection
    if request.htmx:
        if request.htmx.target == "compare-table":
            return _compare_page(request, asked=[])
        return render(
            request,
            "marketplace/catalog/listing.html#compare-control",
            {
                "listing": {"slug": slug},
                "compare": selection,
                "compare_limit": COMPARE_LIMIT,
                "message": message,
            },
        )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "marketplace:compare"
    return redirect(next_url)


@require_GET
def collection(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    try:
        chosen = collection_get(slug=slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    page = Paginator(collection_listings(collection=chosen), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "marketplace/catalog/collection.html",
        {"collection": chosen, "page": page, "listings": page.object_list},
    )


urlpatterns: list[URLPattern] = [
    path("models/", catalog, name="catalog"),
    path("models/compare/", compare, name="compare"),
    path("models/compare/toggle/", compare_toggle, name="compare-toggle"),
    path("models/<slug:slug>/", listing_detail, name="listing"),
    path("collections/<slug:slug>/", collection, name="collection"),
]
