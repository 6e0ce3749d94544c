"""The creator's listing pages: my listings, new listing, manage (details with preview, versions,
plans, publishing). Another user's listing is a 404 everywhere here."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.artefacts import iter_plaintext
from marketplace.models import Listing, ListingStatus, ListingVersion, Plan, PlanKind
from marketplace.services import listing_fields
from marketplace.services import listings as svc
from marketplace.services import plans as plan_services
from marketplace.services import versions as version_services
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, PlanFactory, VersionFactory

pytestmark = pytest.mark.django_db

LIST = "/creator/listings/"
NEW = "/creator/listings/new/"
PREVIEW = "/creator/listings/preview/"


@pytest.fixture
def signed_in(client, creator):
    client.force_login(creator)
    return client


@pytest.fixture
def draft(creator, category):
    return svc.listing_create(
        creator=creator,
        title="Tiny Llama",
        summary="A small model.",
        category=category,
        task="text_generation",
        size="small",
        model_card="# Tiny",
    )


def manage(slug: str) -> str:
    return f"/creator/listings/{slug}/"


def field_errors(html: str, field: str) -> str:
    """The error list rendered inside the field's own wrapper (errors sit next to their field)."""
    match = re.search(
        rf'<div class="field-{field}"[^>]*>(.*?)</div>\s*'
        r'(?:<div class="field-|<div class="model-card|<button)',
        html,
        re.S,
    )
    assert match, f"no wrapper for {field}"
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', match.group(1), re.S))


def all_errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def listing_form(category, **overrides):
    return {
        "title": "Tiny Llama",
        "summary": "A small language model.",
        "category": str(category.pk),
        "task": "text_generation",
        "size": "small",
        "tags": "llm, chat",
        "model_card": "# Tiny\n\n**fast**",
        "license_terms": "MIT",
        "sample_io": "Hello | Hi there",
        "benchmarks": "MMLU | 25.3 | %\nARC | 30",
    } | overrides


# ----------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    "path",
    [
        LIST,
        NEW,
        manage("x"),
        "/creator/listings/x/versions/",
        "/creator/listings/x/plans/",
        "/creator/plans/1/deactivate/",
    ],
)
def test_anonymous_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_another_users_listing_is_404_on_every_page_and_action(client, creator, category):
    stranger = UserFactory()
    client.force_login(stranger)
    published = ListingFactory(creator=creator)
    plan = PlanFactory(listing=published)
    draft = ListingFactory(creator=creator, status=ListingStatus.DRAFT)
    for listing in (published, draft):
        slug = listing.slug
        assert client.get(manage(slug)).status_code == 404
        assert client.post(manage(slug), listing_form(category, title="Hijacked")).status_code == 404
        assert client.post(f"/creator/listings/{slug}/publish/").status_code == 404
        assert client.post(f"/creator/listings/{slug}/unpublish/").status_code == 404
        upload = {"version": "9.9.9", "artefact": SimpleUploadedFile("m.bin", b"x"), "triton_model_name": ""}
        assert client.post(f"/creator/listings/{slug}/versions/", upload).status_code == 404
        plan_form = {"kind": "one_time", "name": "Cheap", "price": "1.00", "rate_limit_per_minute": "60"}
        assert client.post(f"/creator/listings/{slug}/plans/", plan_form).status_code == 404
    assert client.post(f"/creator/plans/{plan.pk}/deactivate/").status_code == 404
    assert client.post("/creator/listings/missing/publish/").status_code == 404
    published.refresh_from_db()
    draft.refresh_from_db()
    assert published.status == ListingStatus.PUBLISHED
    assert published.title != "Hijacked"
    assert draft.status == ListingStatus.DRAFT
    assert draft.title != "Hijacked"
    assert not ListingVersion.objects.exists()
    assert Plan.objects.get(pk=plan.pk).is_active
    assert Plan.objects.count() == 1
    # And my listings page shows none of them.
    assert published.title not in client.get(LIST).content.decode()


def test_csrf_is_enforced(creator, category):
    client = Client(enforce_csrf_checks=True)
    client.force_login(creator)
    assert client.post(NEW, listing_form(category)).status_code == 403
    assert not Listing.objects.exists()
    page = client.get(NEW).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(NEW, listing_form(category) | {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


# ----------------------------------------------------------------------------- my listings


def test_empty_state_invites_the_first_listing(signed_in):
    html = signed_in.get(LIST).content.decode()
    assert "Create your first listing" in html
    assert f'href="{NEW}"' in html


def test_my_listings_show_status_plans_versions_and_actions(signed_in, creator, draft):
    published = ListingFactory(creator=creator, title="Vision Pro Max")
    PlanFactory(
        listing=published, kind=PlanKind.SUBSCRIPTION, name="Pro", price_cents=1_900, interval="month"
    )
    PlanFactory(listing=published, kind=PlanKind.ONE_TIME, name="Old", price_cents=100, is_active=False)
    VersionFactory(listing=published, version="2.10.0", major=2, minor=10)
    VersionFactory(listing=published, version="2.9.0", major=2, minor=9)
    html = signed_in.get(LIST).content.decode()
    assert "Tiny Llama" in html
    assert "Vision Pro Max" in html
    row = re.search(rf'<tr id="listing-{published.slug}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-status="published"' in row
    assert "Pro: $19.00 / month" in row
    assert "Old" not in row
    assert "2.10.0" in row
    assert "(2 in all)" in row
    assert f"/creator/listings/{published.slug}/unpublish/" in row
    draft_row = re.search(rf'<tr id="listing-{draft.slug}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-status="draft"' in draft_row
    assert "No plans yet" in draft_row
    assert f"/creator/listings/{draft.slug}/publish/" in draft_row


# ----------------------------------------------------------------------------- create and edit


def test_create_listing_makes_a_draft_and_goes_to_its_page(signed_in, creator, category):
    response = signed_in.post(NEW, listing_form(category))
    listing = Listing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == manage(listing.slug)
    assert listing.creator == creator
    assert listing.status == ListingStatus.DRAFT
    assert sorted(listing.tags.values_list("name", flat=True)) == ["chat", "llm"]
    assert listing.sample_io == [{"input": "Hello", "output": "Hi there"}]
    assert listing.benchmarks == [
        {"name": "MMLU", "score": "25.3", "unit": "%"},
        {"name": "ARC", "score": "30", "unit": ""},
    ]
    assert listing.model_card_html == "<h1>Tiny</h1>\n<p><strong>fast</strong></p>\n"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Draft created" in page
    assert "<h1>Tiny</h1>" in page  # the rendered card is shown in the preview box
    assert 'value="Tiny Llama"' in page


def test_create_errors_are_shown_next_to_their_fields(signed_in, category):
    response = signed_in.post(
        NEW,
        listing_form(
            category,
            title="",
            task="mind_reading",
            benchmarks="just a name",
            tags=",".join(f"t{i}" for i in range(11)),
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in field_errors(html, "title")
    assert "Select a valid choice" in field_errors(html, "task")
    assert "name | score | unit" in field_errors(html, "benchmarks")
    assert not Listing.objects.exists()


def test_service_errors_land_next_to_their_fields(signed_in, category):
    response = signed_in.post(NEW, listing_form(category, tags=",".join(f"t{i}" for i in range(11))))
    assert response.status_code == 400
    assert "at most 10 tags" in field_errors(response.content.decode(), "tags")


def test_edit_saves_and_rerenders_the_card(signed_in, draft, category):
    response = signed_in.post(
        manage(draft.slug), listing_form(category, title="Tiny Llama 2", model_card="## New")
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Tiny Llama 2"
    assert draft.slug == "tiny-llama"
    assert draft.model_card_html == "<h2>New</h2>\n"


def test_edit_with_errors_keeps_the_typed_card_in_the_preview(signed_in, draft, category):
    response = signed_in.post(manage(draft.slug), listing_form(category, summary="", model_card="## Typed"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in field_errors(html, "summary")
    assert "<h2>Typed</h2>" in html
    draft.refresh_from_db()
    assert draft.model_card == "# Tiny"


def test_the_editor_asks_htmx_for_a_live_preview(signed_in, draft):
    html = signed_in.get(manage(draft.slug)).content.decode()
    textarea = re.search(r"<textarea[^>]*name=\"model_card\"[^>]*>", html).group(0)
    assert f'hx-post="{PREVIEW}"' in textarea
    assert 'hx-target="#model-card-preview"' in textarea
    assert 'id="model-card-preview"' in html


def test_preview_renders_sanitised_markdown(signed_in):
    response = signed_in.post(
        PREVIEW,
        {"model_card": "# Hi\n\n<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.example)"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Hi</h1>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://a.example" rel="nofollow noopener">ok</a>' in html
    assert "<html" not in html  # just the fragment


def test_preview_needs_login_and_post(client, signed_in):
    assert Client().post(PREVIEW, {"model_card": "# x"}).status_code == 302
    assert signed_in.get(PREVIEW).status_code == 405


# ----------------------------------------------------------------------------- versions


def test_upload_version_encrypts_and_lists_it(signed_in, draft, media_root):
    data = b"\x00model-bytes\xff" * 5000
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {
            "version": "1.0.0",
            "changelog": "First",
            "artefact": SimpleUploadedFile("tiny.onnx", data),
            "triton_model_name": "tiny_llama",
            "input_spec": '[{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]',
            "output_spec": '[{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}]',
        },
    )
    assert response.status_code == 302
    version = ListingVersion.objects.get(listing=draft)
    assert version.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(iter_plaintext(path=version.artefact.name, wrapped_key=version.wrapped_key)) == data
    assert data[:64] not in (media_root / version.artefact.name).read_bytes()
    page = signed_in.get(manage(draft.slug)).content.decode()
    assert "Version 1.0.0 uploaded." in page
    table = re.search(r'<table id="version-table">(.*?)</table>', page, re.S).group(1)
    assert "tiny.onnx" in table
    assert "tiny_llama" in table
    assert "encrypted" in table
    assert version.wrapped_key not in page
    assert version.artefact.name not in page


def test_a_web_page_is_refused_as_a_model_file_next_to_the_field(signed_in, draft, settings):
    page = b"<!DOCTYPE html><html><body>" + b"x" * 2048 + b"</body></html>"
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {"version": "1.0.0", "artefact": SimpleUploadedFile("weights.html", page), "triton_model_name": ""},
    )
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), "artefact")
    assert "Upload a model file in a supported format" in errors
    assert "This file is a web page or markup" in errors
    settings.ARTEFACT_MAX_BYTES = 1024
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {
            "version": "1.0.0",
            "artefact": SimpleUploadedFile("m.onnx", b"\x08" * 2048),
            "triton_model_name": "",
        },
    )
    assert "larger than the 1 KiB limit" in field_errors(response.content.decode(), "artefact")
    assert not ListingVersion.objects.exists()


def test_upload_errors_are_next_to_their_fields(signed_in, draft):
    signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {"version": "1.0.0", "artefact": SimpleUploadedFile("a.bin", b"a"), "triton_model_name": ""},
    )
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {
            "version": "1.0.0",
            "artefact": SimpleUploadedFile("b.bin", b"b"),
            "triton_model_name": "m",
            "input_spec": "not json",
            "output_spec": '[{"name": "O", "datatype": "FLOAT", "shape": [1]}]',
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter valid JSON" in field_errors(html, "input_spec")
    assert ListingVersion.objects.count() == 1
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {
            "version": "1.0.0",
            "artefact": SimpleUploadedFile("b.bin", b"b"),
            "triton_model_name": "m",
            "input_spec": '[{"name": "I", "datatype": "FP32", "shape": [1]}]',
            "output_spec": '[{"name": "O", "datatype": "FLOAT", "shape": [1]}]',
        },
    )
    html = response.content.decode()
    errors = all_errors(html)
    assert "Version 1.0.0 already exists" in errors
    assert "datatype must be one of" in errors
    # Each sits inside its own field group of the upload form.
    assert "already exists" in field_errors(html, "version")
    assert "datatype must be one of" in field_errors(html, "output_spec")
    assert "Enter valid JSON" not in errors  # the JSON was fixed


# ----------------------------------------------------------------------------- plans


def test_add_plans_of_each_kind(signed_in, draft):
    url = f"/creator/listings/{draft.slug}/plans/"
    base = {"rate_limit_per_minute": "60"}
    posts = [
        {
            "kind": "one_time",
            "name": "Perpetual",
            "price": "49.00",
            "download_limit": "3",
            "interval": "month",
            "monthly_quota": "5",
        },
        {
            "kind": "subscription",
            "name": "Pro",
            "price": "$19",
            "interval": "month",
            "monthly_quota": "1000",
            "download_limit": "9",
        },
        {"kind": "per_inference", "name": "Metered", "price": "0.25", "agr_price": "2.5"},
    ]
    for form in posts:
        assert signed_in.post(url, base | form).status_code == 302
    perpetual, pro, metered = Plan.objects.order_by("position")
    # Fields that do not belong to a kind are dropped, whatever the hidden inputs still held.
    assert (perpetual.price_cents, perpetual.download_limit, perpetual.interval, perpetual.monthly_quota) == (
        4_900,
        3,
        "",
        None,
    )
    assert (pro.price_cents, pro.interval, pro.monthly_quota, pro.download_limit) == (
        1_900,
        "month",
        1000,
        None,
    )
    assert (metered.price_cents, metered.price_agr) == (25, 25 * 10**17)
    draft.refresh_from_db()
    assert draft.min_price_cents == 25
    html = signed_in.get(manage(draft.slug)).content.decode()
    table = re.search(r'<table id="plan-table">(.*?)</table>', html, re.S).group(1)
    assert "$49.00" in table
    assert "$19.00 / month" in table
    assert "$0.25 / 1,000 calls" in table


def test_plan_form_errors_are_next_to_their_fields(signed_in, draft):
    url = f"/creator/listings/{draft.slug}/plans/"
    response = signed_in.post(
        url,
        {"kind": "subscription", "name": "", "price": "abc", "interval": "", "rate_limit_per_minute": "60"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in field_errors(html, "name")
    assert "Enter a number of US dollars" in field_errors(html, "price")
    response = signed_in.post(
        url,
        {"kind": "subscription", "name": "Pro", "price": "9", "interval": "", "rate_limit_per_minute": "60"},
    )
    assert "Choose one of: month, year." in field_errors(response.content.decode(), "interval")
    response = signed_in.post(
        url, {"kind": "one_time", "name": "Big", "price": "1000000", "rate_limit_per_minute": "60"}
    )
    assert "The highest price is $999,999.99." in field_errors(response.content.decode(), "price")
    assert not Plan.objects.exists()


def test_plan_form_fields_are_tagged_by_kind(signed_in, draft):
    html = signed_in.get(manage(draft.slug)).content.decode()
    assert '<div class="field-interval" data-kind-field="subscription">' in html
    assert '<div class="field-monthly_quota" data-kind-field="subscription">' in html
    assert '<div class="field-download_limit" data-kind-field="one_time">' in html
    assert '<div class="field-price">' in html


def test_stop_selling_a_plan(signed_in, draft):
    plan = plan_services.plan_add(
        listing=draft, actor=draft.creator, kind="one_time", name="P", price_cents=100
    )
    response = signed_in.post(f"/creator/plans/{plan.pk}/deactivate/")
    assert response.status_code == 302
    assert response["Location"] == manage(draft.slug) + "#plans"
    plan.refresh_from_db()
    assert not plan.is_active


def test_last_plan_of_a_published_listing_shows_why_it_stays(signed_in, creator):
    listing = ListingFactory(creator=creator)
    plan = PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=10)
    response = signed_in.post(f"/creator/plans/{plan.pk}/deactivate/", follow=True)
    assert "unpublish the listing first" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).is_active


# ----------------------------------------------------------------------------- publishing


def test_publish_shows_what_is_missing_then_publishes(signed_in, draft):
    page = signed_in.get(manage(draft.slug)).content.decode()
    assert "Add at least one active plan" in re.search(
        r'<ul id="publish-problems">(.*?)</ul>', page, re.S
    ).group(1)
    response = signed_in.post(f"/creator/listings/{draft.slug}/publish/", follow=True)
    assert "cannot be published yet" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ListingStatus.DRAFT

    plan_services.plan_add(
        listing=draft, actor=draft.creator, kind="per_inference", name="Metered", price_cents=10
    )
    version_services.version_upload(
        listing=draft, actor=draft.creator, version="1.0.0", changelog="", file=None,
        triton_model_name="m", input_spec=[{"name": "I", "datatype": "FP32", "shape": [1]}],
        output_spec=[{"name": "O", "datatype": "FP32", "shape": [1]}],
    )  # fmt: skip
    response = signed_in.post(f"/creator/listings/{draft.slug}/publish/", {"return_to": "list"})
    assert response.status_code == 302
    assert response["Location"] == LIST
    draft.refresh_from_db()
    assert draft.status == ListingStatus.PUBLISHED
    response = signed_in.post(f"/creator/listings/{draft.slug}/unpublish/")
    assert response["Location"] == manage(draft.slug) + "#publishing"
    draft.refresh_from_db()
    assert draft.status == ListingStatus.DRAFT


def test_moderated_listing_shows_the_reason_and_no_forms(signed_in, creator):
    listing = ListingFactory(creator=creator)
    staff = UserFactory(is_staff=True)
    svc.listing_moderate(listing=listing, staff_user=staff, status="taken_down", reason="Infringes a licence")
    html = signed_in.get(manage(listing.slug)).content.decode()
    assert "Staff took this listing down: Infringes a licence" in html
    assert 'class="version-form"' not in html
    assert 'class="plan-form"' not in html
    assert f"/creator/listings/{listing.slug}/publish/" not in html
    response = signed_in.post(f"/creator/listings/{listing.slug}/publish/", follow=True)
    assert "taken down by staff" in response.content.decode()


def test_methods_are_limited(signed_in, draft):
    assert signed_in.get(f"/creator/listings/{draft.slug}/publish/").status_code == 405
    assert signed_in.get(f"/creator/listings/{draft.slug}/versions/").status_code == 405
    assert signed_in.post(LIST).status_code == 405


# ----------------------------------------------------------------------------- sections through htmx
# Each form of the manage page posts through htmx and gets back its own section only: errors next
# to their fields with the first one autofocused, the outcome inside the section, and after a
# change the head and publishing sections out of band. Without htmx: the whole page, anchored.

HTMX = {"HTTP_HX_REQUEST": "true"}


def section_of(html: str) -> str:
    """The id of the one section an htmx answer swaps in (its first element)."""
    match = re.match(r'\s*<section class="card" id="([\w-]+)"', html)
    assert match, html[:200]
    return match.group(1)


def tag(html: str, name: str) -> str:
    """The opening tag of the form control called `name`."""
    return re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', html).group(0)


def oob_ids(html: str) -> list[str]:
    return re.findall(r'id="([\w-]+)"[^>]*hx-swap-oob="true"', html)


def test_htmx_bad_plan_answers_with_the_plans_section_and_the_error_there(signed_in, draft):
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/plans/",
        {
            "kind": "subscription",
            "name": "",
            "price": "9.50",
            "interval": "year",
            "rate_limit_per_minute": "7",
        },
        **HTMX,
    )
    assert response.status_code == 200  # htmx swaps only 2xx answers
    html = response.content.decode()
    assert section_of(html) == "plans"
    assert "<html" not in html
    assert 'id="publishing"' not in html
    assert 'id="versions"' not in html
    assert oob_ids(html) == []  # nothing changed, so nothing else is swapped
    assert "This field is required." in field_errors(html, "name")
    assert " autofocus" in tag(html, "name")
    # What was typed is kept.
    assert 'value="9.50"' in tag(html, "price")
    assert re.search(r'<input[^>]*value="subscription"[^>]*checked', html)
    assert re.search(r'<option value="year" selected>', html)
    assert not Plan.objects.exists()


def test_htmx_plan_added_shows_in_its_section_and_refreshes_publishing(signed_in, draft):
    before = signed_in.get(manage(draft.slug)).content.decode()
    assert "Add at least one active plan" in before
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/plans/",
        {"kind": "per_inference", "name": "Metered", "price": "0.10", "rate_limit_per_minute": "60"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "plans"
    main = html.split('id="listing-head"', 1)[0]
    # The outcome in the section, focused so that it is in view where the form was.
    notes = re.search(r'<ul class="messages section-messages" tabindex="-1" autofocus>(.*?)</ul>', main, re.S)
    assert "Plan “Metered” added." in notes.group(1)
    assert "Metered" in re.search(r'<table id="plan-table">(.*?)</table>', main, re.S).group(1)
    assert 'value="Metered"' not in main  # a fresh form for the next plan
    assert sorted(oob_ids(html)) == ["listing-head", "publishing"]
    publishing = html.split('id="publishing"', 1)[1]
    assert "Add at least one active plan" not in publishing
    assert "needs a version with a Triton model name" in publishing
    # The message was shown in the section, so the next page does not repeat it at the top.
    assert "Plan “Metered” added." not in signed_in.get(manage(draft.slug)).content.decode()


def test_subscription_plan_saves_on_the_first_try_with_the_default_interval(signed_in, draft):
    html = signed_in.get(manage(draft.slug)).content.decode()
    select = re.search(r'<select name="interval"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.search(r'<option value="month" selected>Monthly</option>', select)
    assert 'value=""' not in select  # no empty choice to fall back to
    assert 'value="60"' in tag(html, "rate_limit_per_minute")
    # An empty download limit is the registry's default, and the form says which.
    assert 'placeholder="5"' in tag(html, "download_limit")
    assert "Empty means the platform default: 5." in html
    # What the browser sends for a subscription when the creator types only a name and a price.
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/plans/",
        {"kind": "subscription", "name": "Pro", "price": "19", "interval": "month",
         "rate_limit_per_minute": "60", "agr_price": "", "monthly_quota": "", "download_limit": "",
         "description": ""},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    assert "Plan “Pro” added." in response.content.decode()
    plan = Plan.objects.get()
    assert (plan.kind, plan.interval, plan.monthly_quota) == ("subscription", "month", None)
    assert plan.price_cents == 1_900


def test_plain_post_errors_focus_the_first_error(signed_in, draft):
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/plans/",
        {"kind": "one_time", "name": "Big", "price": "x", "rate_limit_per_minute": "0"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html
    # The reloaded page opens at the first error: the browser scrolls to an autofocused field (and
    # would skip autofocus if the form's address named a #fragment).
    assert " autofocus" in tag(html, "price")
    assert f'action="/creator/listings/{draft.slug}/plans/"' in html
    assert " autofocus" not in tag(html, "rate_limit_per_minute")  # only the first error
    assert html.count(" autofocus") == 1


def test_an_error_of_no_field_takes_the_focus_itself(signed_in, draft):
    for n in range(listing_fields.MAX_ACTIVE_PLANS):
        plan_services.plan_add(
            listing=draft, actor=draft.creator, kind="one_time", name=f"P{n}", price_cents=100 + n
        )
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/plans/",
        {"kind": "one_time", "name": "One more", "price": "1", "rate_limit_per_minute": "60"},
        **HTMX,
    )
    html = response.content.decode()
    box = re.search(r'<div class="form-errors"[^>]*>', html).group(0)
    assert 'tabindex="-1"' in box
    assert "autofocus" in box
    assert "at most 10 active plans" in html
    assert 'value="One more"' in html


def test_htmx_failed_upload_keeps_the_file_and_every_input(signed_in, draft, media_root):
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {
            "version": "one",
            "changelog": "Faster",
            "artefact": SimpleUploadedFile("big.onnx", b"weights"),
            "triton_model_name": "tiny",
            "input_spec": "not json",
            "output_spec": "",
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "versions"
    assert "Enter valid JSON" in field_errors(html, "input_spec")
    assert " autofocus" in tag(html, "input_spec")
    assert 'value="one"' in tag(html, "version")
    assert 'value="tiny"' in tag(html, "triton_model_name")
    assert re.search(r'<textarea[^>]*name="changelog"[^>]*>\s*Faster</textarea>', html)
    assert re.search(r"<textarea[^>]*name=\"input_spec\"[^>]*>\s*not json</textarea>", html)
    # htmx puts the file input the creator filled back in place of this one (hx-preserve, by id).
    file_input = tag(html, "artefact")
    assert 'hx-preserve="true"' in file_input
    assert 'id="id_artefact"' in file_input
    assert "Choose the model file again" not in html  # nothing was lost
    assert not ListingVersion.objects.exists()


def test_plain_failed_upload_says_the_file_must_be_chosen_again(signed_in, draft, media_root):
    url = f"/creator/listings/{draft.slug}/versions/"
    bad = {"version": "one", "changelog": "Faster", "triton_model_name": "tiny"}
    response = signed_in.post(url, bad | {"artefact": SimpleUploadedFile("big.onnx", b"weights")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the model file again" in re.search(
        r'<div class="field-artefact">(.*?)</div>\s*<div class="field-', html, re.S
    ).group(1)
    assert 'value="one"' in tag(html, "version")
    assert 'value="tiny"' in tag(html, "triton_model_name")
    # No file was chosen: nothing to choose again.
    response = signed_in.post(url, bad)
    assert "Choose the model file again" not in response.content.decode()


def test_htmx_upload_lists_the_version_with_a_fresh_form(signed_in, draft, media_root):
    response = signed_in.post(
        f"/creator/listings/{draft.slug}/versions/",
        {"version": "1.0.0", "artefact": SimpleUploadedFile("tiny.onnx", b"x" * 99), "triton_model_name": ""},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "versions"
    assert "Version 1.0.0 uploaded." in html
    assert "tiny.onnx" in re.search(r'<table id="version-table">(.*?)</table>', html, re.S).group(1)
    assert "hx-preserve" not in tag(html, "artefact")  # the next upload starts empty
    assert 'value="1.0.0"' not in tag(html, "version")
    assert sorted(oob_ids(html)) == ["listing-head", "publishing"]
    # The form is marked for the upload progress bar (static/js/creator_forms.js).
    form = re.search(r'<form[^>]*class="version-form"[^>]*>', html).group(0)
    assert "data-upload-progress" in form
    assert 'enctype="multipart/form-data"' in form
    assert "hx-disabled-elt=\"find button[type='submit']\"" in form
    assert re.search(r"<div class=\"upload-progress\" data-upload-bar hidden>\s*<progress", html)


def test_htmx_details_errors_and_save(signed_in, draft, category):
    url = manage(draft.slug)
    response = signed_in.post(url, listing_form(category, title="", model_card="## Typed"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "details"
    assert "This field is required." in field_errors(html, "title")
    assert " autofocus" in tag(html, "title")
    assert "<h2>Typed</h2>" in html  # the preview follows what was typed
    response = signed_in.post(url, listing_form(category, title="Tiny Llama 2"), **HTMX)
    html = response.content.decode()
    assert section_of(html) == "details"
    assert "Listing saved." in html
    head = re.search(r'<div class="page-head" id="listing-head" hx-swap-oob="true">(.*?)</div>', html, re.S)
    assert "<h1>Tiny Llama 2</h1>" in head.group(1)


def test_htmx_publish_refused_shows_why_in_the_publishing_section(signed_in, draft):
    response = signed_in.post(f"/creator/listings/{draft.slug}/publish/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "publishing"
    error = re.search(r'<li class="alert alert-error" role="alert">(.*?)</li>', html).group(1)
    assert "cannot be published yet" in error
    assert oob_ids(html) == ["listing-head"]
    assert 'data-status="draft"' in html


def test_htmx_stop_selling_answers_with_the_plans_section(signed_in, draft):
    plan = plan_services.plan_add(
        listing=draft, actor=draft.creator, kind="one_time", name="P", price_cents=100
    )
    response = signed_in.post(f"/creator/plans/{plan.pk}/deactivate/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert section_of(html) == "plans"
    assert "Plan “P” is no longer offered." in html
    assert not Plan.objects.get(pk=plan.pk).is_active


def test_htmx_posts_need_the_csrf_header_the_page_sets(creator, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(creator)
    page = client.get(manage(draft.slug)).content.decode()
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", page).group(1)
    plan = {"kind": "one_time", "name": "P", "price": "1", "rate_limit_per_minute": "60"}
    url = f"/creator/listings/{draft.slug}/plans/"
    assert client.post(url, plan, **HTMX).status_code == 403
    assert not Plan.objects.exists()
    assert client.post(url, plan, HTTP_X_CSRFTOKEN=token, **HTMX).status_code == 200
    assert Plan.objects.count() == 1
