"""The catalog: categories, listings, their versions and plans, collections and featured slots."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import WideIntegerField
from core.models import BaseModel


class Category(BaseModel):
    """A node of the category tree (Language / Vision / Audio / Multimodal / Domain-specific, each
    with sub-categories). Two levels are enough for the storefront; `parent` allows more."""

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(BaseModel):
    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskType(models.TextChoices):
    TEXT_GENERATION = "text_generation", "Text generation"
    TEXT_CLASSIFICATION = "text_classification", "Text classification"
    EMBEDDINGS = "embeddings", "Embeddings"
    TRANSLATION = "translation", "Translation"
    SUMMARIZATION = "summarization", "Summarization"
    IMAGE_CLASSIFICATION = "image_classification", "Image classification"
    OBJECT_DETECTION = "object_detection", "Object detection"
    IMAGE_GENERATION = "image_generation", "Image generation"
    SEGMENTATION = "segmentation", "Segmentation"
    SPEECH_RECOGNITION = "speech_recognition", "Speech recognition"
    TEXT_TO_SPEECH = "text_to_speech", "Text to speech"
    AUDIO_CLASSIFICATION = "audio_classification", "Audio classification"
    TABULAR = "tabular", "Tabular prediction"
    TIME_SERIES = "time_series", "Time-series forecasting"
    MULTIMODAL = "multimodal", "Multimodal"
    OTHER = "other", "Other"


class QualityTier(models.TextChoices):
    # Verified and above are set by staff only (SPEC §2).
    COMMUNITY = "community", "Community"
    VERIFIED = "verified", "Verified"
    PREMIUM = "premium", "Premium"
    ENTERPRISE = "enterprise", "Enterprise"
    EXCLUSIVE = "exclusive", "Exclusive"


class ListingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUSPENDED = "suspended", "Suspended by staff"
    TAKEN_DOWN = "taken_down", "Taken down by staff"


class ModelSize(models.TextChoices):
    # The compute fee's model complexity (SPEC §4): 1 small, 3 medium, 10 large.
    SMALL = "small", "Small"
    MEDIUM = "medium", "Medium"
    LARGE = "large", "Large"


class PriceUnit(models.TextChoices):
    """What a plan's USD price buys, as shown beside it: "$9.00 one-time", "$19.00 / month"."""

    ONE_TIME = "one_time", "one-time"
    MONTH = "month", "/ month"
    YEAR = "year", "/ year"
    PER_1000_CALLS = "per_1000_calls", "/ 1,000 calls"


class Listing(BaseModel):
    """A model offered for sale. The denormalised columns (rating, prices, pricing kinds, sales,
    trending) are kept current by the marketplace services, which copy the filterable ones of a
    published listing into its narrow SearchEntry (marketplace.models.search) for the catalog."""

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    summary = models.CharField(max_length=300)
    model_card = models.TextField(blank=True)  # Markdown as the creator wrote it
    model_card_html = models.TextField(blank=True)  # rendered and sanitised on save by the service
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="listings")
    tags = models.ManyToManyField(Tag, blank=True, related_name="listings")
    task = models.CharField(max_length=32, choices=TaskType.choices, default=TaskType.OTHER)
    size = models.CharField(max_length=8, choices=ModelSize.choices, default=ModelSize.SMALL)
    license_terms = models.TextField(blank=True)
    # [{"input": "...", "output": "..."}], shown on the listing page.
    sample_io = models.JSONField(default=list, blank=True)
    # [{"name": "MMLU", "score": "71.2", "unit": "%"}]; scores are text, never floats near money.
    benchmarks = models.JSONField(default=list, blank=True)
    quality_tier = models.CharField(max_length=12, choices=QualityTier.choices, default=QualityTier.COMMUNITY)
    status = models.CharField(max_length=12, choices=ListingStatus.choices, default=ListingStatus.DRAFT)
    status_reason = models.CharField(max_length=300, blank=True)  # staff's reason for a suspension
    published_at = models.DateTimeField(null=True, blank=True)

    # Denormalised for search, filters and orderings.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, default=0)  # 0.00-5.00 stars
    rating_count = models.PositiveIntegerField(default=0)
    min_price_cents = models.PositiveBigIntegerField(null=True, blank=True)  # cheapest active plan, USD cents
    # What that cheapest price buys (PriceUnit): "from $4.00" alone may be per call, month or once.
    min_price_unit = models.CharField(max_length=16, choices=PriceUnit.choices, blank=True)
    has_one_time = models.BooleanField(default=False)
    has_subscription = models.BooleanField(default=False)
    has_per_inference = models.BooleanField(default=False)
    accepts_agr = models.BooleanField(default=True)
    sales_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveBigIntegerField(default=0)
    # Weighted recent sales and inferences (SPEC §2), recomputed by a scheduled task.
    trending_score = models.BigIntegerField(default=0)
    featured_until = models.DateTimeField(null=True, blank=True)

    Status: ClassVar[type[ListingStatus]] = ListingStatus

    class Meta:
        # Staff act on listings only through the admin's moderation actions, each needing this.
        permissions: ClassVar = [
            ("moderate_listing", "Can suspend, take down, restore and set the quality tier of listings"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "-published_at"], name="listing_newest"),
            models.Index(fields=["status", "-rating_average"], name="listing_rating"),
            models.Index(fields=["status", "min_price_cents"], name="listing_price"),
            models.Index(fields=["status", "-trending_score"], name="listing_trending"),
            models.Index(fields=["status", "category"], name="listing_category"),
            models.Index(fields=["status", "task"], name="listing_task"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(rating_average__gte=0, rating_average__lte=5), name="listing_rating_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def is_featured(self) -> bool:
        """A featured (paid or granted) placement runs now: pages label the listing "Sponsored"."""
        return self.featured_until is not None and self.featured_until > timezone.now()

    @property
    def card_tags(self) -> list[str]:
        """The tag names a result card shows: the `tag_names` array the catalog selectors read
        with the listing on PostgreSQL, else the (prefetched) tags."""
        names = getattr(self, "tag_names", None)
        if names is not None:
            return [str(name) for name in names]
        return [tag.name for tag in self.tags.all()]


class ListingVersion(BaseModel):
    """One release of a listing's model. The artefact is stored encrypted (AES-GCM, a per-file key
    wrapped by the master key; see marketplace.artefacts); `checksum_sha256` is of the plaintext."""

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=40)  # semantic version, e.g. "1.2.0"
    # Sort key of the semantic version (major, minor, patch) so "1.10.0" sorts after "1.9.0".
    major = models.PositiveIntegerField(default=0)
    minor = models.PositiveIntegerField(default=0)
    patch = models.PositiveIntegerField(default=0)
    changelog = models.TextField(blank=True)
    artefact = models.FileField(upload_to="artefacts/", max_length=255, blank=True)  # ciphertext
    artefact_name = models.CharField(max_length=255, blank=True)  # the uploaded file's name
    artefact_size = models.PositiveBigIntegerField(default=0)  # plaintext bytes
    checksum_sha256 = models.CharField(max_length=64, blank=True)
    wrapped_key = models.TextField(blank=True)  # the file key, encrypted with the master key
    triton_model_name = models.CharField(max_length=120, blank=True)
    # KServe v2 tensor specs: [{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]
    input_spec = models.JSONField(default=list, blank=True)
    output_spec = models.JSONField(default=list, blank=True)

    class Meta:
        ordering: ClassVar = ["-major", "-minor", "-patch"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["listing", "version"], name="listing_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.listing.slug} {self.version}"


class PlanKind(models.TextChoices):
    ONE_TIME = "one_time", "One-time purchase"
    SUBSCRIPTION = "subscription", "Subscription"
    PER_INFERENCE = "per_inference", "Pay per inference"


class PlanInterval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


def price_unit(*, kind: str, interval: str) -> PriceUnit:
    """The unit of a plan's price from its kind and (subscription) interval."""
    if kind == PlanKind.PER_INFERENCE:
        return PriceUnit.PER_1000_CALLS
    if kind == PlanKind.SUBSCRIPTION:
        return PriceUnit.YEAR if interval == PlanInterval.YEAR else PriceUnit.MONTH
    return PriceUnit.ONE_TIME


class Plan(BaseModel):
    """A way to pay for a listing (SPEC §3). Prices are list prices; discounts apply at checkout."""

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    name = models.CharField(max_length=60)  # e.g. "Perpetual", "Basic", "Pro", "Metered"
    # one_time: the price; subscription: per interval; per_inference: per 1,000 inferences. US cents.
    price_cents = models.PositiveBigIntegerField()
    # Optional AGR list price (base units); without it the AGR price is the USD price at the
    # reference rate (token.agr_price_micro_usd). The AGR-payment discount applies to either.
    price_agr = WideIntegerField(null=True, blank=True)
    interval = models.CharField(max_length=8, choices=PlanInterval.choices, blank=True)  # subscription
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True)  # subscription; None = unlimited
    rate_limit_per_minute = models.PositiveIntegerField(default=60)
    download_limit = models.PositiveIntegerField(null=True, blank=True)  # one_time; None = the parameter
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    Kind: ClassVar[type[PlanKind]] = PlanKind

    class Meta:
        ordering: ClassVar = ["position", "price_cents", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(kind=PlanKind.SUBSCRIPTION) | ~Q(interval=""), name="plan_subscription_interval"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing.slug}: {self.name} ({self.kind})"


class Collection(BaseModel):
    """A curated, ordered set of listings shown on the storefront (staff-made)."""

    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_published = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    listings = models.ManyToManyField(Listing, through="CollectionItem", related_name="collections")

    class Meta:
        ordering: ClassVar = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["position", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["collection", "listing"], name="collection_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.collection_id}:{self.listing_id}"


class FeaturedPlacement(BaseModel):
    """A time-boxed boost a creator paid for (or staff granted); the listing's `featured_until`
    mirrors the latest active one."""

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="featured_placements")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    amount_cents = models.PositiveBigIntegerField(default=0)  # what was paid; 0 when staff granted it
    ledger_transaction = models.ForeignKey(
        "tokenomics.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="featured_window"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} featured {self.starts_at:%Y-%m-%d}-{self.ends_at:%Y-%m-%d}"


class ListingDailyStat(models.Model):
    """Page views and served inference calls per listing per day (orders come from Order), for
    conversion on the dashboard and trending. `inferences` is written by compute's settlement
    (through `marketplace.services.search.listing_inferences_record`), so marketplace never reads
    compute's request log."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    inferences = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["listing", "day"], name="listing_daily_stat_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} {self.day}: {self.views}"
