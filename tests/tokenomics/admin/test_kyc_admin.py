"""Staff set the KYC flag in the admin with who and when (issue 18 item 7): from the users list
(the action "Mark KYC verified") or by adding a verification; both go through `kyc_verify`, the
list shows who verified whom and when, and a verification is never edited or deleted. Staff
without the permission cannot verify anyone; a verified person's large payout is then accepted."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import UserFactory, staff_with
from tests.tokenomics.payout_factories import funded_payable
from tokenomics.errors import KycRequired
from tokenomics.models import KycVerification, Payout
from tokenomics.services.payouts import payout_request

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
KYC = "/admin/tokenomics/kycverification/"


def _mark(client, *people):
    return client.post(
        USERS, {"action": "mark_kyc_verified", "_selected_action": [p.pk for p in people]}, follow=True
    )


def test_staff_mark_people_verified_from_the_users_list_with_who_and_when(client, user) -> None:
    staff = staff_with(
        "accounts.view_user", "tokenomics.add_kycverification", "tokenomics.view_kycverification"
    )
    other = UserFactory()
    funded_payable(user=user, amount=100_000)
    with pytest.raises(KycRequired):
        payout_request(user=user, asset="USD", amount=60_001)
    client.force_login(staff)
    before = timezone.now()

    page = client.get(USERS).content.decode()
    assert "Mark KYC verified" in page
    assert "column-kyc_verified" in page  # the column
    response = _mark(client, user, other)
    assert "2 person(s) marked KYC verified." in response.content.decode()
    record = KycVerification.objects.get(user=user)
    assert record.verified_by == staff
    assert before <= record.verified_at <= timezone.now()
    assert LogEntry.objects.filter(object_id=str(user.pk), change_message__contains="KYC verified").exists()

    # Marking again keeps the first verification (who and when) as it was.
    again = _mark(client, user)
    assert "1 person(s) were already verified" in again.content.decode()
    assert KycVerification.objects.get(user=user).verified_at == record.verified_at

    # The list says who verified whom, and when.
    listing = client.get(KYC).content.decode()
    assert user.email in listing
    assert staff.email in listing
    # Now the large payout is accepted (held for staff review, as every large payout is).
    payout = payout_request(user=user, asset="USD", amount=60_001)
    assert payout.status == Payout.Status.NEEDS_REVIEW


def test_staff_add_a_verification_and_it_is_never_edited_or_deleted(client, user) -> None:
    staff = staff_with("tokenomics.add_kycverification", "tokenomics.view_kycverification")
    client.force_login(staff)
    response = client.post(f"{KYC}add/", {"user": user.pk, "note": "passport checked"}, follow=True)
    assert response.status_code == 200
    record = KycVerification.objects.get(user=user)
    assert (record.verified_by, record.note) == (staff, "passport checked")

    duplicate = client.post(f"{KYC}add/", {"user": user.pk, "note": "again"})
    assert duplicate.status_code == 200  # the form again, with its error
    assert "already exists" in duplicate.content.decode()
    assert KycVerification.objects.get(user=user).note == "passport checked"

    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    page = client.get(reverse("admin:tokenomics_kycverification_change", args=[user.pk])).content.decode()
    assert "passport checked" in page
    assert 'name="note"' not in page  # read-only
    assert client.get(f"{KYC}{user.pk}/delete/").status_code == 403
    assert KycVerification.objects.filter(user=user).exists()


def test_staff_without_the_permission_cannot_verify(client, user) -> None:
    viewer = staff_with("accounts.view_user", "accounts.change_user")
    client.force_login(viewer)
    assert "Mark KYC verified" not in client.get(USERS).content.decode()
    _mark(client, user)
    assert client.post(f"{KYC}add/", {"user": user.pk}).status_code == 403
    assert not KycVerification.objects.filter(user=user).exists()
