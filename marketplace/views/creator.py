"""The creator's listing pages: my listings, a new listing, and one listing's management page (its
details with a live model-card preview, versions with uploads, plans, publishing).

Another user's listing is a 404 on every page and action here, published or not: these pages are
the creator's workshop, not the storefront.

The manage page is long, so each of its forms answers htmx with its own section only (errors next
to their fields, the first one focused, the outcome shown in the section). A plain post gets the
whole page: after a refusal with its first error autofocused (the browser scrolls to it), after a
success through a redirect to that section (#details, #versions, #plans, #publishing).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import authenticated_user
from accounts.models import User
from core.exceptions import ApplicationError
from core.forms import service_error_to_form
from core.types import HtmxHttpRequest
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.forms import ListingForm, PlanForm, SectionForm, VersionForm
from marketplace.markdown import render_model_card
from marketplace.models import Listing, ListingStatus, Plan
from marketplace.selectors.creator import (
    creator_listing_get,
    creator_listing_list,
    creator_plan_get,
    subscription_compute_fee_warnings,
)
from marketplace.selectors.featured import featured_placement_for_payment
from marketplace.services import featured, listing_fields
from marketplace.services import listings as services
from marketplace.services import plans as plan_services
from marketplace.services import versions as version_services
from tokenomics.errors import PaymentNotFound
from tokenomics.models import Asset
from tokenomics.models.rails import PaymentStatus
from tokenomics.selectors.ledger import user_balances
from tokenomics.selectors.payments import card_form_context, payment_get_for_user

MANAGE = "marketplace/creator/manage.html"


def _own_listing(user: User, slug: str) -> Listing:
    try:
        return creator_listing_get(slug=slug, user=user)
    except (NotFound, PermissionDenied) as exc:
        raise Http404("No such listing.") from exc


def _own_plan(user: User, plan_id: int) -> Plan:
    try:
        return creator_plan_get(plan_id=plan_id, user=user)
    except (NotFound, PermissionDenied) as exc:
        raise Http404("No such plan.") from exc


@login_required
@require_GET
def creator_listings(request: HtmxHttpRequest) -> HttpResponse:
    listings = creator_listing_list(creator=authenticated_user(request))
    return render(request, "marketplace/creator/listings.html", {"listings": listings})


@login_required
@require_http_methods(["GET", "POST"])
def listing_create(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "marketplace/creator/listing_new.html", {"form": ListingForm()})
    form = ListingForm(request.POST)
    if form.is_valid():
        try:
            listing = services.listing_create(creator=authenticated_user(request), **form.cleaned_data)
        except ValidationFailed as exc:
            service_error_to_form(form, exc)
        else:
            messages.success(request, "Draft created. Add a version and a plan, then publish it.")
            return redirect("marketplace:listing-manage", slug=listing.slug)
    form.focus_first_error()
    return render(request, "marketplace/creator/listing_new.html", {"form": form}, status=400)


def _manage_context(
    request: HtmxHttpRequest,
    listing: Listing,
    *,
    listing_form: ListingForm | None = None,
    version_form: VersionForm | None = None,
    plan_form: PlanForm | None = None,
) -> dict[str, Any]:
    plan_form = plan_form or PlanForm()
    context: dict[str, Any] = {
        "listing": listing,
        "form": listing_form or ListingForm(initial=ListingForm.initial_for(listing)),
        "version_form": version_form or VersionForm(),
        "plan_form": plan_form,
        # Each field with the kind of plan it belongs to ("" for all), for show/hide by kind.
        "plan_fields": [(field, PlanForm.KIND_FIELDS.get(field.name, "")) for field in plan_form],
        "plans": listing.plans.all(),
        # Subscription plans whose quota x compute fee exceeds the price (paid from the period).
        "compute_fee_warnings": subscription_compute_fee_warnings(listing=listing),
        "versions": listing.versions.all(),
        "publish_problems": (
            services.listing_publish_problems(listing=listing)
            if listing.status == ListingStatus.DRAFT
            else []
        ),
        "preview_html": listing.model_card_html,
        # A full page shown after a failed upload cannot hold the file that was chosen (htmx keeps it).
        "file_dropped": (
            version_form is not None
            and not request.htmx
            and listing_fields.VERSION_FIELD_NAMES["file"] in request.FILES
        ),
    }
    if listing_form is not None and listing_form.is_bound:
        context["preview_html"] = render_model_card(listing_form.data.get("model_card", ""))
    return context


def _manage(request: HtmxHttpRequest, listing: Listing, *, status: int = 200, **forms: Any) -> HttpResponse:
    return render(request, MANAGE, _manage_context(request, listing, **forms), status=status)


def _section(
    request: HtmxHttpRequest, listing: Listing, section: str, *, changed: bool, **forms: Any
) -> HttpResponse:
    """One section of the manage page for htmx to swap in, with its messages inside it. After a
    change, the head (title, status) and the publishing checklist ride along out of band."""
    context = _manage_context(request, listing, **forms)
    response = render(request, f"{MANAGE}#{section}", context)
    if changed:
        oob = context | {"oob": True}
        for other in ("head", "publishing"):
            if other != section:
                response.write(render_to_string(f"{MANAGE}#{other}", oob, request=request))
    return response


def _refused(request: HtmxHttpRequest, listing: Listing, section: str, **forms: SectionForm) -> HttpResponse:
    """A failed form: its section for htmx (a 200, since htmx swaps only 2xx answers; the errors
    are in the markup), else the whole page with a 400. Either way its first error takes the focus."""
    for form in forms.values():
        form.focus_first_error()
    if request.htmx:
        return _section(request, listing, section, changed=False, **forms)
    return _manage(request, listing, status=400, **forms)


def _done(request: HtmxHttpRequest, slug: str, section: str) -> HttpResponse:
    """After a post (its outcome already in `messages`): the section again for htmx, else back to
    the page at that section."""
    if request.htmx:
        # Read again: the listing's plans, versions and status were prefetched before the change.
        return _section(request, _own_listing(authenticated_user(request), slug), section, changed=True)
    return redirect(reverse("marketplace:listing-manage", kwargs={"slug": slug}) + f"#{section}")


@login_required
@require_http_methods(["GET", "POST"])
def listing_manage(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The listing's management page; a POST saves the details form."""
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    if request.method == "GET":
        return _manage(request, listing)
    form = ListingForm(request.POST)
    if form.is_valid():
        try:
            services.listing_update(listing=listing, actor=user, **form.cleaned_data)
        except (ValidationFailed, InvalidState) as exc:
            service_error_to_form(form, exc)
        else:
            messages.success(request, "Listing saved.")
            return _done(request, listing.slug, "details")
    return _refused(request, listing, "details", listing_form=form)


@login_required
@require_POST
def model_card_preview(request: HtmxHttpRequest) -> HttpResponse:
    """The model card as it will look, for the editor's live preview (htmx)."""
    text = request.POST.get("model_card", "")[: listing_fields.MODEL_CARD_MAX]
    return render(
        request,
        "marketplace/creator/_listing_form.html#model-card-preview",
        {"preview_html": render_model_card(text)},
    )


@login_required
@require_POST
def version_upload(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    form = VersionForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = version_services.version_upload(
                listing=listing,
                actor=user,
                version=data["version"],
                changelog=data["changelog"],
                file=data["artefact"],
                triton_model_name=data["triton_model_name"],
                input_spec=data["input_spec"],
                output_spec=data["output_spec"],
            )
        except (ValidationFailed, InvalidState) as exc:
            service_error_to_form(form, exc, fields=listing_fields.VERSION_FIELD_NAMES)
        else:
            messages.success(request, f"Version {version.version} uploaded.")
            return _done(request, listing.slug, "versions")
    return _refused(request, listing, "versions", version_form=form)


@login_required
@require_POST
def plan_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            plan = plan_services.plan_add(listing=listing, actor=user, **form.service_values())
        except (ValidationFailed, InvalidState) as exc:
            service_error_to_form(form, exc, fields=listing_fields.PLAN_FIELD_NAMES)
        else:
            messages.success(request, f"Plan “{plan.name}” added.")
            return _done(request, listing.slug, "plans")
    return _refused(request, listing, "plans", plan_form=form)


@login_required
@require_POST
def plan_deactivate(request: HtmxHttpRequest, plan_id: int) -> HttpResponse:
    user = authenticated_user(request)
    plan = _own_plan(user, plan_id)
    try:
        plan_services.plan_deactivate(plan=plan, actor=user)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Plan “{plan.name}” is no longer offered.")
    return _done(request, plan.listing.slug, "plans")


def _back(request: HtmxHttpRequest, listing: Listing) -> HttpResponse:
    if request.POST.get("return_to") == "list":
        return redirect("marketplace:creator-listings")
    return _done(request, listing.slug, "publishing")


@login_required
@require_POST
def listing_publish(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    try:
        services.listing_publish(listing=listing, actor=user)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{listing.title}” is published.")
    return _back(request, listing)


@login_required
@require_POST
def listing_unpublish(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    try:
        services.listing_unpublish(listing=listing, actor=user)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{listing.title}” is back to draft; buyers can no longer find it.")
    return _back(request, listing)


# ----------------------------------------------------------------------------- featured placement
# Choose a slot on the manage page → review exactly what is charged → pay from prepaid balance (at
# once) or by card (the shared card form; the payment's handler starts the slot).


def _feature_choice(request: HtmxHttpRequest) -> tuple[int, str]:
    data = request.POST if request.method == "POST" else request.GET
    days = data.get("days", "")
    return (int(days) if days.isdigit() else 0), data.get("pay_with", featured.PAY_BALANCE)


@login_required
@require_GET
def listing_feature_review(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The review step: the slot, its dates and exactly what is charged, and how; nothing moves."""
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    days, pay_with = _feature_choice(request)
    context: dict[str, Any] = {"listing": listing, "days": days, "pay_with": pay_with, "error": ""}
    try:
        featured.featured_check(listing=listing, user=user)
        if pay_with not in featured.PAY_WITH:
            raise ValidationFailed("Choose card or prepaid balance.")
        context["quote"] = featured.featured_quote(listing=listing, days=days)
    except (InvalidState, ValidationFailed) as exc:
        days_error = exc.detail.get("days")
        context["error"] = days_error[0] if days_error else exc.message
        return render(request, "marketplace/creator/feature.html", context, status=400)
    balance = next((b.wallet for b in user_balances(user=user) if b.asset == Asset.USD), 0)
    context["balance"] = balance
    # One key per review: confirming this review twice (a double click, a resubmit) buys once.
    context["request_key"] = uuid.uuid4().hex
    context["balance_after"] = balance - context["quote"].total_cents
    return render(request, "marketplace/creator/feature.html", context)


@login_required
@require_POST
def listing_feature_confirm(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Buy the reviewed slot: from balance it runs at once; by card, on to the card form."""
    user = authenticated_user(request)
    listing = _own_listing(user, slug)
    days, pay_with = _feature_choice(request)
    try:
        started = featured.featured_purchase(
            user=user,
            listing_id=listing.pk,
            days=days,
            pay_with=pay_with,
            request_key=request.POST.get("request_key") or None,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        review = reverse("marketplace:listing-feature", args=[listing.slug])
        return redirect(f"{review}?{urlencode([('days', days), ('pay_with', pay_with)])}")
    if started.payment is not None:
        return redirect("marketplace:featured-pay", payment_id=started.payment.pk)
    assert started.placement is not None
    messages.success(
        request,
        f"“{listing.title}” is featured as sponsored until {started.placement.ends_at:%-d %b %Y}.",
    )
    return redirect("marketplace:listing-manage", slug=listing.slug)


@login_required
@require_GET
def featured_pay(request: HtmxHttpRequest, payment_id: int) -> HttpResponse:
    """Pay a featured slot by card; the status block (polled by htmx) says when the slot runs."""
    user = authenticated_user(request)
    try:
        payment = payment_get_for_user(user=user, payment_id=payment_id)
    except PaymentNotFound as exc:
        raise Http404("No such payment.") from exc
    parsed = featured.featured_reference_parse(payment.reference)
    if payment.purpose != featured.FEATURED_PURPOSE or parsed is None:
        raise Http404("No such payment.")
    listing = Listing.objects.filter(pk=parsed[0], creator=user).first()
    if listing is None:
        raise Http404("No such payment.")
    context: dict[str, Any] = {
        "listing": listing,
        "days": parsed[1],
        "payment": payment,
        "placement": featured_placement_for_payment(payment=payment),
        "open": payment.status in (PaymentStatus.AWAITING, PaymentStatus.PROCESSING, PaymentStatus.FAILED),
    }
    if request.htmx:
        return render(request, "marketplace/creator/feature_pay.html#status", context)
    return render(
        request, "marketplace/creator/feature_pay.html", context | card_form_context(payment=payment)
    )


urlpatterns: list[URLPattern] = [
    path("creator/listings/", creator_listings, name="creator-listings"),
    path("creator/listings/new/", listing_create, name="listing-create"),
    # Before <slug>: "preview" and "new" are reserved, never a listing's slug.
    path("creator/listings/preview/", model_card_preview, name="model-card-preview"),
    path("creator/listings/<slug:slug>/", listing_manage, name="listing-manage"),
    path("creator/listings/<slug:slug>/versions/", version_upload, name="creator-version-upload"),
    path("creator/listings/<slug:slug>/plans/", plan_add, name="creator-plan-add"),
    path("creator/listings/<slug:slug>/publish/", listing_publish, name="creator-listing-publish"),
    path("creator/listings/<slug:slug>/unpublish/", listing_unpublish, name="creator-listing-unpublish"),
    path("creator/plans/<int:plan_id>/deactivate/", plan_deactivate, name="creator-plan-deactivate"),
    path("creator/listings/<slug:slug>/feature/", listing_feature_review, name="listing-feature"),
    path(
        "creator/listings/<slug:slug>/feature/confirm/",
        listing_feature_confirm,
        name="listing-feature-confirm",
    ),
    path("creator/featured/<int:payment_id>/pay/", featured_pay, name="featured-pay"),
]
