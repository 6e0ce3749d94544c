"""The /stake/ page's review step puts what is wrong with the amount beside the amount field (the
form's field errors, as every form page does), and moves nothing; the Confirm button, a bare button,
reports a refusal in the messages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.tokenomics.factories import funded_wallet
from tokenomics.money import agr
from tokenomics.selectors.staking import position
from tokenomics.services.staking import stake_deposit

pytestmark = pytest.mark.django_db


def amount_errors(html: str) -> str:
    """The error list beside the amount field (Django's `<field id>_error`)."""
    found = re.search(r'<ul class="errorlist" id="stake-amount_error">(.*?)</ul>', html, re.S)
    assert found, "no error list beside the amount"
    assert 'aria-describedby="stake-amount_error"' in html
    return found.group(1)


@pytest.fixture
def holder():
    user = UserFactory()
    funded_wallet(user=user, amount=agr(1_000), asset="AGR")
    stake_deposit(user=user, amount=agr(400), idempotency_key="first")
    return user


def bonded(user) -> int:
    return position(user, now=timezone.now()).bonded


def test_staking_more_than_the_wallet_holds_is_shown_beside_the_amount(client, holder):
    client.force_login(holder)
    response = client.post(reverse("tokenomics:stake"), {"action": "stake", "amount": "700"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Your wallet holds 600 AGR." in amount_errors(html)
    assert 'value="700"' in html  # the amount comes back as typed
    assert 'id="stake-review"' not in html
    assert bonded(holder) == agr(400)


def test_unstaking_more_than_is_staked_is_shown_beside_the_amount(client, holder):
    client.force_login(holder)
    response = client.post(reverse("tokenomics:stake"), {"action": "unstake", "amount": "401"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "You have 400 AGR staked." in amount_errors(html)
    assert re.search(r'value="unstake"\s+checked', html)  # the action comes back as chosen
    assert bonded(holder) == agr(400)


def test_an_amount_that_is_not_a_number_is_shown_beside_the_amount(client, holder):
    client.force_login(holder)
    response = client.post(reverse("tokenomics:stake"), {"action": "stake", "amount": "lots"})
    assert response.status_code == 400
    assert amount_errors(response.content.decode()).strip()
    assert bonded(holder) == agr(400)


def test_a_fitting_amount_is_reviewed_and_nothing_moves(client, holder):
    client.force_login(holder)
    response = client.post(reverse("tokenomics:stake"), {"action": "stake", "amount": "600"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stake-review"' in html
    assert "errorlist" not in html
    assert bonded(holder) == agr(400)


def test_a_refused_confirm_is_reported_in_the_messages(client, holder):
    client.force_login(holder)
    response = client.post(
        reverse("tokenomics:stake-confirm"), {"action": "stake", "amount": "601", "key": "k"}, follow=True
    )
    html = response.content.decode()
    listed = re.search(r'<ul class="messages" id="messages">(.*?)</ul>', html, re.S)
    assert listed
    assert 'class="alert alert-error"' in listed.group(1)
    assert bonded(holder) == agr(400)
