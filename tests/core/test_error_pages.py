"""The site's own 404 and 500 pages (issue 12, item 10).

`make demo` runs with DEBUG on: a page a view refuses (its Http404) gets the site's 404 page there
too (core.middleware.SitePageNotFoundMiddleware); only a path no view matches keeps Django's debug
page for developers. The tests run in both modes.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from core import views as core_views
from marketplace.models import ListingStatus
from tests.marketplace.factories import ListingFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo-debug"])
@pytest.mark.parametrize("status", [ListingStatus.SUSPENDED, ListingStatus.DRAFT])
def test_a_listing_that_is_not_public_shows_the_sites_404_page(settings, status, debug):
    settings.DEBUG = debug
    listing = ListingFactory(status=status)
    response = Client().get(reverse("marketplace:listing", args=[listing.slug]))
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    html = response.content.decode()
    assert '<header class="site-header">' in html  # the site's own layout, not Django's bare page
    assert "Page not found" in html
    assert f'href="{reverse("marketplace:catalog")}"' in html
    assert listing.title not in html  # nothing about the hidden listing leaks


def test_an_unknown_api_path_still_answers_json(settings):
    settings.DEBUG = False
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_500_page_is_styled_like_the_site_and_needs_no_database(django_assert_num_queries):
    request = RequestFactory().get("/boom")

    def _user_from_a_failed_database():
        raise OperationalError("the database is down")

    # The 500 page is what shows when the database or cache has failed, so loading the user (a
    # session read) would fail again inside the error handler. This lazy user stands in for that
    # failure: the page must render without ever touching it.
    request.user = SimpleLazyObject(_user_from_a_failed_database)
    with django_assert_num_queries(0):
        response = core_views.server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "css/agora.css" in html
    assert '<header class="site-header">' in html
    assert "Something went wrong" in html


def test_an_unknown_path_keeps_the_debug_page_for_developers(settings):
    settings.DEBUG = True
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" not in [t.name for t in response.templates]
