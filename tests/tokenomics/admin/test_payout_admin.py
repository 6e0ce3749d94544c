"""Staff act on payouts only through the admin actions, which call the payout services: approve
one held for review, settle a USD payout paid or failed (money returned), cancel one not yet sent.
Staff who may only view payouts see them but cannot act."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.accounts.factories import UserFactory, staff_with
from tests.tokenomics.payout_factories import balance_of, funded_payable
from tokenomics.models import Payout
from tokenomics.models.ledger import AccountKind
from tokenomics.services.payouts import payout_request
from tokenomics.services.staking import kyc_verify

pytestmark = pytest.mark.django_db

URL = "/admin/tokenomics/payout/"


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def _act(client, action: str, *payouts: Payout):
    return client.post(URL, {"action": action, "_selected_action": [p.pk for p in payouts]}, follow=True)


def test_actions_approve_settle_and_cancel(client, superuser, user) -> None:
    funded_payable(user=user, amount=200_000)
    kyc_verify(user=user, staff_user=superuser)
    held = payout_request(user=user, asset="USD", amount=70_000)
    paid = payout_request(user=user, asset="USD", amount=10_000)
    failed = payout_request(user=user, asset="USD", amount=20_000)
    canceled = payout_request(user=user, asset="USD", amount=65_000)
    client.force_login(superuser)

    page = client.get(URL)
    assert page.status_code == 200
    assert "$700.00" in page.content.decode()

    assert "1 payout(s) approved." in _act(client, "approve", held).content.decode()
    _act(client, "mark_paid", paid)
    _act(client, "mark_failed", failed)
    _act(client, "cancel", canceled)
    statuses = dict(Payout.objects.values_list("pk", "status"))
    assert statuses == {held.pk: "processing", paid.pk: "paid", failed.pk: "failed", canceled.pk: "canceled"}
    assert Payout.objects.get(pk=held.pk).reviewed_by == superuser
    assert balance_of(user, AccountKind.CREATOR_PAYABLE) == 200_000 - 70_000 - 10_000

    # A refused transition is reported per payout, and changes nothing.
    response = _act(client, "cancel", paid)
    assert "Only a payout not yet sent can be canceled." in response.content.decode()
    assert Payout.objects.get(pk=paid.pk).status == "paid"


def test_view_only_staff_see_payouts_but_cannot_act(client, user) -> None:
    funded_payable(user=user, amount=100_000)
    kyc_verify(user=user, staff_user=UserFactory(is_staff=True))
    held = payout_request(user=user, asset="USD", amount=70_000)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payout"))
    client.force_login(viewer)
    page = client.get(URL).content.decode()
    assert held.reference in page
    assert 'value="approve"' not in page
    _act(client, "approve", held)
    assert Payout.objects.get(pk=held.pk).status == "needs_review"
    assert client.get(f"{URL}{held.pk}/change/").status_code == 200
    assert client.get(f"{URL}add/").status_code == 403


def test_acting_needs_settle_payout_not_just_staff_or_change(client, user) -> None:
    funded_payable(user=user, amount=100_000)
    kyc_verify(user=user, staff_user=UserFactory(is_staff=True))
    held = payout_request(user=user, asset="USD", amount=70_000)
    for perms in (("tokenomics.view_payout",), ("tokenomics.view_payout", "tokenomics.change_payout")):
        client.force_login(staff_with(*perms))
        assert 'value="approve"' not in client.get(URL).content.decode()
        _act(client, "approve", held)
        assert Payout.objects.get(pk=held.pk).status == "needs_review"
    settler = staff_with("tokenomics.view_payout", "tokenomics.settle_payout")
    client.force_login(settler)
    assert 'value="approve"' in client.get(URL).content.decode()
    assert "1 payout(s) approved." in _act(client, "approve", held).content.decode()
    approved = Payout.objects.get(pk=held.pk)
    assert (approved.status, approved.reviewed_by) == ("processing", settler)
    assert approved.reviewed_at is not None
    # Who did it, and when, is on the payout's page and in its admin history.
    page = client.get(f"{URL}{held.pk}/change/").content.decode()
    assert settler.email in page
    history = client.get(f"{URL}{held.pk}/history/").content.decode()
    assert "Payout approved by staff action." in history
