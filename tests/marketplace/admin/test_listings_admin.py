"""Staff moderate listings in the admin through the services (with a reason); versions, plans and
listings are read-only there, and a version's key is never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.models import Collection, FeaturedPlacement, Listing, ListingStatus, PlanKind
from marketplace.services import listings as svc
from marketplace.services import versions as version_services
from tests.accounts.factories import UserFactory, staff_with
from tests.marketplace.factories import CategoryFactory, ListingFactory, PlanFactory, VersionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/marketplace/listing/"


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def listing(db):
    listing = ListingFactory(title="Sellable")
    PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=10)
    VersionFactory(listing=listing)
    return listing


def _act(client, action, listings, **extra):
    data = {"action": action, "_selected_action": [str(item.pk) for item in listings], "index": "0"} | extra
    return client.post(CHANGELIST, data, follow=True)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/marketplace/category/",
        "/admin/marketplace/tag/",
        CHANGELIST,
        "/admin/marketplace/listingversion/",
        "/admin/marketplace/plan/",
        "/admin/marketplace/collection/",
        "/admin/marketplace/collection/add/",
        "/admin/marketplace/featuredplacement/",
        "/admin/marketplace/featuredplacement/add/",
    ],
)
def test_pages_open(admin_client, listing, path):
    assert admin_client.get(path).status_code == 200


def test_changelist_filters_by_status_and_tier(admin_client, listing):
    ListingFactory(title="Hidden draft", status=ListingStatus.DRAFT)
    html = admin_client.get(CHANGELIST, {"status__exact": "draft"}).content.decode()
    assert "Hidden draft" in html
    assert "Sellable" not in html
    html = admin_client.get(CHANGELIST, {"quality_tier__exact": "community"}).content.decode()
    assert "Sellable" in html
    assert "Hidden draft" in html
    assert "quality_tier__exact=premium" in html
    assert "status__exact=taken_down" in html


def test_suspend_take_down_and_restore_with_a_reason(admin_client, listing):
    response = _act(admin_client, "suspend", [listing], reason="Licence unclear")
    assert "Suspended 1 listing." in _messages(response)
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("suspended", "Licence unclear")

    response = _act(admin_client, "take_down", [listing], reason="Infringing")
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("taken_down", "Infringing")

    response = _act(admin_client, "restore", [listing])
    assert "Restored 1 listing." in _messages(response)
    listing.refresh_from_db()
    assert (listing.status, listing.status_reason) == ("published", "")


def test_suspend_without_a_reason_is_refused_per_listing(admin_client, listing):
    response = _act(admin_client, "suspend", [listing], reason="  ")
    assert any("Sellable: Some fields are not valid." in m for m in _messages(response))
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_restore_reports_listings_that_cannot_be_published(admin_client, listing):
    bare = ListingFactory(title="No plans")
    staff = UserFactory(is_staff=True)
    svc.listing_moderate(listing=bare, staff_user=staff, status="suspended", reason="x")
    svc.listing_moderate(listing=listing, staff_user=staff, status="suspended", reason="x")
    response = _act(admin_client, "restore", [bare, listing])
    messages = _messages(response)
    assert "Restored 1 listing." in messages
    assert any(m.startswith("No plans: This listing cannot be published yet.") for m in messages)
    assert Listing.objects.get(pk=bare.pk).status == "suspended"
    assert Listing.objects.get(pk=listing.pk).status == "published"


def test_set_quality_tier(admin_client, listing):
    response = _act(admin_client, "set_quality_tier", [listing], quality_tier="premium")
    assert "Set the quality tier of 1 listing." in _messages(response)
    listing.refresh_from_db()
    assert listing.quality_tier == "premium"
    response = _act(admin_client, "set_quality_tier", [listing], quality_tier="")
    assert "Choose a quality tier next to the action." in _messages(response)


def test_staff_without_change_permission_see_no_moderation_actions(client, listing):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_listing"))
    client.force_login(viewer)
    html = client.get(CHANGELIST).content.decode()
    assert "Sellable" in html
    assert 'value="suspend"' not in html
    _act(client, "suspend", [listing], reason="x")
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_listing_change_page_is_read_only(admin_client, listing):
    html = admin_client.get(f"{CHANGELIST}{listing.pk}/change/").content.decode()
    assert 'name="title"' not in html
    assert 'name="_save"' not in html
    admin_client.post(f"{CHANGELIST}{listing.pk}/change/", {"title": "Changed", "status": "draft"})
    listing.refresh_from_db()
    assert listing.title == "Sellable"
    assert listing.status == ListingStatus.PUBLISHED


def test_version_admin_never_shows_the_key_or_path(admin_client, listing):
    version = version_services.version_upload(
        listing=listing,
        actor=listing.creator,
        version="9.0.0",
        changelog="",
        file=SimpleUploadedFile("secret.bin", b"weights" * 100),
        triton_model_name="",
    )
    html = admin_client.get(f"/admin/marketplace/listingversion/{version.pk}/change/").content.decode()
    assert "secret.bin" in html
    assert version.checksum_sha256 in html
    assert version.wrapped_key not in html
    assert version.wrapped_key.split(":", 1)[1][:20] not in html
    assert version.artefact.name not in html


def test_collection_with_items(admin_client, listing):
    response = admin_client.post(
        "/admin/marketplace/collection/add/",
        {
            "title": "Staff picks",
            "slug": "staff-picks",
            "description": "",
            "is_published": "on",
            "position": "0",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-listing": str(listing.pk),
            "items-0-position": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    collection = Collection.objects.get()
    assert list(collection.listings.all()) == [listing]


def test_featured_placement_grant_goes_through_the_service(admin_client, listing):
    ends = timezone.now() + timedelta(days=7)
    response = admin_client.post(
        "/admin/marketplace/featuredplacement/add/",
        {
            "listing": str(listing.pk),
            "ends_at_0": ends.strftime("%Y-%m-%d"),
            "ends_at_1": ends.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302
    placement = FeaturedPlacement.objects.get()
    assert placement.amount_cents == 0
    assert placement.starts_at <= timezone.now()
    listing.refresh_from_db()
    assert listing.featured_until == placement.ends_at


def test_featured_placement_refused_for_drafts_and_past_ends(admin_client):
    draft = ListingFactory(status=ListingStatus.DRAFT, title="Draft one")
    future = timezone.now() + timedelta(days=1)
    response = admin_client.post(
        "/admin/marketplace/featuredplacement/add/",
        {
            "listing": str(draft.pk),
            "ends_at_0": future.strftime("%Y-%m-%d"),
            "ends_at_1": future.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert "Only a published listing can be featured." in response.content.decode()
    published = ListingFactory()
    response = admin_client.post(
        "/admin/marketplace/featuredplacement/add/",
        {"listing": str(published.pk), "ends_at_0": "2000-01-01", "ends_at_1": "00:00:00"},
    )
    assert response.status_code == 200
    assert "Choose an end in the future." in response.content.decode()
    assert not FeaturedPlacement.objects.exists()


def test_non_staff_cannot_reach_the_admin(client, listing):
    client.force_login(UserFactory())
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_category_tree_is_editable(admin_client):
    parent = CategoryFactory(name="Vision", slug="vision")
    response = admin_client.post(
        "/admin/marketplace/category/add/",
        {
            "name": "Detection",
            "slug": "detection",
            "parent": str(parent.pk),
            "position": "1",
            "description": "",
        },
    )
    assert response.status_code == 302


def test_moderating_needs_moderate_listing_and_is_recorded_with_who(client, listing):
    editor = staff_with("marketplace.view_listing", "marketplace.change_listing")
    client.force_login(editor)
    assert 'value="suspend"' not in client.get(CHANGELIST).content.decode()
    moderator = staff_with("marketplace.view_listing", "marketplace.moderate_listing")
    client.force_login(moderator)
    assert "Suspended 1 listing." in _messages(_act(client, "suspend", [listing], reason="Malware report"))
    assert Listing.objects.get(pk=listing.pk).status == ListingStatus.SUSPENDED
    history = client.get(f"{CHANGELIST}{listing.pk}/history/").content.decode()
    assert "Suspended: Malware report." in history
    assert moderator.email in history
