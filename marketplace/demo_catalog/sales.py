"""The demo story's sales: orders, downloads, releases, refunds, disputes, renewals, reviews."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.db import transaction

from accounts.models import User
from marketplace.demo_catalog.base import LoaderBase
from marketplace.demo_catalog.cards import PlanSpec, Sale, days_between
from marketplace.demo_catalog.constants import HISTORY_DAYS, KEY_PREFIX, SUBSCRIPTION_PERIOD
from marketplace.demo_catalog.listing_specs import LISTINGS
from marketplace.demo_catalog.story_data import (
    FORCED_SALES,
    KIND_WEIGHTS,
    REPLIES_HIGH,
    REPLIES_LOW,
    REVIEW_TEXTS,
)
from marketplace.models import (
    Dispute,
    License,
    LicenseDownload,
    Listing,
    Order,
    PlanKind,
    Review,
    Subscription,
    TaskType,
)
from marketplace.selectors.catalog import latest_downloadable_version
from marketplace.services.licenses import license_download
from marketplace.services.orders import order_fulfil, order_record, order_release, subscription_open
from marketplace.services.pricing import quote
from marketplace.services.refunds import order_dispute_open, order_refund
from marketplace.services.reviews import review_reply, review_upsert
from marketplace.services.subscriptions import subscription_cancel
from tokenomics.models import Asset, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.services.ledger_accounts import user_account_get_or_create
from tokenomics.services.wallet import wallet_top_up


class SalesMixin(LoaderBase):
    # ------------------------------------------------------------------ sales

    def _schedule_sales(
        self, buyers: list[User], plan_specs: dict[str, list[PlanSpec]], published: dict[str, datetime]
    ) -> None:
        rng, now = self.rng, self.now
        by_email = {buyer.email: buyer for buyer in buyers}
        by_title = {spec.title: spec for spec in LISTINGS}
        taken: set[tuple[str, str]] = set()
        sales: list[tuple[Sale, tuple[int, str, str] | None]] = []
        for number, (
            email,
            title,
            kind,
            plan_name,
            rail,
            ago,
            outcome,
            outcome_ago,
            credit,
            review,
        ) in enumerate(FORCED_SALES):
            spec = by_title[title]
            index = next(
                i for i, plan in enumerate(plan_specs[title]) if plan.kind == kind and plan.name == plan_name
            )
            sale = Sale(
                key=f"f{number}",
                buyer=by_email[email],
                spec=spec,
                plan=index,
                rail=rail,
                at=now - timedelta(days=ago),
                outcome=outcome,
                outcome_at=now - timedelta(days=outcome_ago) if outcome_ago else None,
                credit_cents=credit,
            )
            sales.append((sale, review))
            taken.add((email, title))

        earliest = now - timedelta(days=HISTORY_DAYS)
        for spec in LISTINGS:
            if spec.title not in published or spec.popularity == 0:
                continue
            start = max(published[spec.title] + timedelta(days=1), earliest)
            span = (now - timedelta(hours=2) - start).total_seconds()
            count = min(len(buyers) - 1, spec.popularity + rng.randint(0, 3))
            candidates = [b for b in buyers[1:] if (b.email, spec.title) not in taken]
            for buyer in rng.sample(candidates, min(count, len(candidates))):
                taken.add((buyer.email, spec.title))
                plans = plan_specs[spec.title]
                weights = [
                    KIND_WEIGHTS[plan.kind] * (3 if plan.name in ("Basic", "Perpetual", "Metered") else 1)
                    for plan in plans
                ]
                index = rng.choices(range(len(plans)), weights=weights)[0]
                plan = plans[index]
                rail = Rail.AGR if rng.random() < (0.4 if plan.price_agr else 0.15) else Rail.CARD
                # More sales lately than four months ago: the business is growing.
                at = start + timedelta(seconds=span * (1 - rng.random() ** 1.6))
                sale = Sale(
                    key=f"s{len(sales)}", buyer=buyer, spec=spec, plan=index, rail=rail, at=at, outcome=""
                )
                self._decide(sale, plan)
                sales.append((sale, None))

        for sale, review in sales:
            self._schedule_sale(sale)
            self._schedule_review(sale, review)

    def _decide(self, sale: Sale, plan: PlanSpec) -> None:
        """What happens after a random sale: downloaded, refunded, renewed, canceled..."""
        rng, now = self.rng, self.now
        roll = rng.random()
        if plan.kind == PlanKind.PER_INFERENCE:
            sale.outcome, sale.credit_cents = "credit", rng.choice((1_000, 2_500, 5_000, 10_000))
        elif plan.kind == PlanKind.SUBSCRIPTION:
            if roll < 0.12 and now - sale.at > timedelta(days=10):
                sale.outcome = "cancel"
                sale.outcome_at = sale.at + days_between(rng, 5, (now - sale.at).days - 1)
            else:
                sale.outcome = "active"
        elif now - sale.at < self.refund_window:
            sale.outcome = "download" if roll < 0.5 else "escrow"
            sale.outcome_at = sale.at + days_between(rng, 0.05, 2)
            if sale.outcome_at >= now:
                sale.outcome = "escrow"
        elif roll < 0.08:
            sale.outcome, sale.outcome_at = "refund", sale.at + days_between(rng, 0.2, 5)
        elif roll < 0.16:
            sale.outcome, sale.outcome_at = "window", sale.at + self.refund_window + timedelta(minutes=1)
        else:
            sale.outcome, sale.outcome_at = "download", sale.at + days_between(rng, 0.02, 3)

    def _schedule_sale(self, sale: Sale) -> None:
        self._at(sale.at, partial(self._first_sale, sale))
        outcome, at = sale.outcome, sale.outcome_at
        if outcome == "download" and at is not None:
            self._at(at, partial(self._download, sale), durable=True)
        elif outcome == "window" and at is not None:
            self._at(at, partial(self._release, sale))
        elif outcome == "refund" and at is not None:
            self._at(at, partial(self._refund, sale), durable=True)
        elif outcome == "dispute" and at is not None:
            self._at(at, partial(self._dispute, sale), durable=True)
        if outcome in ("active", "cancel", "cancel_end"):
            end = at if outcome == "cancel" and at is not None else self.now
            renewal, number = sale.at + SUBSCRIPTION_PERIOD, 1
            while renewal < end:
                self._at(renewal, partial(self._renew, sale, number))
                renewal, number = renewal + SUBSCRIPTION_PERIOD, number + 1
            if outcome in ("cancel", "cancel_end") and at is not None:
                self._at(at, partial(self._cancel, sale, outcome == "cancel_end"), durable=True)

    def _schedule_review(self, sale: Sale, forced: tuple[int, str, str] | None) -> None:
        rng, spec = self.rng, sale.spec
        if forced is None:
            # A story sale ("f…") has its review written out in FORCED_SALES, or none.
            if sale.key.startswith("f") or sale.outcome in ("refund", "dispute") or rng.random() > 0.62:
                return
            stars = max(1, min(5, round(rng.gauss(spec.quality, 0.95))))
            title, body = rng.choice(REVIEW_TEXTS[stars])
            task = TaskType(spec.task).label.lower()
            forced = (
                stars,
                title.format(title=spec.title, task=task),
                body.format(title=spec.title, task=task),
            )
        at = sale.at + days_between(rng, 1, 20)
        if sale.outcome in ("download", "refund") and sale.outcome_at is not None:
            at = max(at, sale.outcome_at + timedelta(hours=1))
        if at >= self.now:
            return
        self._at(at, partial(self._review, sale, *forced))
        if rng.random() < (0.7 if forced[0] <= 3 else 0.25):
            reply = rng.choice(REPLIES_LOW if forced[0] <= 3 else REPLIES_HIGH)
            self._at(at + days_between(rng, 0.2, 4), partial(self._reply, sale, reply))

    def _sell(self, sale: Sale, subscription: Subscription | None = None, key: str = "") -> Order:
        """An order paid the way a rail pays it: the deposit lands in the buyer's wallet, then the
        order is fulfilled from there (as marketplace.services.orders' payment handler does)."""
        listing = self.listings[sale.spec.title]
        plan = self.plans[sale.spec.title][sale.plan]
        buyer = sale.buyer
        priced = quote(plan=plan, rail=sale.rail, buyer=buyer, credit_cents=sale.credit_cents)
        version = latest_downloadable_version(listing=listing) if plan.kind == PlanKind.ONE_TIME else None
        with transaction.atomic():
            if plan.kind == PlanKind.SUBSCRIPTION and subscription is None:
                subscription = subscription_open(buyer=buyer, plan=plan, rail=priced.rail)
            order = order_record(
                buyer=buyer, plan=plan, priced=priced, version=version, subscription=subscription
            )
            wallet_top_up(
                user=buyer,
                asset=priced.asset,
                amount=priced.total,
                rail="stripe" if priced.asset == Asset.USD else "chain",
                idempotency_key=f"{KEY_PREFIX}:{key or sale.key}",
                prepaid_bonus=plan.kind == PlanKind.PER_INFERENCE,
                reference=order.reference,
                at=self.at,
            )
            wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset=priced.asset)
            locked = (
                Order.objects.select_for_update(of=("self",))
                .select_related("plan", "listing", "buyer")
                .get(pk=order.pk)
            )
            order_fulfil(order=locked, source=wallet, at=self.at)
            self._dated_order(order.pk, "created_at")
            if subscription is not None:
                first = sale.key not in self.subscriptions
                self._dated(
                    Subscription.objects.filter(pk=subscription.pk), *(("created_at",) if first else ())
                )
        self.orders[sale.key] = order.pk
        if subscription is not None:
            self.subscriptions[sale.key] = subscription.pk
        return locked

    def _first_sale(self, sale: Sale) -> None:
        self._sell(sale)

    def _download(self, sale: Sale) -> None:
        license_id = License.objects.filter(order_id=self.orders[sale.key]).values_list("pk", flat=True).get()
        license_download(buyer=sale.buyer, license_id=license_id, at=self.at)
        self._dated(LicenseDownload.objects.filter(license_id=license_id), "created_at")
        self._dated_order(self.orders[sale.key])

    def _release(self, sale: Sale) -> None:
        order_release(order_id=self.orders[sale.key], at=self.at)
        self._dated_order(self.orders[sale.key])

    def _refund(self, sale: Sale) -> None:
        order_refund(
            buyer=sale.buyer, order_id=self.orders[sale.key], reason="Not what I expected", at=self.at
        )
        self._dated_order(self.orders[sale.key])

    def _dispute(self, sale: Sale) -> None:
        order_dispute_open(
            buyer=sale.buyer,
            order_id=self.orders[sale.key],
            reason="The model does not read our receipts",
            evidence=(
                "On 40 receipts from our stores the total was wrong on 23 of them; the listing claims "
                "96% field-level F1. Sample receipts and outputs attached to my support ticket."
            ),
        )
        self._dated(Dispute.objects.filter(order_id=self.orders[sale.key]), "created_at")
        self._dated_order(self.orders[sale.key])

    def _renew(self, sale: Sale, number: int) -> None:
        """A subscription period paid at the end of the last one, as the renewal task does."""
        sub = Subscription.objects.get(pk=self.subscriptions[sale.key])
        if sub.status != Subscription.Status.ACTIVE or not sub.auto_renew:
            return
        previous = self.orders[sale.key]
        self._sell(sale, subscription=sub, key=f"{sale.key}:renewal:{number}")
        order_release(order_id=previous, at=self.at)
        self._dated_order(previous)

    def _cancel(self, sale: Sale, at_period_end: bool) -> None:
        subscription_cancel(
            buyer=sale.buyer,
            subscription_id=self.subscriptions[sale.key],
            at_period_end=at_period_end,
            at=self.at,
        )
        self._dated(Subscription.objects.filter(pk=self.subscriptions[sale.key]))
        self._dated_order(self.orders[sale.key])

    def _review(self, sale: Sale, stars: int, title: str, body: str) -> None:
        listing = self.listings[sale.spec.title]
        self.reviews[sale.key], created = review_upsert(
            buyer=sale.buyer, listing=listing, rating=stars, title=title, body=body
        )
        self._dated(
            Review.objects.filter(pk=self.reviews[sale.key].pk), *(("created_at",) if created else ())
        )
        self._dated(Listing.objects.filter(pk=listing.pk))  # its rating, recounted

    def _reply(self, sale: Sale, text: str) -> None:
        review = self.reviews.get(sale.key)
        if review is not None:
            review_reply(creator=self.listings[sale.spec.title].creator, review=review, reply=text)
            self._dated(Review.objects.filter(pk=review.pk), "replied_at")
