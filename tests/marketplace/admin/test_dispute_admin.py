"""Resolving a dispute in the admin (issue 13 item 3, issue 12 item 10): only staff granted
marketplace.resolve_dispute may; the refund is typed as money, a confirmation shows exactly what
will move before anything does, and who resolved it is recorded. The evidence file is served to
the dispute's parties and to staff allowed to see disputes, and to no one else."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.models import Dispute, DisputeStatus, OrderStatus
from marketplace.services.orders import order_create
from marketplace.services.refunds import order_dispute_open
from tests.accounts.factories import UserFactory, staff_with
from tests.marketplace.commerce import credit_arrival, on_sale
from tests.tokenomics.stripe.conftest import LocalStripe

pytestmark = pytest.mark.django_db


def _dispute(buyer, *, evidence_file=None) -> Dispute:
    order = credit_arrival(
        order_create(buyer=buyer, plan_id=on_sale(price_cents=4_900).pk, rail="card").order
    )
    return order_dispute_open(
        buyer=buyer, order_id=order.pk, reason="Broken", evidence="Zeros", evidence_file=evidence_file
    )


def _url(dispute: Dispute, page: str = "resolve/") -> str:
    return f"/admin/marketplace/dispute/{dispute.pk}/{page}"


def test_staff_without_resolve_dispute_cannot_resolve(client, user) -> None:
    dispute = _dispute(user)
    viewer = staff_with("marketplace.view_dispute")
    client.force_login(viewer)
    assert "Resolve this dispute" not in client.get(_url(dispute, "change/")).content.decode()
    response = client.post(_url(dispute), {"outcome": "refunded", "note": "x", "confirm": "4900"})
    assert response.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.OPEN


def test_a_partial_refund_typed_in_dollars_is_confirmed_before_it_moves(
    client, user, localstripe: LocalStripe
) -> None:
    dispute = _dispute(user)
    staff = staff_with("marketplace.view_dispute", "marketplace.resolve_dispute")
    client.force_login(staff)
    assert "Resolve this dispute" in client.get(_url(dispute, "change/")).content.decode()

    # Cents typed as if they were dollars are refused rather than refunding $1,000.
    response = client.post(_url(dispute), {"outcome": "partial_refund", "refund": "1000", "note": "Half"})
    assert "A partial refund is less than the order total, $49.00." in response.content.decode()

    # Step one shows exactly what will move, and moves nothing.
    review = client.post(_url(dispute), {"outcome": "partial_refund", "refund": "12.50", "note": "Half"})
    html = review.content.decode()
    assert "Refund $12.50 to the buyer out of escrow, paid back by card." in html
    assert "Release $36.50 from escrow to the creator, less the platform fee" in html
    assert 'name="confirm" value="1250"' in html
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.OPEN

    # Step two, with the amount shown, resolves it and records who did it.
    done = client.post(
        _url(dispute), {"outcome": "partial_refund", "refund": "12.50", "note": "Half", "confirm": "1250"}
    )
    assert done.status_code == 302
    resolved = Dispute.objects.select_related("order").get(pk=dispute.pk)
    assert (resolved.status, resolved.refund_amount, resolved.resolved_by) == (
        DisputeStatus.PARTIAL_REFUND,
        1_250,
        staff,
    )
    assert resolved.resolved_at is not None
    assert (resolved.order.status, resolved.order.refunded_amount) == (OrderStatus.RELEASED, 1_250)
    changelist = client.get("/admin/marketplace/dispute/").content.decode()
    assert staff.email in changelist
    assert "Resolved: partial_refund" in client.get(_url(dispute, "history/")).content.decode()


def test_a_confirmation_for_another_amount_moves_nothing(client, user) -> None:
    dispute = _dispute(user)
    client.force_login(staff_with("marketplace.resolve_dispute"))
    response = client.post(
        _url(dispute), {"outcome": "partial_refund", "refund": "20", "note": "x", "confirm": "1250"}
    )
    assert 'name="confirm" value="2000"' in response.content.decode()
    assert Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.OPEN


def test_evidence_is_served_to_the_parties_and_permitted_staff_only(client, user) -> None:
    upload = SimpleUploadedFile("log.html", b"<script>alert(1)</script>", content_type="text/html")
    dispute = _dispute(user, evidence_file=upload)
    url = f"/disputes/{dispute.pk}/evidence/"
    creator = dispute.order.listing.creator
    for allowed in (user, creator, staff_with("marketplace.view_dispute")):
        client.force_login(allowed)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
        # Always a download the browser may not render in the site's origin.
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
    for refused in (UserFactory(), UserFactory(is_staff=True)):
        client.force_login(refused)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
