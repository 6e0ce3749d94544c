"""The usage page's rate control: the buyer's recent served calls, each with a 1-5 star form until
rated (htmx swaps the cell in place); only the caller may rate, once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from compute.models import CallRating
from tests.accounts.factories import UserFactory
from tests.compute.reputation.conftest import served_call

pytestmark = pytest.mark.django_db


def test_recent_served_calls_are_listed_with_a_rate_control(client) -> None:
    buyer, provider = UserFactory(), UserFactory()
    fresh = served_call(buyer=buyer, provider=provider, at=timezone.now() - timedelta(minutes=5))
    old = served_call(buyer=buyer, provider=provider, at=timezone.now() - timedelta(days=31))
    failed = served_call(buyer=buyer, provider=provider, at=timezone.now(), outcome="failed")
    others = served_call(buyer=UserFactory(), provider=provider, at=timezone.now())
    free = served_call(buyer=buyer, provider=provider, at=timezone.now(), entitlement="playground")
    own = served_call(buyer=buyer, provider=buyer, at=timezone.now())
    client.force_login(buyer)

    body = client.get("/usage/").content.decode()

    recent = body.split('id="recent-calls"')[1].split("</table>")[0]
    assert f'data-call="{fresh.request_id}"' in recent
    assert f'action="/usage/calls/{fresh.request_id}/rating"' in recent
    old_row = recent.split(f'data-call="{old.request_id}"')[1].split("</tr>")[0]
    assert "Too old to rate" in old_row
    assert str(failed.request_id) not in recent
    assert str(others.request_id) not in recent
    assert str(free.request_id) not in recent  # free playground calls are not rated
    assert str(own.request_id) not in recent  # nor calls the buyer's own node served


def test_a_rating_from_the_page_is_stored_once_and_swapped_in(client) -> None:
    buyer, provider = UserFactory(), UserFactory()
    call = served_call(buyer=buyer, provider=provider, at=timezone.now())
    client.force_login(buyer)
    url = f"/usage/calls/{call.request_id}/rating"

    swapped = client.post(url, {"stars": "4"}, HTTP_HX_REQUEST="true")

    assert swapped.status_code == 200
    assert 'data-rating="4"' in swapped.content.decode()
    assert CallRating.objects.get().stars == 4

    again = client.post(url, {"stars": "1"}, HTTP_HX_REQUEST="true")
    assert "already rated" in again.content.decode()
    plain = client.post(url, {"stars": "1"})
    assert plain.status_code == 302
    assert CallRating.objects.get().stars == 4  # the first rating stands
    assert 'data-rating="4"' in client.get("/usage/").content.decode()


@pytest.mark.parametrize("stars", ["0", "6", "", "five", "44"])
def test_the_page_refuses_stars_outside_one_to_five(client, stars) -> None:
    buyer = UserFactory()
    call = served_call(buyer=buyer, provider=UserFactory(), at=timezone.now())
    client.force_login(buyer)

    response = client.post(f"/usage/calls/{call.request_id}/rating", {"stars": stars}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "1 to 5 stars" in response.content.decode()
    assert not CallRating.objects.exists()


def test_another_buyers_call_is_not_found_and_anonymous_visitors_log_in(client) -> None:
    call = served_call(buyer=UserFactory(), provider=UserFactory(), at=timezone.now())
    url = f"/usage/calls/{call.request_id}/rating"

    assert "/accounts/login/" in client.post(url, {"stars": "5"})["Location"]
    client.force_login(UserFactory())
    assert client.post(url, {"stars": "5"}).status_code == 404
    assert not CallRating.objects.exists()


def test_stars_outside_one_to_five_are_shown_beside_the_stars(client) -> None:
    buyer = UserFactory()
    call = served_call(buyer=buyer, provider=UserFactory(), at=timezone.now())
    client.force_login(buyer)

    html = client.post(
        f"/usage/calls/{call.request_id}/rating", {"stars": "9"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    beside = re.search(
        rf'<ul class="errorlist" id="rating-{call.request_id}-stars_error">(.*?)</ul>', html, re.S
    )
    assert beside
    assert "A rating is 1 to 5 stars." in beside.group(1)
    assert f'aria-describedby="rating-{call.request_id}-stars_error"' in html
    assert 'class="form-errors"' not in html
    assert not CallRating.objects.exists()


def test_a_second_rating_is_refused_at_the_top_of_the_cells_form(client) -> None:
    buyer = UserFactory()
    call = served_call(buyer=buyer, provider=UserFactory(), at=timezone.now())
    client.force_login(buyer)
    url = f"/usage/calls/{call.request_id}/rating"
    client.post(url, {"stars": "4"}, HTTP_HX_REQUEST="true")

    html = client.post(url, {"stars": "1"}, HTTP_HX_REQUEST="true").content.decode()

    top = re.search(
        r'<div class="form-errors"[^>]*><ul class="errorlist nonfield">(.*?)</ul></div>', html, re.S
    )
    assert top
    assert "This call was already rated." in top.group(1)
    assert CallRating.objects.get().stars == 4
    # Without htmx the usage page says it in the messages.
    page = client.post(url, {"stars": "1"}, follow=True).content.decode()
    listed = re.search(r'<ul class="messages" id="messages">(.*?)</ul>', page, re.S)
    assert listed
    assert "This call was already rated." in listed.group(1)
