"""The governance pages and API through Django's client, on the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.models import Comment, Delegation, Proposal, Vote
from governance.services.proposals import proposal_create
from tests.accounts.factories import UserFactory
from tests.governance.conftest import economic_proposal, travel_to, voting_open
from tests.governance.factories import agr_credit
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameter_get

pytestmark = [pytest.mark.django_db]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_index_filters_and_the_proposal_page_renders_sanitised_markdown(proposer) -> None:
    proposal = economic_proposal(proposer)
    proposal.body = "Hello **there** <script>alert(1)</script>"
    proposal.save(update_fields=["body"])
    page = Client().get("/governance/?state=discussion&kind=economic")
    assert page.status_code == 200
    assert proposal.title in page.content.decode()
    assert proposal.title not in Client().get("/governance/?state=voting").content.decode()
    detail = Client().get(f"/governance/proposals/{proposal.pk}/").content.decode()
    assert "<strong>there</strong>" in detail
    assert "<script>alert(1)</script>" not in detail
    assert "sale.treasury_bps" in detail  # the diff
    assert 'hx-trigger="every 5s"' in detail  # the live tally polls
    assert "AGR AGR" not in detail


def test_vote_comment_and_tally_from_the_page(proposer) -> None:
    voter = UserFactory()
    agr_credit(voter, agr(50_000))
    proposal = economic_proposal(proposer)
    client = _client(voter)
    client.post(f"/governance/proposals/{proposal.pk}/comments/", {"body": "I *agree*."})
    assert Comment.objects.filter(proposal=proposal, author=voter).count() == 1
    with travel_to(voting_open(proposal)):
        page = client.get(f"/governance/proposals/{proposal.pk}/").content.decode()
        assert 'id="snapshot-power">50K' in page or 'id="snapshot-power">50,000' in page
        response = client.post(
            f"/governance/proposals/{proposal.pk}/vote/", {"choice": "against", "reason": "No."}
        )
        assert response.status_code == 302
        client.post(f"/governance/proposals/{proposal.pk}/vote/", {"choice": "for"})
        tally = Client().get(f"/governance/proposals/{proposal.pk}/tally/")
    vote = Vote.objects.get(proposal=proposal, voter=voter)
    assert (vote.choice, vote.weight) == ("for", agr(50_000))
    assert tally.status_code == 200
    assert 'role="progressbar"' in tally.content.decode()


def test_propose_form_with_a_parameter_picker(proposer) -> None:
    client = _client(proposer)
    assert "sale.network_fee_bps" in client.get("/governance/propose/").content.decode()
    value = parameter_get("sale.treasury_bps") + 10
    response = client.post(
        "/governance/propose/",
        {
            "kind": "economic",
            "title": "A bit more",
            "body": "Why.",
            "parameter_0": "sale.treasury_bps",
            "value_0": value,
        },
    )
    proposal = Proposal.objects.get(title="A bit more")
    assert response.status_code == 302
    assert proposal.changes.get().new_value == value
    refused = client.post(
        "/governance/propose/",
        {
            "kind": "economic",
            "title": "Too much",
            "body": "Why.",
            "parameter_0": "sale.treasury_bps",
            "value_0": 900,
        },
    )
    assert refused.status_code == 200
    assert not Proposal.objects.filter(title="Too much").exists()


def test_delegation_from_the_holders_page() -> None:
    alice, bob = UserFactory(), UserFactory()
    client = _client(alice)
    assert client.get(f"/governance/holders/{bob.pk}/").status_code == 200
    client.post(f"/governance/holders/{bob.pk}/delegate/")
    assert Delegation.objects.get(delegator=alice, ended_at__isnull=True).delegate == bob
    client.post(f"/governance/holders/{bob.pk}/delegate/", {"remove": "on"})
    assert not Delegation.objects.filter(delegator=alice, ended_at__isnull=True).exists()


def test_api_propose_vote_queue_execute(proposer) -> None:
    voter = UserFactory()
    agr_credit(voter, agr(1_000_000))
    api = APIClient()
    api.force_authenticate(proposer)
    created = api.post(
        "/api/v1/proposals",
        {
            "kind": "economic",
            "title": "API",
            "body": "Body.",
            "changes": [{"parameter": "sale.treasury_bps", "new_value": "310"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pid = created.json()["id"]
    assert created.json()["state"] == "discussion"
    proposal = Proposal.objects.get(pk=pid)
    voting = APIClient()
    voting.force_authenticate(voter)
    early = voting.post(f"/api/v1/proposals/{pid}/votes", {"choice": "for"}, format="json")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "voting_closed")
    with travel_to(voting_open(proposal)):
        cast = voting.post(
            f"/api/v1/proposals/{pid}/votes", {"choice": "for", "reason": "Yes"}, format="json"
        )
        assert cast.json()["weight"] == str(agr(1_000_000))
    proposal.refresh_from_db()
    with travel_to(proposal.voting_ends_at + timedelta(seconds=1)):
        assert voting.post(f"/api/v1/proposals/{pid}/queue").status_code == 200
        early = voting.post(f"/api/v1/proposals/{pid}/execute")
        assert (early.status_code, early.json()["error"]["code"]) == (409, "proposal_state_invalid")
    proposal.refresh_from_db()
    with travel_to(proposal.eta):
        done = voting.post(f"/api/v1/proposals/{pid}/execute")
        assert done.json()["state"] == "executed"
        assert voting.post(f"/api/v1/proposals/{pid}/execute").status_code == 409
    listed = APIClient().get("/api/v1/proposals?state=executed").json()
    assert [p["id"] for p in listed["results"]] == [pid]
    assert APIClient().get(f"/api/v1/proposals/{pid}").json()["tally"]["votes_for"] == str(agr(1_000_000))


def test_api_delegation_and_its_removal() -> None:
    alice, bob = UserFactory(), UserFactory()
    api = APIClient()
    api.force_authenticate(alice)
    assert (
        api.post("/api/v1/delegations", {"delegate_id": bob.pk}, format="json").json()["delegate_id"]
        == bob.pk
    )
    assert api.post("/api/v1/delegations", {"delegate_id": alice.pk}, format="json").json()["error"][
        "code"
    ] == ("delegation_invalid")
    assert api.delete("/api/v1/delegations").json()["delegate_id"] is None


def test_api_propose_with_an_idempotency_key_locks_one_bond(proposer) -> None:
    api = APIClient()
    api.force_authenticate(proposer)
    body = {"kind": "technical", "title": "Once", "body": "Only once."}
    first = api.post("/api/v1/proposals", body, format="json", HTTP_IDEMPOTENCY_KEY="gov-once")
    again = api.post("/api/v1/proposals", body, format="json", HTTP_IDEMPOTENCY_KEY="gov-once")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Proposal.objects.filter(title="Once").count() == 1


def test_the_proposer_submits_a_draft_from_its_page(proposer) -> None:
    draft = proposal_create(proposer=proposer, kind="technical", title="A draft", body="Later.", submit=False)
    page = _client(proposer).get(f"/governance/proposals/{draft.pk}/").content.decode()
    assert "Submit (locks the 100,000 AGR bond)" in page
    assert (
        "Submit (locks"
        not in _client(UserFactory()).get(f"/governance/proposals/{draft.pk}/").content.decode()
    )
    assert _client(UserFactory()).post(f"/governance/proposals/{draft.pk}/submit/").status_code == 403
    response = _client(proposer).post(f"/governance/proposals/{draft.pk}/submit/")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.submitted_at is not None, draft.bond) == (True, agr(100_000))
