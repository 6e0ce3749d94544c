"""The authorization matrix (W2 of RELIABILITY-ANCHORS; issue 13 "How it is checked"): every route
that takes an id or a slug, HTML and API, is called by each role, and each answer must be the one
written here. 0 failures; a route the URLconf gains without a row here fails
`test_every_route_with_an_id_or_slug_has_a_row`.

Roles: `owner` (the buyer of the order, license, subscription, top-up and payout, the holder of the
key and wallet, the creator of the listing, the author of the review), `other` (an unrelated user),
`anon`, `staff` (is_staff without any permission), `superuser` (staff with every permission), and
for the API the owner's own API keys by scope: `key:read`, `key:write`, `key:inference`. Sessions
are recent (they logged in just now), so what is tested is who may act, not when.

Besides the status, each row may name what a refused caller must have left untouched (`intact`),
so that a 302 or a 200 error page cannot hide a change made anyway.

The Django admin's object routes follow one rule per ModelAdmin (anon and non-staff users go to the
admin login, staff without the model's permission get 403, the superuser gets the page); the admin's
own custom views need rows like any other route.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import ApiKey, User, Wallet
from compute.models import BatchItem, BatchJob, CallRating, InferenceRequest, Node, SlashAppeal
from governance.models import Proposal, Vote
from marketplace.models import Collection, Listing, Order, Plan, PlanKind, Review
from marketplace.services.featured import featured_purchase
from marketplace.services.orders import order_create
from marketplace.services.refunds import order_dispute_open
from marketplace.services.reviews import review_upsert
from tests.accounts.factories import UserFactory
from tests.accounts.reauth import login_recently
from tests.governance.conftest import BOND, economic_proposal
from tests.governance.factories import agr_credit
from tests.marketplace.commerce import credit_arrival, on_sale
from tests.marketplace.factories import paid_order
from tests.tokenomics.factories import funded_wallet
from tests.tokenomics.payout_factories import funded_payable
from tests.tokenomics.stripe.conftest import LocalStripe, _stripe_is_localstripe, localstripe  # noqa: F401
from tokenomics.money import agr
from tokenomics.services.payments import payment_create
from tokenomics.services.payouts import payout_request
from tokenomics.services.staking import stake_deposit, stake_slash

pytestmark = [pytest.mark.django_db]

NOT_OWNERS = ("anon", "other", "staff", "superuser")
HTML_ROLES = ("anon", "other", "staff", "superuser", "owner")
API_ROLES = ("anon", "key:read", "key:write", "key:inference", "other", "staff", "superuser", "owner")


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    users: dict[str, User]
    keys: dict[str, str]  # scope -> the owner's API key with only that scope
    ids: dict[str, Any]  # URL argument values by object name
    objects: dict[str, Any] = field(default_factory=dict)


def _world(localstripe: LocalStripe) -> World:  # noqa: F811
    owner, other, seller, reviewer = (UserFactory() for _ in range(4))
    staff = UserFactory(is_staff=True)
    superuser = UserFactory(is_staff=True, is_superuser=True)

    # The owner as a buyer: a one-time order in escrow (with its license) and a subscription.
    plan = on_sale(creator=seller)
    order = credit_arrival(order_create(buyer=owner, plan_id=plan.pk, rail="card").order)
    sub_plan = on_sale(kind=PlanKind.SUBSCRIPTION, price_cents=1_000, creator=seller)
    sub_order = credit_arrival(order_create(buyer=owner, plan_id=sub_plan.pk, rail="card").order)
    disputed = credit_arrival(
        order_create(buyer=owner, plan_id=on_sale(creator=seller).pk, rail="card").order
    )
    dispute = order_dispute_open(buyer=owner, order_id=disputed.pk, reason="Broken", evidence="It crashes.")
    dispute.evidence_file.save("crash.log", ContentFile(b"Traceback: it crashes"))
    review, _ = review_upsert(buyer=owner, listing=plan.listing, rating=4, body="Good.")

    # The owner as a creator: a published listing with a plan, reviewed by a verified buyer.
    own_plan = on_sale(creator=owner)
    paid_order(listing=own_plan.listing, buyer=reviewer)
    review_on_own, _ = review_upsert(buyer=reviewer, listing=own_plan.listing, rating=5, body="Great.")

    # The owner's credentials, money and a public collection.
    key = account_services.api_key_create(user=owner, name="victim", scopes=["read"])
    wallet = Wallet.objects.create(user=owner, address="0x" + "ab" * 20, chain_id=1337)
    payment = payment_create(user=owner, purpose="credit_top_up", rail="card", amount=1_000)
    funded_payable(user=owner, amount=5_000)
    payout = payout_request(user=owner, asset="USD", amount=5_000)
    featured_payment = featured_purchase(
        user=owner, listing_id=own_plan.listing_id, days=7, pay_with="card", request_key=None
    ).payment
    assert featured_payment is not None
    # The owner as a proposer: a proposal in discussion (bond locked).
    agr_credit(owner, BOND)
    proposal = economic_proposal(owner)
    shelf = Collection.objects.create(title="Staff picks", slug="staff-picks")
    shelf.items.create(listing=plan.listing)

    keys = {
        scope: account_services.api_key_create(user=owner, name=scope, scopes=[scope]).secret
        for scope in ("read", "write", "inference")
    }
    # The owner as a provider: a node (as a passed registration leaves it; no Triton is called).
    node = Node.objects.create(provider=owner, name="gpu-1", triton_url="http://127.0.0.1:9", healthy=True)
    # The owner's batch job (one item not yet run): progress, results and cancel are theirs alone.
    batch_job = BatchJob.objects.create(user=owner, listing=plan.listing, entitlement="prepaid", total=1)
    BatchItem.objects.create(job=batch_job, index=0, request_id=uuid.uuid4(), body={"inputs": []})
    # A call the owner made that the seller's node served: only its caller may rate it.
    call = InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=owner,
        listing=plan.listing,
        entitlement="prepaid",
        via="api",
        node_id=node.pk,
        provider=seller,
        outcome="ok",
        created_at=timezone.now(),
    )
    # The owner slashed (SLA): the console's appeal form is theirs alone.
    funded_wallet(user=owner, amount=agr(20_000), asset="AGR")
    stake_deposit(user=owner, amount=agr(20_000), idempotency_key="matrix")
    slash = stake_slash(
        user=owner, fraction_bps=100, reason="SLA minor", evidence={"kind": "sla"}, idempotency_key="matrix"
    )
    assert order.license is not None
    assert sub_order.subscription is not None
    return World(
        users={"owner": owner, "other": other, "staff": staff, "superuser": superuser},
        keys=keys,
        ids={
            "key": key.api_key.pk,
            "wallet": wallet.pk,
            "payment": payment.pk,
            "dispute": dispute.pk,
            "featured_payment": featured_payment.pk,
            "payout": payout.pk,
            "listing": plan.listing.slug,  # someone else's, published
            "own_listing": own_plan.listing.slug,
            "plan": plan.pk,
            "own_plan": own_plan.pk,
            "order": order.pk,
            "license": order.license.pk,
            "subscription": sub_order.subscription.pk,
            "review": review.pk,
            "review_on_own": review_on_own.pk,
            "collection": shelf.slug,
            "parameter": "payout.instant_fee_bps",
            "node": node.pk,
            "provider": owner.pk,
            "proposal": proposal.pk,
            "holder": owner.pk,
            "slash": slash.pk,
            "batch_job": batch_job.pk,
            "call": call.request_id,
        },
        objects={"order": order, "plan": plan, "own_plan": own_plan, "review": review},
    )


# ----------------------------------------------------------------------------- the rows


@dataclass(frozen=True)
class Row:
    """One route and method: the status each role gets. An owner's 400 (an empty form) or 302 (done,
    back to the page) shows the request passed authorization; refusals are 401/403/404, or a
    redirect to the login."""

    route: str  # as the URLconf spells it
    method: str
    path: str  # with {name} for World.ids
    expect: dict[str, int]
    intact: Callable[[World], bool] | None = None  # what a refused caller must leave as it was
    data: dict[str, Any] = field(default_factory=dict)  # a valid body, so refusals are authorization's


def private_html(owner: int, *, anon: int = 302, not_owner: int = 404) -> dict[str, int]:
    """A page or action on the owner's object: others are told it does not exist."""
    return {"anon": anon, "other": not_owner, "staff": not_owner, "superuser": not_owner, "owner": owner}


def public_html(status: int = 200) -> dict[str, int]:
    return dict.fromkeys(HTML_ROLES, status)


def private_api(
    owner: int, *, read: int, write: int, inference: int = 403, not_owner: int = 404
) -> dict[str, int]:
    return {
        "anon": 401,
        "key:read": read,
        "key:write": write,
        "key:inference": inference,
        "other": not_owner,
        "staff": not_owner,
        "superuser": not_owner,
        "owner": owner,
    }


def in_person_api(owner: int) -> dict[str, int]:
    """Credential management (issue 13 item 1): no API key, whatever its scopes."""
    return private_api(owner, read=403, write=403, inference=403)


def _unchanged(model: type[Any], name: str, **values: Any) -> Callable[[World], bool]:
    return lambda world: model.objects.filter(pk=world.objects[name].pk, **values).exists()


def _key_active(world: World) -> bool:
    return ApiKey.objects.filter(pk=world.ids["key"], revoked_at__isnull=True).exists()


def _wallet_linked(world: World) -> bool:
    return Wallet.objects.filter(pk=world.ids["wallet"]).exists()


def _order_in_escrow(world: World) -> bool:
    return Order.objects.filter(pk=world.ids["order"], status="in_escrow").exists()


def _license_unused(world: World) -> bool:
    order = Order.objects.get(pk=world.ids["order"])
    return order.license is not None and order.license.downloads_used == 0


def _listing_published(world: World) -> bool:
    return Listing.objects.filter(slug=world.ids["own_listing"], status="published").exists()


def _plan_active(world: World) -> bool:
    return Plan.objects.filter(pk=world.ids["own_plan"], is_active=True).exists()


def _review_kept(world: World) -> bool:
    return Review.objects.filter(pk=world.ids["review"]).exists()


def _no_vote(world: World) -> bool:
    return not Vote.objects.filter(proposal_id=world.ids["proposal"]).exists()


def _proposal_open(world: World) -> bool:
    return Proposal.objects.filter(pk=world.ids["proposal"], cancelled_at__isnull=True).exists()


def _no_reply(world: World) -> bool:
    return not Review.objects.filter(pk=world.ids["review_on_own"]).exclude(reply="").exists()


HTML_ROWS = [
    # Governance: proposals and holders are public; voting, commenting and delegating need a login
    # (then the service decides: voting is closed in discussion); cancelling someone else's proposal
    # needs the moderation permission (the superuser has it; plain staff do not).
    Row("governance/proposals/<int:proposal_id>/", "GET", "/governance/proposals/{proposal}/", public_html()),
    Row(
        "governance/proposals/<int:proposal_id>/tally/",
        "GET",
        "/governance/proposals/{proposal}/tally/",
        public_html(),
    ),
    Row(
        "governance/proposals/<int:proposal_id>/vote/",
        "POST",
        "/governance/proposals/{proposal}/vote/",
        public_html(302),
        _no_vote,
        data={"choice": "for"},
    ),
    Row(
        "governance/proposals/<int:proposal_id>/comments/",
        "POST",
        "/governance/proposals/{proposal}/comments/",
        public_html(302),
        data={"body": "A comment."},
    ),
    Row(
        "governance/proposals/<int:proposal_id>/<str:action>/",
        "POST",
        "/governance/proposals/{proposal}/cancel/",
        {"anon": 302, "other": 403, "staff": 403, "superuser": 302, "owner": 302},
    ),
    Row("governance/holders/<int:user_id>/", "GET", "/governance/holders/{holder}/", public_html()),
    Row(
        "governance/holders/<int:user_id>/delegate/",
        "POST",
        "/governance/holders/{holder}/delegate/",
        public_html(302),
    ),
    Row(
        "accounts/api-keys/<int:key_id>/revoke/",
        "POST",
        "/accounts/api-keys/{key}/revoke/",
        private_html(302, not_owner=302),
        _key_active,
    ),
    Row(
        "accounts/wallets/<int:wallet_id>/unlink/",
        "POST",
        "/accounts/wallets/{wallet}/unlink/",
        private_html(302, not_owner=302),
        _wallet_linked,
    ),
    Row("wallet/top-up/<int:payment_id>/", "GET", "/wallet/top-up/{payment}/", private_html(200)),
    # Evidence: the dispute's parties and staff allowed to see disputes (the superuser), no one else.
    Row(
        "disputes/<int:dispute_id>/evidence/",
        "GET",
        "/disputes/{dispute}/evidence/",
        private_html(200) | {"superuser": 200},
    ),
    # The card form's two calls, for any open card payment of the payer's (here a top-up).
    Row(
        "payments/<int:payment_id>/card/setup/", "POST", "/payments/{payment}/card/setup/", private_html(200)
    ),
    Row(
        "payments/<int:payment_id>/card/confirm/",
        "POST",
        "/payments/{payment}/card/confirm/",
        private_html(400),  # no saved card named: validation_error, after the ownership check
    ),
    Row(
        "creator/listings/<slug:slug>/feature/",
        "GET",
        "/creator/listings/{own_listing}/feature/?days=7&pay_with=card",
        private_html(200),
    ),
    Row(
        "creator/listings/<slug:slug>/feature/confirm/",
        "POST",
        "/creator/listings/{own_listing}/feature/confirm/",
        private_html(302),  # on to the card form of the new slot
    ),
    Row(
        "creator/featured/<int:payment_id>/pay/",
        "GET",
        "/creator/featured/{featured_payment}/pay/",
        private_html(200),
    ),
    Row(
        "wallet/top-up/<int:payment_id>/status/", "GET", "/wallet/top-up/{payment}/status/", private_html(200)
    ),
    Row("models/<slug:slug>/", "GET", "/models/{listing}/", public_html()),
    Row("providers/<int:provider_id>/", "GET", "/providers/{provider}/", public_html()),
    # Issue 15: the usage page's rate control rates the caller's own call only.
    Row(
        "usage/calls/<uuid:request_id>/rating",
        "POST",
        "/usage/calls/{call}/rating",
        private_html(302),  # rated, back to the usage page
        lambda world: not CallRating.objects.exists(),
        data={"stars": "5"},
    ),
    Row("batch-jobs/<int:job_id>/", "GET", "/batch-jobs/{batch_job}/", private_html(200)),
    Row(
        "batch-jobs/<int:job_id>/results.jsonl",
        "GET",
        "/batch-jobs/{batch_job}/results.jsonl",
        private_html(200),
    ),
    Row(
        "provider/slashes/<int:slash_id>/appeal",
        "POST",
        "/provider/slashes/{slash}/appeal",
        private_html(302),
        intact=lambda w: not SlashAppeal.objects.exists(),
        data={"text": "Our uplink was cut."},
    ),
    Row("collections/<slug:slug>/", "GET", "/collections/{collection}/", public_html()),
    Row("checkout/<int:plan_id>/", "GET", "/checkout/{plan}/", private_html(200, not_owner=200)),
    Row(
        "checkout/<int:plan_id>/review/", "POST", "/checkout/{plan}/review/", private_html(400, not_owner=400)
    ),
    Row(
        "checkout/<int:plan_id>/confirm/",
        "POST",
        "/checkout/{plan}/confirm/",
        private_html(400, not_owner=400),
    ),
    Row("orders/<int:order_id>/", "GET", "/orders/{order}/", private_html(200)),
    Row("orders/<int:order_id>/status/", "GET", "/orders/{order}/status/", private_html(200)),
    Row(
        "orders/<int:order_id>/agr-payment/",
        "POST",
        "/orders/{order}/agr-payment/",
        private_html(400),
        _order_in_escrow,
    ),
    Row(
        "orders/<int:order_id>/cancel/",
        "POST",
        "/orders/{order}/cancel/",
        private_html(302),
        _order_in_escrow,
    ),
    Row(
        "orders/<int:order_id>/refund/",
        "POST",
        "/orders/{order}/refund/",
        private_html(302),
        _order_in_escrow,
    ),
    Row(
        "orders/<int:order_id>/dispute/",
        "POST",
        "/orders/{order}/dispute/",
        private_html(400),
        _order_in_escrow,
    ),
    Row("licenses/<int:license_id>/key/", "POST", "/licenses/{license}/key/", private_html(200)),
    Row(
        "licenses/<int:license_id>/download/",
        "POST",
        "/licenses/{license}/download/",
        private_html(200),
        _license_unused,
    ),
    Row(
        "subscriptions/<int:subscription_id>/cancel/",
        "POST",
        "/subscriptions/{subscription}/cancel/",
        private_html(400),
    ),
    Row(
        "subscriptions/<int:subscription_id>/download/",
        "POST",
        "/subscriptions/{subscription}/download/",
        private_html(200),
    ),
    Row("creator/listings/<slug:slug>/", "GET", "/creator/listings/{own_listing}/", private_html(200)),
    Row(
        "creator/listings/<slug:slug>/versions/",
        "POST",
        "/creator/listings/{own_listing}/versions/",
        private_html(400),
    ),
    Row(
        "creator/listings/<slug:slug>/plans/",
        "POST",
        "/creator/listings/{own_listing}/plans/",
        private_html(400),
    ),
    Row(
        "creator/listings/<slug:slug>/publish/",
        "POST",
        "/creator/listings/{own_listing}/publish/",
        private_html(302),
    ),
    Row(
        "creator/listings/<slug:slug>/unpublish/",
        "POST",
        "/creator/listings/{own_listing}/unpublish/",
        private_html(302),
        _listing_published,
    ),
    Row(
        "creator/plans/<int:plan_id>/deactivate/",
        "POST",
        "/creator/plans/{own_plan}/deactivate/",
        private_html(302),
        _plan_active,
    ),
    Row("models/<slug:slug>/reviews/", "GET", "/models/{listing}/reviews/", public_html()),
    # compute's playground of a published listing: public to read; a run by a visitor who is not
    # signed in is answered with the sign-in invitation, an empty form with its field error (the
    # gateway itself decides what a signed-in caller may run: tests/compute).
    Row("compute/playground/<slug:slug>/", "GET", "/compute/playground/{listing}/", public_html()),
    # The listing page's current per-call price (issue 15), loaded by URL: public like the page.
    Row("compute/listing-price/<slug:slug>/", "GET", "/compute/listing-price/{listing}/", public_html()),
    Row("compute/playground/<slug:slug>/run", "POST", "/compute/playground/{listing}/run", public_html()),
    Row(
        "models/<slug:slug>/reviews/submit/",
        "POST",
        "/models/{listing}/reviews/submit/",
        private_html(302, not_owner=403),
        data={"rating": "5", "body": "Works."},
    ),
    Row(
        "reviews/<int:review_id>/reply/",
        "POST",
        "/reviews/{review_on_own}/reply/",
        private_html(302, not_owner=403),
        _no_reply,
        data={"reply": "Thank you."},
    ),
    Row(
        "reviews/<int:review_id>/delete/",
        "POST",
        "/reviews/{review}/delete/",
        private_html(302, not_owner=403),
        _review_kept,
    ),
    # allauth's password-reset link carries a user id (base 36) and a token; a bad token is a page.
    Row(
        "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "GET",
        "/accounts/password/reset/key/1-bad-token/",
        public_html(),
    ),
]

API_ROWS = [
    Row(
        "api/v1/proposals/<int:proposal_id>",
        "GET",
        "/api/v1/proposals/{proposal}",
        dict.fromkeys(API_ROLES, 200),
    ),
    Row(
        "api/v1/proposals/<int:proposal_id>/votes",
        "POST",
        "/api/v1/proposals/{proposal}/votes",
        private_api(409, read=403, write=409, not_owner=409),  # in discussion: voting_closed
        _no_vote,
        data={"choice": "for"},
    ),
    Row(
        "api/v1/proposals/<int:proposal_id>/queue",
        "POST",
        "/api/v1/proposals/{proposal}/queue",
        private_api(409, read=403, write=409, not_owner=409),
    ),
    Row(
        "api/v1/proposals/<int:proposal_id>/execute",
        "POST",
        "/api/v1/proposals/{proposal}/execute",
        private_api(409, read=403, write=409, not_owner=409),
    ),
    # Only the proposer cancels through the API (staff moderate on the page); the write key cancels
    # first, the owner in person then finds it cancelled (409).
    Row(
        "api/v1/proposals/<int:proposal_id>/cancel",
        "POST",
        "/api/v1/proposals/{proposal}/cancel",
        private_api(409, read=403, write=200, not_owner=403),
        _proposal_open,
    ),
    Row("api/v1/api-keys/<int:key_id>", "DELETE", "/api/v1/api-keys/{key}", in_person_api(204), _key_active),
    Row(
        "api/v1/wallets/<int:wallet_id>",
        "DELETE",
        "/api/v1/wallets/{wallet}",
        in_person_api(204),
        _wallet_linked,
    ),
    Row(
        "api/v1/credits/<int:payment_id>",
        "GET",
        "/api/v1/credits/{payment}",
        private_api(200, read=200, write=403),
    ),
    Row(
        "api/v1/credits/<int:payment_id>/agr-payment",
        "POST",
        "/api/v1/credits/{payment}/agr-payment",
        private_api(400, read=403, write=400),
    ),
    Row(
        "api/v1/payouts/<int:payout_id>",
        "GET",
        "/api/v1/payouts/{payout}",
        private_api(200, read=200, write=403),
    ),
    Row(
        "api/v1/parameters/<str:key>", "GET", "/api/v1/parameters/{parameter}", dict.fromkeys(API_ROLES, 200)
    ),
    Row("api/v1/listings/<slug:slug>", "GET", "/api/v1/listings/{listing}", dict.fromkeys(API_ROLES, 200)),
    Row(
        "api/v1/listings/<slug:slug>/publish",
        "POST",
        "/api/v1/listings/{own_listing}/publish",
        private_api(200, read=403, write=200, not_owner=403),
    ),
    Row(
        "api/v1/listings/<slug:slug>/unpublish",
        "POST",
        "/api/v1/listings/{own_listing}/unpublish",
        private_api(409, read=403, write=200, not_owner=403),
        _listing_published,
    ),
    Row(
        "api/v1/listings/<slug:slug>/versions",
        "POST",
        "/api/v1/listings/{own_listing}/versions",
        private_api(415, read=403, write=415, not_owner=403),
    ),
    Row(
        "api/v1/listings/<slug:slug>/plans",
        "POST",
        "/api/v1/listings/{own_listing}/plans",
        private_api(400, read=403, write=400, not_owner=403),
    ),
    Row(
        "api/v1/plans/<int:plan_id>",
        "DELETE",
        "/api/v1/plans/{own_plan}",
        private_api(409, read=403, write=409, not_owner=403),
        _plan_active,
    ),
    Row(
        "api/v1/listings/<slug:slug>/reviews",
        "POST",
        "/api/v1/listings/{listing}/reviews",
        private_api(200, read=403, write=200, not_owner=403),
        data={"rating": 5},
    ),
    Row(
        "api/v1/reviews/<int:review_id>",
        "DELETE",
        "/api/v1/reviews/{review}",
        private_api(404, read=403, write=204, not_owner=403),
        _review_kept,
    ),
    Row(
        "api/v1/reviews/<int:review_id>/reply",
        "POST",
        "/api/v1/reviews/{review_on_own}/reply",
        private_api(409, read=403, write=200, not_owner=403),
        _no_reply,
        data={"reply": "Thank you."},
    ),
    Row(
        "api/v1/orders/<int:order_id>", "GET", "/api/v1/orders/{order}", private_api(200, read=200, write=403)
    ),
    # Issue 16 item 4: reading an order calls no Stripe API; the client secret is a POST (the order
    # of the world is paid, so its owner is refused with invalid_state).
    Row(
        "api/v1/orders/<int:order_id>/card-payment",
        "POST",
        "/api/v1/orders/{order}/card-payment",
        private_api(409, read=403, write=409),
    ),
    Row(
        "api/v1/orders/<int:order_id>/agr-payment",
        "POST",
        "/api/v1/orders/{order}/agr-payment",
        private_api(400, read=403, write=400),
        _order_in_escrow,
    ),
    Row(
        "api/v1/orders/<int:order_id>/refund",
        "POST",
        "/api/v1/orders/{order}/refund",
        private_api(409, read=403, write=200),
        _order_in_escrow,
    ),
    Row(
        "api/v1/orders/<int:order_id>/dispute",
        "POST",
        "/api/v1/orders/{order}/dispute",
        private_api(409, read=403, write=201),
        _order_in_escrow,
        data={"reason": "Broken", "evidence": "It crashes on load."},
    ),
    Row(
        "api/v1/licenses/<int:license_id>/key",
        "POST",
        "/api/v1/licenses/{license}/key",
        private_api(201, read=403, write=201),
    ),
    # Issue 13 item 4: a download spends the license and releases escrow, so a read key may not.
    Row(
        "api/v1/licenses/<int:license_id>/download",
        "POST",
        "/api/v1/licenses/{license}/download",
        private_api(200, read=403, write=200),
        _license_unused,
    ),
    Row(
        "api/v1/subscriptions/<int:subscription_id>/cancel",
        "POST",
        "/api/v1/subscriptions/{subscription}/cancel",
        private_api(409, read=403, write=200),
    ),
    # Issue 17: the gateway. Only an `inference` key or a session (the playground) passes. The
    # matrix's listing has a hosted version but only a one-time plan and no node: the key has no
    # entitlement (402), a session's free playground run finds no provider (503, nothing billed).
    Row(
        "api/v1/inference/<slug:slug>",
        "POST",
        "/api/v1/inference/{listing}",
        {
            "anon": 401,
            "key:read": 403,
            "key:write": 403,
            "key:inference": 402,
            "other": 503,
            "staff": 503,
            "superuser": 503,
            "owner": 503,
        },
        data={"inputs": [{"name": "INPUT_1", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
    ),
    # Issue 17: a provider's nodes are theirs alone; reputation is public.
    Row("api/v1/nodes/<int:node_id>", "GET", "/api/v1/nodes/{node}", private_api(200, read=200, write=403)),
    Row(
        "api/v1/nodes/<int:node_id>",
        "PATCH",
        "/api/v1/nodes/{node}",
        private_api(200, read=403, write=200),
        lambda world: Node.objects.filter(pk=world.ids["node"], region="").exists(),
        data={"region": "eu-west"},
    ),
    # Issue 15: a buyer's batch jobs are theirs alone (an API key needs the inference scope).
    Row(
        "api/v1/batch-jobs/<int:job_id>",
        "GET",
        "/api/v1/batch-jobs/{batch_job}",
        private_api(200, read=403, write=403, inference=200),
    ),
    Row(
        "api/v1/batch-jobs/<int:job_id>/results",
        "GET",
        "/api/v1/batch-jobs/{batch_job}/results",
        private_api(200, read=403, write=403, inference=200),
    ),
    Row(
        "api/v1/batch-jobs/<int:job_id>/cancel",
        "POST",
        "/api/v1/batch-jobs/{batch_job}/cancel",
        # The inference key cancels it; the owner in person then finds it already ended.
        private_api(409, read=403, write=403, inference=200),
        lambda world: BatchJob.objects.filter(pk=world.ids["batch_job"], state="running").exists(),
    ),
    # Issue 15: a call is rated by its caller alone (a key needs the inference scope); the
    # inference key rates it first, so the owner in person finds it already rated.
    Row(
        "api/v1/inference-requests/<uuid:request_id>/rating",
        "POST",
        "/api/v1/inference-requests/{call}/rating",
        private_api(409, read=403, write=403, inference=201),
        lambda world: not CallRating.objects.exists(),
        data={"stars": 5},
    ),
    Row(
        "api/v1/providers/<int:provider_id>",
        "GET",
        "/api/v1/providers/{provider}",
        dict.fromkeys(API_ROLES, 200),
    ),
    # Issue 15: a hosted listing's current per-call price is public (a caller is quoted with their
    # own volume discount).
    Row(
        "api/v1/listings/<slug:slug>/price",
        "GET",
        "/api/v1/listings/{listing}/price",
        dict.fromkeys(API_ROLES, 200),
    ),
]

# KServe v2 (issue 17): metadata and readiness are public; infer takes an API key only (a browser
# session is not a credential there, so every HTML role is 401).
KSERVE_ROWS = [
    Row("v2/models/<slug:slug>", "GET", "/v2/models/{listing}", public_html(200)),
    Row(
        "v2/models/<slug:slug>/versions/<str:version>",
        "GET",
        "/v2/models/{listing}/versions/1.0.0",
        public_html(200),
    ),
    Row("v2/models/<slug:slug>/ready", "GET", "/v2/models/{listing}/ready", public_html(200)),
    Row(
        "v2/models/<slug:slug>/versions/<str:version>/ready",
        "GET",
        "/v2/models/{listing}/versions/1.0.0/ready",
        public_html(200),
    ),
    Row("v2/models/<slug:slug>/infer", "POST", "/v2/models/{listing}/infer", public_html(401)),
    Row(
        "v2/models/<slug:slug>/versions/<str:version>/infer",
        "POST",
        "/v2/models/{listing}/versions/1.0.0/infer",
        public_html(401),
    ),
]

ROWS = HTML_ROWS + API_ROWS + KSERVE_ROWS


# ----------------------------------------------------------------------------- calling


def _client(world: World, role: str, *, api: bool) -> Client:
    client: Client = APIClient() if api else Client()
    if role.startswith("key:"):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.keys[role[4:]]}")  # type: ignore[attr-defined]
    elif role != "anon":
        login_recently(client, world.users[role])
    return client


def _call(world: World, row: Row, role: str) -> int:
    api = row.path.startswith("/api/")
    client = _client(world, role, api=api)
    path = row.path.format(**world.ids)
    kwargs: dict[str, Any] = {"format": "json"} if api and row.method != "GET" else {}
    response = getattr(client, row.method.lower())(path, dict(row.data), **kwargs)
    return int(response.status_code)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.route}")
def test_matrix(row: Row, localstripe: LocalStripe) -> None:  # noqa: F811
    world = _world(localstripe)
    roles = API_ROLES if row.path.startswith("/api/") else HTML_ROLES
    assert set(row.expect) == set(roles), "every role needs an expected status"
    mismatches = []
    # Refused callers go first, so that what they must not touch is still there to check; then
    # the owner's permitted keys; the owner in person last, who may find that the write key has
    # already done it (409, or 404 for what it deleted): that is written in the row.
    for role in sorted(roles, key=lambda r: (r == "owner", r.startswith("key:") and row.expect[r] < 400)):
        status = _call(world, row, role)
        if status != row.expect[role]:
            mismatches.append(f"{role}: expected {row.expect[role]}, got {status}")
        refused = role in NOT_OWNERS or (role != "owner" and row.expect[role] >= 400)
        if refused and row.intact is not None and not row.intact(world):
            mismatches.append(f"{role} changed what it may not touch")
            break
    assert not mismatches, f"{row.method} {row.path}: " + "; ".join(mismatches)


# ----------------------------------------------------------------------------- the admin


def _admin_models() -> Iterator[tuple[type[Any], admin.ModelAdmin[Any]]]:
    yield from admin.site._registry.items()


ADMIN_OBJECT_VIEWS = ("change", "history", "delete")
# Custom admin views that move money or moderate, by URL name: their own rows.
ADMIN_CUSTOM = {
    "admin:marketplace_dispute_resolve": "marketplace.change_dispute",
}


def _admin_object(model: type[Any], world: World) -> Any:
    existing = model.objects.order_by("pk").first()
    if existing is not None:
        return existing
    if model is Group:
        return Group.objects.create(name="Support")
    if model.__name__ == "Authenticator":
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        return TOTP.activate(world.users["owner"], generate_totp_secret()).instance
    if model.__name__ == "FeaturedPlacement":
        return model.objects.create(
            listing=Listing.objects.first(),
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(days=1),
        )
    if model.__name__ == "Tag":
        return model.objects.create(name="vision", slug="vision")
    if model.__name__ == "Epoch":
        # A closed epoch row as the epoch service records it (the admin page is what is tested).
        end = timezone.now() - timedelta(days=1)
        return model.objects.create(number=1, starts_at=end - timedelta(days=7), ends_at=end, closed_at=end)
    if model.__name__ == "ChainBurn":
        # A pending on-chain burn batch as the burn service records it, before it is signed.
        return model.objects.create(amount=10**18, ledger_burned=10**18, to_address="0x" + "00" * 18 + "dead")
    if model.__name__ == "KycVerification":
        from tokenomics.services.staking import kyc_verify

        return kyc_verify(user=world.users["owner"], staff_user=world.users["superuser"])[0]
    if model.__name__ == "Integration":
        from accounts.services import integration_create

        return integration_create(user=world.users["owner"], name="Owner's app")
    if model.__name__ == "SevereSlashProposal":
        from compute.services.sla import severe_slash_propose

        return severe_slash_propose(provider=world.users["owner"], reason="Malicious output", evidence={})
    if model.__name__ == "SlashAppeal":
        from compute.services.sla import slash_appeal_create

        return slash_appeal_create(provider=world.users["owner"], slash_id=world.ids["slash"], text="Unfair")
    raise AssertionError(f"the matrix cannot make a {model.__name__} for its admin row")


def test_admin_object_routes(localstripe: LocalStripe) -> None:  # noqa: F811
    """Every ModelAdmin's object pages: anon and plain users go to the login, staff without the
    model's permission get 403, the superuser gets the page."""
    world = _world(localstripe)
    clients = {role: _client(world, role, api=False) for role in ("anon", "owner", "staff", "superuser")}
    expect = {"anon": 302, "owner": 302, "staff": 403, "superuser": 200}
    mismatches: list[str] = []
    paths: list[str] = []
    for model, model_admin in _admin_models():
        obj = _admin_object(model, world)
        info = (model._meta.app_label, model._meta.model_name)
        for view in ADMIN_OBJECT_VIEWS:
            if view == "delete" and not model_admin.has_delete_permission(
                _request_for(world.users["superuser"]), obj
            ):
                continue
            paths.append(f"/admin/{info[0]}/{info[1]}/{obj.pk}/{view}/")
        if model is User:
            paths.append(f"/admin/accounts/user/{obj.pk}/password/")
    for path in paths:
        for role, client in clients.items():
            status = client.get(path).status_code
            if status != expect[role]:
                mismatches.append(f"{role} GET {path}: expected {expect[role]}, got {status}")
    assert not mismatches, "\n".join(mismatches)


def _request_for(user: User) -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_admin_dispute_resolve_needs_a_permission(localstripe: LocalStripe) -> None:  # noqa: F811
    world = _world(localstripe)
    from marketplace.models import Dispute

    dispute = Dispute.objects.get()
    path = f"/admin/marketplace/dispute/{dispute.pk}/resolve/"
    expect = {"anon": 302, "owner": 302, "staff": 403, "superuser": 200}
    got = {role: _client(world, role, api=False).get(path).status_code for role in expect}
    assert got == expect


# ----------------------------------------------------------------------------- coverage


def _routes(patterns: list[Any], prefix: str = "", name_prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            space = f"{name_prefix}{entry.namespace}:" if entry.namespace else name_prefix
            yield from _routes(entry.url_patterns, prefix + route, space)
        elif isinstance(entry, URLPattern):
            yield prefix + route, f"{name_prefix}{entry.name or ''}"


_TAKES_AN_ARGUMENT = re.compile(r"<[^>]+>|\(\?P<")


def test_every_route_with_an_id_or_slug_has_a_row() -> None:
    covered = {row.route for row in ROWS}
    admin_model_routes = {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/{view}"
        for model, _ in _admin_models()
        for view in (*(f"{v}/" for v in ADMIN_OBJECT_VIEWS), "")
    }
    missing = []
    for route, name in _routes(get_resolver().url_patterns):
        if not _TAKES_AN_ARGUMENT.search(route) or route in covered:
            continue
        if route in admin_model_routes or name in ADMIN_CUSTOM:
            continue
        if route.startswith("admin/") and name in {
            "admin:view_on_site",  # a redirect to the object's own page, which has its row
            "admin:app_list",  # an app's index: no object
            "admin:auth_user_password_change",  # in test_admin_object_routes, with the user pages
            "admin:",  # the catch-all of unknown admin paths (no name)
        }:
            continue
        missing.append(route)
    assert not missing, f"routes with an id or slug and no matrix row: {missing}"
