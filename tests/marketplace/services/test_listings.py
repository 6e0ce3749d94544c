"""Listing management services: creating and editing, plans, versions, publishing, moderation."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from marketplace.artefacts import iter_plaintext
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Listing, ListingStatus, Plan, PlanKind, QualityTier, SearchEntry, Tag
from marketplace.selectors.creator import creator_listing_get, creator_listing_list, creator_plan_get
from marketplace.services import listing_fields
from marketplace.services import listings as svc
from marketplace.services import plans as plan_services
from marketplace.services import versions as version_services
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import CategoryFactory, ListingFactory, PlanFactory, VersionFactory

pytestmark = pytest.mark.django_db

SPEC_IN = [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]
SPEC_OUT = [{"name": "OUTPUT_1", "datatype": "FP32", "shape": [-1, 4]}]


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


def _create(creator, category, **overrides):
    values = {
        "creator": creator,
        "title": "Tiny Llama",
        "summary": "A small language model.",
        "category": category,
        "task": "text_generation",
        "size": "small",
    }
    return svc.listing_create(**(values | overrides))


def _upload(listing, actor, *, version="1.0.0", data=b"weights" * 100, triton="tiny_llama"):
    return version_services.version_upload(
        listing=listing,
        actor=actor,
        version=version,
        changelog="First release",
        file=SimpleUploadedFile("model.onnx", data) if data is not None else None,
        triton_model_name=triton,
        input_spec=SPEC_IN if triton else [],
        output_spec=SPEC_OUT if triton else [],
    )


def _error_fields(exc_info) -> set[str]:
    return set(exc_info.value.detail)


# ----------------------------------------------------------------------------- create and update


def test_create_makes_a_draft_with_slug_rendered_card_and_tags(creator, category):
    listing = _create(
        creator,
        category,
        model_card="# Card\n\n<script>alert(1)</script> **bold**",
        tags=["LLM", "tiny", "llm"],
        license_terms="MIT",
        sample_io=[{"input": "Hi", "output": "Hello"}],
        benchmarks=[{"name": "MMLU", "score": "41.2", "unit": "%"}, {"name": "ARC", "score": "30"}],
    )
    assert listing.status == ListingStatus.DRAFT
    assert listing.quality_tier == QualityTier.COMMUNITY
    assert listing.slug == "tiny-llama"
    assert listing.creator == creator
    assert "<h1>Card</h1>" in listing.model_card_html
    assert "<strong>bold</strong>" in listing.model_card_html
    assert "<script" not in listing.model_card_html
    assert sorted(listing.tags.values_list("slug", flat=True)) == ["llm", "tiny"]
    assert listing.sample_io == [{"input": "Hi", "output": "Hello"}]
    assert listing.benchmarks == [
        {"name": "MMLU", "score": "41.2", "unit": "%"},
        {"name": "ARC", "score": "30", "unit": ""},
    ]
    assert listing.min_price_cents is None
    assert not listing.accepts_agr


def test_slugs_are_unique_and_avoid_page_paths(creator, category):
    first = _create(creator, category)
    second = _create(creator, category)
    third = _create(creator, category, title="Tiny  llama!")
    assert [first.slug, second.slug, third.slug] == ["tiny-llama", "tiny-llama-2", "tiny-llama-3"]
    assert _create(creator, category, title="New").slug == "new-model"
    assert _create(creator, category, title="Preview").slug == "preview-model"
    assert _create(creator, category, title="???").slug == "model"


def test_existing_tags_are_reused(creator, category):
    tag = Tag.objects.create(name="Vision", slug="vision")
    listing = _create(creator, category, tags=[tag, "vision", "Edge"])
    assert sorted(listing.tags.values_list("name", flat=True)) == ["Edge", "Vision"]
    assert Tag.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"summary": ""}, "summary"),
        ({"summary": "x" * 301}, "summary"),
        ({"task": "mind_reading"}, "task"),
        ({"size": "huge"}, "size"),
        ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"tags": ["!!!"]}, "tags"),
        ({"tags": "not-a-list"}, "tags"),
        ({"sample_io": [{"input": "x"}]}, "sample_io"),
        ({"sample_io": [{"input": "x", "output": "y", "extra": "z"}]}, "sample_io"),
        ({"benchmarks": [{"name": "MMLU"}]}, "benchmarks"),
        ({"benchmarks": [{"name": "MMLU", "score": 71.2}]}, "benchmarks"),
        ({"model_card": "x" * 100_001}, "model_card"),
    ],
)
def test_create_validates_fields(creator, category, overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        _create(creator, category, **overrides)
    assert field in _error_fields(caught)
    assert not Listing.objects.exists()


def test_update_changes_fields_rerenders_card_and_keeps_slug(creator, category):
    listing = _create(creator, category, tags=["a"])
    other = CategoryFactory(slug="vision", name="Vision")
    updated = svc.listing_update(
        listing=listing,
        actor=creator,
        title="Renamed",
        model_card="## New card",
        category=other,
        tags=["b", "c"],
        task="translation",
    )
    assert updated.title == "Renamed"
    assert updated.slug == "tiny-llama"
    assert updated.model_card_html == "<h2>New card</h2>\n"
    assert updated.category == other
    assert updated.task == "translation"
    assert sorted(updated.tags.values_list("slug", flat=True)) == ["b", "c"]


def test_update_refuses_staff_fields_and_unknown_fields(creator, category):
    listing = _create(creator, category)
    with pytest.raises(PermissionDenied) as caught:
        svc.listing_update(listing=listing, actor=creator, quality_tier="premium")
    assert "quality_tier" in caught.value.detail
    with pytest.raises(PermissionDenied):
        svc.listing_update(listing=listing, actor=creator, status="published")
    with pytest.raises(ValidationFailed) as caught:
        svc.listing_update(listing=listing, actor=creator, slug="mine", rating_average=5)
    assert _error_fields(caught) == {"slug", "rating_average"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT
    assert listing.quality_tier == QualityTier.COMMUNITY


def test_update_of_a_taken_down_listing_is_refused(creator, category, staff):
    listing = _create(creator, category)
    svc.listing_moderate(listing=listing, staff_user=staff, status="taken_down", reason="Stolen weights")
    with pytest.raises(InvalidState, match="taken down"):
        svc.listing_update(listing=listing, actor=creator, title="Back again")


# ----------------------------------------------------------------------------- who may act


def test_another_user_gets_not_found_for_a_draft_and_permission_denied_when_published(creator, category):
    stranger = UserFactory()
    draft = _create(creator, category)
    published = ListingFactory(creator=creator)
    plan = PlanFactory(listing=published)
    draft_plan = PlanFactory(listing=draft)
    calls = [
        lambda listing: svc.listing_update(listing=listing, actor=stranger, title="Mine now"),
        lambda listing: svc.listing_publish(listing=listing, actor=stranger),
        lambda listing: svc.listing_unpublish(listing=listing, actor=stranger),
        lambda listing: plan_services.plan_add(
            listing=listing, actor=stranger, kind="one_time", name="x", price_cents=100
        ),
        lambda listing: _upload(listing, stranger),
        lambda listing: svc.listing_quality_tier_set(listing=listing, actor=stranger, tier="community"),
        lambda listing: creator_listing_get(slug=listing.slug, user=stranger),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call(draft)
        with pytest.raises(PermissionDenied):
            call(published)
    for call, target in ((plan_services.plan_update, {"name": "x"}), (plan_services.plan_deactivate, {})):
        with pytest.raises(NotFound):
            call(plan=draft_plan, actor=stranger, **target)
        with pytest.raises(PermissionDenied):
            call(plan=plan, actor=stranger, **target)
    with pytest.raises(NotFound):
        creator_plan_get(plan_id=draft_plan.pk, user=stranger)
    with pytest.raises(PermissionDenied):
        creator_plan_get(plan_id=plan.pk, user=stranger)
    draft.refresh_from_db()
    assert draft.title == "Tiny Llama"
    assert not draft.versions.exists()


def test_creator_listing_list_is_only_mine(creator, category):
    mine = _create(creator, category)
    ListingFactory()
    PlanFactory(listing=mine)
    PlanFactory(listing=mine, is_active=False)
    rows = list(creator_listing_list(creator=creator))
    assert rows == [mine]
    assert rows[0].active_plan_count == 1
    assert rows[0].version_count == 0


# ----------------------------------------------------------------------------- plans


def test_plan_add_refreshes_pricing_columns(creator, category):
    listing = _create(creator, category)
    plan_services.plan_add(
        listing=listing, actor=creator, kind="one_time", name="Perpetual", price_cents=4_900
    )
    plan_services.plan_add(
        listing=listing,
        actor=creator,
        kind="subscription",
        name="Pro",
        price_cents=1_900,
        interval="month",
        monthly_quota=10_000,
    )
    metered = plan_services.plan_add(
        listing=listing,
        actor=creator,
        kind="per_inference",
        name="Metered",
        price_cents=25,
        price_agr=3 * 10**18,
    )
    listing.refresh_from_db()
    assert listing.min_price_cents == 25
    assert (listing.has_one_time, listing.has_subscription, listing.has_per_inference) == (True, True, True)
    assert listing.accepts_agr
    assert metered.price_agr == 3 * 10**18
    assert list(listing.plans.values_list("position", flat=True)) == [0, 1, 2]

    plan_services.plan_deactivate(plan=metered, actor=creator)
    listing.refresh_from_db()
    assert listing.min_price_cents == 1_900
    assert not listing.has_per_inference


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"price_cents": 0}, {"price_cents"}),
        ({"price_cents": -5}, {"price_cents"}),
        ({"price_cents": 100_000_000}, {"price_cents"}),
        ({"price_cents": 10.5}, {"price_cents"}),
        ({"price_cents": True}, {"price_cents"}),
        ({"price_agr": 0}, {"price_agr"}),
        ({"kind": "lease"}, {"kind"}),
        ({"name": " "}, {"name"}),
        ({"kind": "subscription"}, {"interval"}),
        ({"kind": "subscription", "interval": "week"}, {"interval"}),
        ({"interval": "month"}, {"interval"}),
        ({"monthly_quota": 1000}, {"monthly_quota"}),
        ({"kind": "subscription", "interval": "month", "monthly_quota": 0}, {"monthly_quota"}),
        ({"kind": "subscription", "interval": "year", "download_limit": 3}, {"download_limit"}),
        ({"kind": "per_inference", "download_limit": 3}, {"download_limit"}),
        ({"download_limit": 0}, {"download_limit"}),
        ({"rate_limit_per_minute": 0}, {"rate_limit_per_minute"}),
    ],
)
def test_plan_rules(creator, category, values, fields):
    listing = _create(creator, category)
    base = {"kind": "one_time", "name": "Plan", "price_cents": 100}
    with pytest.raises(ValidationFailed) as caught:
        plan_services.plan_add(listing=listing, actor=creator, **(base | values))
    assert _error_fields(caught) == fields
    assert not Plan.objects.exists()


def test_plan_limits_at_the_edges_are_accepted(creator, category):
    listing = _create(creator, category)
    one_time = plan_services.plan_add(
        listing=listing, actor=creator, kind="one_time", name="Max", price_cents=99_999_999, download_limit=3
    )
    yearly = plan_services.plan_add(
        listing=listing, actor=creator, kind="subscription", name="Year", price_cents=1, interval="year"
    )
    assert (one_time.price_cents, one_time.download_limit) == (99_999_999, 3)
    assert (yearly.interval, yearly.monthly_quota) == ("year", None)  # None: unlimited


def test_plan_update_is_checked_as_a_whole_and_keeps_the_kind(creator, category):
    listing = _create(creator, category)
    plan = plan_services.plan_add(
        listing=listing, actor=creator, kind="subscription", name="Pro", price_cents=900, interval="month"
    )
    updated = plan_services.plan_update(
        plan=plan, actor=creator, price_cents=1_200, monthly_quota=5_000, name="Pro+"
    )
    assert (updated.price_cents, updated.monthly_quota, updated.name) == (1_200, 5_000, "Pro+")
    listing.refresh_from_db()
    assert listing.min_price_cents == 1_200
    with pytest.raises(ValidationFailed) as caught:
        plan_services.plan_update(plan=plan, actor=creator, interval="")
    assert _error_fields(caught) == {"interval"}
    with pytest.raises(ValidationFailed) as caught:
        plan_services.plan_update(plan=plan, actor=creator, kind="one_time")
    assert _error_fields(caught) == {"kind"}
    plan.refresh_from_db()
    assert plan.kind == "subscription"
    assert plan.interval == "month"


def test_the_last_plan_of_a_published_listing_cannot_be_deactivated(creator, category):
    listing = ListingFactory(creator=creator)
    only = PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, name="Metered", price_cents=10)
    with pytest.raises(InvalidState, match="unpublish"):
        plan_services.plan_deactivate(plan=only, actor=creator)
    second = PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, name="Bulk", price_cents=5)
    assert not plan_services.plan_deactivate(plan=only, actor=creator).is_active
    assert (
        plan_services.plan_deactivate(plan=only, actor=creator).is_active is False
    )  # already inactive: fine
    assert Plan.objects.get(pk=second.pk).is_active


def test_at_most_ten_active_plans(creator, category):
    listing = _create(creator, category)
    for number in range(listing_fields.MAX_ACTIVE_PLANS):
        plan_services.plan_add(
            listing=listing, actor=creator, kind="one_time", name=f"P{number}", price_cents=100 + number
        )
    with pytest.raises(InvalidState):
        plan_services.plan_add(
            listing=listing, actor=creator, kind="one_time", name="Eleven", price_cents=100
        )


# ----------------------------------------------------------------------------- versions


def test_version_upload_encrypts_the_file_and_decrypts_to_the_same_bytes(creator, category, media_root):
    listing = _create(creator, category)
    data = os.urandom(3 * 1024 * 1024 + 123)  # more than one 1 MiB chunk
    version = version_services.version_upload(
        listing=listing,
        actor=creator,
        version="1.2.3",
        changelog="Faster",
        file=SimpleUploadedFile("tiny-llama.onnx", data),
        triton_model_name="tiny_llama",
        input_spec=SPEC_IN,
        output_spec=SPEC_OUT,
    )
    version.refresh_from_db()
    assert (version.major, version.minor, version.patch) == (1, 2, 3)
    assert version.artefact_name == "tiny-llama.onnx"
    assert version.artefact_size == len(data)
    assert version.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert version.artefact.name.startswith("artefacts/")
    assert version.artefact.name.endswith(".enc")
    assert version.wrapped_key.startswith("v1:")
    stored = (media_root / version.artefact.name).read_bytes()
    assert data[:4096] not in stored
    plaintext = b"".join(iter_plaintext(path=version.artefact.name, wrapped_key=version.wrapped_key))
    assert plaintext == data
    assert hashlib.sha256(plaintext).hexdigest() == version.checksum_sha256
    assert version.input_spec == SPEC_IN
    assert version.output_spec == SPEC_OUT


def test_version_numbers_sort_numerically(creator, category):
    listing = _create(creator, category)
    for number in ("1.9.0", "1.10.0", "0.1.0"):
        _upload(listing, creator, version=number, data=b"x")
    assert list(listing.versions.values_list("version", flat=True)) == ["1.10.0", "1.9.0", "0.1.0"]


@pytest.mark.parametrize("bad", ["1", "1.0", "v1.0.0", "1.0.0-beta", "01.0.0", "1.0.0.0", " 1.0.0", "1.0.x"])
def test_version_must_be_semver(creator, category, bad):
    listing = _create(creator, category)
    with pytest.raises(ValidationFailed) as caught:
        _upload(listing, creator, version=bad)
    assert _error_fields(caught) == {"version"}


def test_duplicate_version_is_a_clear_error_and_leaves_no_file(creator, category, media_root):
    listing = _create(creator, category)
    _upload(listing, creator, version="1.0.0")
    files_before = sorted((media_root / "artefacts").iterdir())
    with pytest.raises(ValidationFailed) as caught:
        _upload(listing, creator, version="1.0.0")
    assert caught.value.detail == {
        "version": ["Version 1.0.0 already exists for this listing; choose a higher number."]
    }
    assert sorted((media_root / "artefacts").iterdir()) == files_before
    # The same number on another listing is fine.
    _upload(_create(creator, category), creator, version="1.0.0")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("FP32", "Give a list"),
        ([{"name": "x", "datatype": "FLOAT", "shape": [1]}], "datatype must be one of"),
        ([{"name": "x", "datatype": "FP32", "shape": [-2]}], "shape"),
        ([{"name": "x", "datatype": "FP32", "shape": [1.5]}], "shape"),
        ([{"name": "x", "datatype": "FP32", "shape": [True]}], "shape"),
        ([{"name": "x", "datatype": "FP32", "shape": []}], "shape"),
        ([{"name": "x", "datatype": "FP32", "shape": "[1]"}], "shape"),
        ([{"name": "x", "datatype": "FP32"}], "exactly the keys"),
        ([{"name": "x", "datatype": "FP32", "shape": [1], "extra": 1}], "exactly the keys"),
        ([{"name": "", "datatype": "FP32", "shape": [1]}], "name"),
        ([{"name": "a b", "datatype": "FP32", "shape": [1]}], "name"),
        (
            [
                {"name": "x", "datatype": "FP32", "shape": [1]},
                {"name": "x", "datatype": "INT8", "shape": [1]},
            ],
            "used twice",
        ),
    ],
)
def test_tensor_spec_validation(creator, category, spec, message):
    listing = _create(creator, category)
    with pytest.raises(ValidationFailed) as caught:
        version_services.version_upload(
            listing=listing,
            actor=creator,
            version="1.0.0",
            changelog="",
            file=None,
            triton_model_name="m",
            input_spec=spec,
            output_spec=SPEC_OUT,
        )
    assert list(caught.value.detail) == ["input_spec"]
    assert message in " ".join(caught.value.detail["input_spec"])


def test_every_kserve_datatype_and_shape_edge_is_accepted():
    spec = [
        {"name": f"T_{datatype}", "datatype": datatype, "shape": [-1, 0, 3]}
        for datatype in listing_fields.KSERVE_DATATYPES
    ]
    assert listing_fields.tensor_spec_validate(spec=spec) == spec


def test_a_version_needs_a_file_or_a_triton_model_and_specs_for_the_model(creator, category):
    listing = _create(creator, category)
    with pytest.raises(ValidationFailed) as caught:
        _upload(listing, creator, data=None, triton="")
    assert _error_fields(caught) == {"file"}
    with pytest.raises(ValidationFailed) as caught:
        version_services.version_upload(
            listing=listing, actor=creator, version="1.0.0", changelog="", file=None,
            triton_model_name="m", input_spec=[], output_spec=[],
        )  # fmt: skip
    assert _error_fields(caught) == {"input_spec", "output_spec"}
    with pytest.raises(ValidationFailed) as caught:
        _upload(listing, creator, data=b"")
    assert _error_fields(caught) == {"file"}
    with pytest.raises(ValidationFailed) as caught:
        _upload(listing, creator, triton="bad name/../x")
    assert _error_fields(caught) == {"triton_model_name"}
    download_only = _upload(listing, creator, triton="")
    assert download_only.triton_model_name == ""
    assert download_only.artefact
    hosted_only = _upload(listing, creator, version="1.1.0", data=None)
    assert not hosted_only.artefact
    assert hosted_only.wrapped_key == ""


def test_upload_to_a_taken_down_listing_is_refused(creator, category, staff):
    listing = _create(creator, category)
    svc.listing_moderate(listing=listing, staff_user=staff, status="taken_down", reason="Malware")
    with pytest.raises(InvalidState):
        _upload(listing, creator)
    assert not default_storage.exists("artefacts") or not os.listdir(default_storage.path("artefacts"))


# ----------------------------------------------------------------------------- publishing


def test_publish_needs_an_active_plan(creator, category):
    listing = _create(creator, category)
    with pytest.raises(InvalidState) as caught:
        svc.listing_publish(listing=listing, actor=creator)
    assert "at least one active plan" in caught.value.message
    plan = PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=10)
    Plan.objects.filter(pk=plan.pk).update(is_active=False)
    with pytest.raises(InvalidState):
        svc.listing_publish(listing=listing, actor=creator)


def test_one_time_plan_needs_a_version_with_a_file(creator, category):
    listing = _create(creator, category)
    plan_services.plan_add(
        listing=listing, actor=creator, kind="one_time", name="Perpetual", price_cents=4_900
    )
    VersionFactory(listing=listing)  # a version without an artefact does not count
    with pytest.raises(InvalidState) as caught:
        svc.listing_publish(listing=listing, actor=creator)
    assert caught.value.detail == {
        "reasons": ["A one-time or subscription plan needs a version with an uploaded model file."]
    }
    _upload(listing, creator, version="2.0.0", triton="")
    published = svc.listing_publish(listing=listing, actor=creator)
    assert published.status == ListingStatus.PUBLISHED
    assert published.published_at is not None


def test_subscription_needs_a_file_and_a_hosted_model(creator, category):
    listing = _create(creator, category)
    plan_services.plan_add(
        listing=listing, actor=creator, kind="subscription", name="Pro", price_cents=900, interval="month"
    )
    _upload(listing, creator, version="1.0.0", triton="")
    with pytest.raises(InvalidState, match="Triton model name"):
        svc.listing_publish(listing=listing, actor=creator)
    _upload(listing, creator, version="1.1.0", data=None)
    assert svc.listing_publish(listing=listing, actor=creator).is_published


def test_per_inference_needs_only_a_hosted_version(creator, category):
    listing = _create(creator, category)
    plan_services.plan_add(
        listing=listing, actor=creator, kind="per_inference", name="Metered", price_cents=20
    )
    with pytest.raises(InvalidState, match="Triton"):
        svc.listing_publish(listing=listing, actor=creator)
    _upload(listing, creator, data=None)
    assert svc.listing_publish(listing=listing, actor=creator).is_published


def test_publish_twice_is_harmless_and_unpublish_returns_to_draft(creator, category):
    listing = _create(creator, category)
    plan_services.plan_add(
        listing=listing, actor=creator, kind="per_inference", name="Metered", price_cents=20
    )
    _upload(listing, creator, data=None)
    first = svc.listing_publish(listing=listing, actor=creator)
    again = svc.listing_publish(listing=listing, actor=creator)
    assert again.published_at == first.published_at
    draft = svc.listing_unpublish(listing=listing, actor=creator)
    assert draft.status == ListingStatus.DRAFT
    with pytest.raises(InvalidState, match="Only a published listing"):
        svc.listing_unpublish(listing=listing, actor=creator)
    republished = svc.listing_publish(listing=listing, actor=creator)
    assert republished.published_at == first.published_at  # the first publication date stays


@pytest.mark.parametrize(("status", "words"), [("suspended", "suspended"), ("taken_down", "taken down")])
def test_creator_cannot_publish_or_unpublish_a_moderated_listing(creator, category, staff, status, words):
    listing = ListingFactory(creator=creator)
    PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=10)
    VersionFactory(listing=listing)
    svc.listing_moderate(listing=listing, staff_user=staff, status=status, reason="Misleading benchmarks")
    with pytest.raises(InvalidState) as caught:
        svc.listing_publish(listing=listing, actor=creator)
    assert words in caught.value.message
    assert "Misleading benchmarks" in caught.value.message
    with pytest.raises(InvalidState):
        svc.listing_unpublish(listing=listing, actor=creator)


# ----------------------------------------------------------------------------- staff


def test_staff_suspend_take_down_and_restore(creator, category, staff):
    listing = ListingFactory(creator=creator)
    PlanFactory(listing=listing, kind=PlanKind.PER_INFERENCE, price_cents=10)
    VersionFactory(listing=listing)
    suspended = svc.listing_moderate(
        listing=listing, staff_user=staff, status="suspended", reason="Check licence"
    )
    assert (suspended.status, suspended.status_reason) == ("suspended", "Check licence")
    taken = svc.listing_moderate(listing=listing, staff_user=staff, status="taken_down", reason="Infringing")
    assert (taken.status, taken.status_reason) == ("taken_down", "Infringing")
    restored = svc.listing_moderate(listing=listing, staff_user=staff, status="published", reason="")
    assert (restored.status, restored.status_reason) == ("published", "")


def test_moderation_is_staff_only_and_needs_a_reason(creator, category, staff):
    listing = ListingFactory(creator=creator)
    for actor in (creator, UserFactory()):
        with pytest.raises(PermissionDenied):
            svc.listing_moderate(listing=listing, staff_user=actor, status="suspended", reason="x")
    with pytest.raises(ValidationFailed) as caught:
        svc.listing_moderate(listing=listing, staff_user=staff, status="suspended", reason="  ")
    assert _error_fields(caught) == {"reason"}
    with pytest.raises(ValidationFailed) as caught:
        svc.listing_moderate(listing=listing, staff_user=staff, status="draft", reason="x")
    assert _error_fields(caught) == {"status"}
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED


def test_restore_only_from_moderated_and_only_when_publishable(creator, category, staff):
    draft = _create(creator, category)
    with pytest.raises(InvalidState, match="suspended or taken-down"):
        svc.listing_moderate(listing=draft, staff_user=staff, status="published", reason="")
    svc.listing_moderate(listing=draft, staff_user=staff, status="suspended", reason="Spam")
    with pytest.raises(InvalidState, match="active plan"):
        svc.listing_moderate(listing=draft, staff_user=staff, status="published", reason="")


def test_quality_tier_rules(creator, category, staff):
    listing = _create(creator, category)
    for tier in ("verified", "premium", "enterprise", "exclusive"):
        with pytest.raises(PermissionDenied):
            svc.listing_quality_tier_set(listing=listing, actor=creator, tier=tier)
        assert svc.listing_quality_tier_set(listing=listing, actor=staff, tier=tier).quality_tier == tier
    assert (
        svc.listing_quality_tier_set(listing=listing, actor=creator, tier="community").quality_tier
        == "community"
    )
    with pytest.raises(ValidationFailed):
        svc.listing_quality_tier_set(listing=listing, actor=staff, tier="gold")


def test_inactive_staff_account_cannot_moderate(creator, category):
    listing = ListingFactory(creator=creator)
    former = UserFactory(is_staff=True, is_active=False)
    with pytest.raises(PermissionDenied):
        svc.listing_moderate(listing=listing, staff_user=former, status="suspended", reason="x")


def test_writes_keep_the_search_entry_current(creator, category):
    listing = _create(creator, category, title="Quantum Parrot", tags=["birds"])
    assert not SearchEntry.objects.filter(listing=listing).exists()  # a draft is not in the catalog
    plan_services.plan_add(
        listing=listing, actor=creator, kind="per_inference", name="Metered", price_cents=20
    )
    _upload(listing, creator, data=None)
    svc.listing_publish(listing=listing, actor=creator)
    entry = SearchEntry.objects.get(listing=listing)
    assert (entry.has_per_inference, entry.min_price_cents, entry.task) == (True, 20, "text_generation")
    if connection.vendor == "postgresql":
        assert "quantum" in str(entry.document)
        assert "bird" in str(entry.document)
    else:  # SQLite has no full-text document; search matches substrings of the listing there
        assert entry.document is None
    svc.listing_update(listing=listing, actor=creator, title="Classical Parrot", task="translation")
    entry.refresh_from_db()
    assert entry.task == "translation"
    if connection.vendor == "postgresql":
        assert "classic" in str(entry.document)
        assert "quantum" not in str(entry.document)
    svc.listing_unpublish(listing=listing, actor=creator)
    assert not SearchEntry.objects.filter(listing=listing).exists()
