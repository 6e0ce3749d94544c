"""The provider console shows each slash with its evidence and takes an appeal; staff decide
appeals and severe proposals in the admin, which calls the SLA services."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compute.models import Node, SevereSlashProposal, SlashAppeal
from compute.services.sla import provider_sla_evaluate, severe_slash_propose
from tests.accounts.factories import UserFactory
from tests.compute.sla.conftest import node_of, record_day, staked_provider
from tokenomics.models import LedgerAccount

pytestmark = pytest.mark.django_db


def _slashed():
    provider = staked_provider()
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    record_day(node_of(provider, name="gpu-east"), end=end, probes=100, probes_ok=90)
    slash = provider_sla_evaluate(provider=provider, end=end)
    assert slash is not None
    return provider, slash


def test_the_console_shows_a_slash_with_its_evidence_and_takes_an_appeal(client) -> None:
    provider, slash = _slashed()
    client.force_login(provider)

    page = client.get("/provider/").content.decode()

    assert f'data-slash="{slash.pk}"' in page
    assert "Availability: 90 of 100 probes and calls succeeded" in page
    assert "gpu-east" in page
    assert "Appeal this slash" in page

    response = client.post(f"/provider/slashes/{slash.pk}/appeal", {"text": "The DC lost power."})
    assert response.status_code == 302
    appeal = SlashAppeal.objects.get(slash=slash)
    assert appeal.text == "The DC lost power."
    page = client.get("/provider/").content.decode()
    assert 'data-appeal-state="open"' in page
    assert "Appeal this slash" not in page


def test_another_users_slash_cannot_be_appealed(client) -> None:
    _, slash = _slashed()
    client.force_login(UserFactory())
    assert client.post(f"/provider/slashes/{slash.pk}/appeal", {"text": "mine?"}).status_code == 404
    assert not SlashAppeal.objects.exists()


def test_a_blank_appeal_is_refused_with_a_message(client) -> None:
    provider, slash = _slashed()
    client.force_login(provider)
    response = client.post(f"/provider/slashes/{slash.pk}/appeal", {"text": " "}, follow=True)
    assert "Say why the slash is wrong." in response.content.decode()
    assert not SlashAppeal.objects.exists()


def test_staff_uphold_an_appeal_in_the_admin_and_the_stake_comes_back(client) -> None:
    provider, slash = _slashed()
    stake = LedgerAccount.objects.get(owner=provider, kind="stake")
    before = int(stake.balance) + slash.total
    client.force_login(provider)
    client.post(f"/provider/slashes/{slash.pk}/appeal", {"text": "Power cut."})
    appeal = SlashAppeal.objects.get(slash=slash)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/compute/slashappeal/", {"action": "uphold", "_selected_action": [appeal.pk]}, follow=True
    )

    assert "1 upheld (slashes reversed)." in response.content.decode()
    stake.refresh_from_db()
    assert int(stake.balance) == before
    slash.refresh_from_db()
    assert slash.reversal_id is not None


def test_staff_uphold_a_severe_proposal_in_the_admin(client) -> None:
    provider = staked_provider()
    node = node_of(provider)
    proposal = severe_slash_propose(provider=provider, reason="Malicious output", evidence={"sample": "x"})
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    client.post(
        "/admin/compute/severeslashproposal/", {"action": "uphold", "_selected_action": [proposal.pk]}
    )

    proposal.refresh_from_db()
    assert proposal.state == "upheld"
    assert proposal.slash is not None
    assert proposal.slash.applied_bps == 1000  # asked 15%, Silver's cap is 10%
    assert not Node.objects.get(pk=node.pk).is_active
    assert SevereSlashProposal.objects.count() == 1
    assert proposal.decided_by is not None
    assert proposal.decided_by.is_staff


def test_a_buyer_reports_a_served_call_and_it_becomes_a_severe_proposal() -> None:
    import uuid

    from rest_framework.test import APIClient

    from accounts import services as account_services
    from compute.models import InferenceRequest
    from tests.marketplace.factories import ListingFactory

    provider, buyer = staked_provider(), UserFactory()
    call = InferenceRequest.objects.create(
        request_id=uuid.uuid4(),
        user=buyer,
        listing=ListingFactory(),
        entitlement="prepaid",
        via="api",
        node_id=7,
        provider=provider,
        outcome="ok",
        created_at=timezone.now(),
    )
    client = APIClient()
    key = account_services.api_key_create(user=buyer, name="k", scopes=["inference"]).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"request_id": str(call.request_id), "reason": "It returned a phishing link."}

    created = client.post("/api/v1/provider-reports", body, format="json")
    assert created.status_code == 201, created.content
    proposal = SevereSlashProposal.objects.get()
    assert (proposal.provider, proposal.reported_by, proposal.source) == (provider, buyer, "buyer")
    assert proposal.evidence["request_id"] == str(call.request_id)
    assert proposal.evidence["node_id"] == 7
    assert client.post("/api/v1/provider-reports", body, format="json").status_code == 409

    stranger = APIClient()
    other_key = account_services.api_key_create(user=UserFactory(), name="k", scopes=["inference"]).secret
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert stranger.post("/api/v1/provider-reports", body, format="json").status_code == 404
    assert SevereSlashProposal.objects.count() == 1
