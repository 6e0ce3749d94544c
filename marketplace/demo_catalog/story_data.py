"""What the demo story tells besides the listings: forced sales, review and reply texts,
changelogs, collections and featured slots."""

from __future__ import annotations

from django.utils.text import slugify

from marketplace.demo_catalog.constants import DEMO_BUYER
from marketplace.demo_catalog.listing_specs import LISTINGS
from marketplace.models import PlanKind
from tokenomics.models import Rail

MARKER_SLUG = slugify(LISTINGS[0].title)  # present: the catalog was loaded already
SUSPENSION_REASON = (
    "Biometric models need license terms that say how face data may be collected and used; "
    "add them and ask staff to restore the listing."
)

# Sales that tell a story: (buyer, listing title, plan kind, plan name, rail, days ago, outcome,
# days ago of the outcome, prepaid credit in cents, review as (stars, title, body) or None).
ForcedSale = tuple[str, str, str, str, str, float, str, float, int | None, tuple[int, str, str] | None]
# fmt: off
FORCED_SALES: tuple[ForcedSale, ...] = (
    (DEMO_BUYER, "Tinyquill 1.1B", PlanKind.ONE_TIME, "Perpetual", Rail.CARD, 41, "download", 40.5, None,
     (5, "Runs happily on my laptop",
      "Autocomplete for our internal wiki, no GPU needed. Exactly as described.")),
    (DEMO_BUYER, "Whisperlite English ASR", PlanKind.ONE_TIME, "Perpetual", Rail.CARD, 63, "refund", 62,
     None, None),
    (DEMO_BUYER, "Vectra Embed Base", PlanKind.SUBSCRIPTION, "Basic", Rail.CARD, 18, "active", 0, None, None),
    (DEMO_BUYER, "Wren 7B Instruct", PlanKind.PER_INFERENCE, "Metered", Rail.AGR, 9, "credit", 0, 2_500,
     None),
    (DEMO_BUYER, "Sentinel Toxicity Classifier", PlanKind.ONE_TIME, "Perpetual", Rail.CARD, 2, "escrow", 0,
     None, None),
    ("alex.moreno@agora.local", "Receipt Reader OCR", PlanKind.ONE_TIME, "Perpetual", Rail.CARD, 4,
     "dispute", 2.5, None, None),
    ("priya.nair@agora.local", "Brevity News Summarizer", PlanKind.SUBSCRIPTION, "Pro", Rail.CARD, 52,
     "cancel", 9, None,
     (3, "Good, but not for long reads", "Great on news; on long reports it drops the conclusions.")),
    ("tom.becker@agora.local", "Tinyquill 1.1B", PlanKind.SUBSCRIPTION, "Basic", Rail.AGR, 25, "cancel_end",
     3, None, None),
)
# fmt: on

REVIEW_TEXTS: dict[int, tuple[tuple[str, str], ...]] = {
    5: (
        (
            "Exactly what we needed",
            "We swapped it into our pipeline in an afternoon. {title} beats the "
            "open model we used before, and the hosted latency is excellent.",
        ),
        (
            "Production-ready",
            "Six weeks in production, zero incidents. The model card was accurate, "
            "which is rarer than it should be.",
        ),
        (
            "Best {task} model I've tried",
            "Tried four alternatives before this one. Clear winner on our "
            "own evaluation set, and the pricing is fair.",
        ),
        (
            "Great value",
            "The Basic tier covers our volume and the quality is on par with much more expensive APIs.",
        ),
        ("Impressive", "Accurate, fast and well documented. The sample request worked first time."),
    ),
    4: (
        (
            "Very good, minor gaps",
            "Quality is strong for {task}. Docs could say more about input limits, "
            "but support answered within a day.",
        ),
        (
            "Solid choice",
            "Does what it says. Latency is a bit higher at peak hours, still well within our SLA.",
        ),
        (
            "Reliable",
            "We use {title} for a customer-facing feature. A few edge cases need post-processing, "
            "otherwise great.",
        ),
        ("Good, would buy again", "Setup was easy and results are consistent. Would love a smaller variant."),
    ),
    3: (
        (
            "Decent but not magic",
            "Works for the common cases; struggles with noisy input. Fine for prototypes.",
        ),
        (
            "Mixed results",
            "Benchmarks look great, on our data it is average. Worth a trial before buying a big plan.",
        ),
        ("OK for the price", "Does the job. Nothing special, nothing broken."),
    ),
    2: (
        (
            "Did not match the benchmarks",
            "On our evaluation it scored well below the numbers on the card. "
            "The creator was helpful, though.",
        ),
        ("Too slow for us", "Quality is fine but latency made it unusable for our real-time use case."),
    ),
    1: (
        ("Not usable for our case", "Output quality was poor on our domain and the quota ran out in days."),
        ("Disappointed", "Expected far more from the description. Switched to another model."),
    ),
}
REPLIES_LOW = (
    "Thanks for the honest review. Could you send us a few failing examples through the support "
    "page? We are working on exactly this for the next version.",
    "Sorry it did not fit. Version 2 improves robustness on noisy input; your subscription includes it.",
    "Thank you for the feedback. The model card now states the input limits more clearly.",
)
REPLIES_HIGH = (
    "Thank you! Glad it fits your pipeline.",
    "Thanks a lot. A smaller variant is on our roadmap for next quarter.",
    "Great to hear. Let us know if you need higher rate limits.",
)
CHANGELOGS = (
    "Initial release.",
    "Faster inference (about 20% lower latency), fixed tokenisation of URLs, better calibration.",
    "Retrained on a larger, cleaner dataset: better accuracy across the board. Same tensor spec.",
)
COLLECTIONS = (
    (
        "staff-picks",
        "Staff picks",
        "Models our team keeps coming back to: accurate, documented, well supported.",
    ),
    (
        "fast-and-small",
        "Fast and small",
        "Small models with low latency and low prices, for real-time and edge.",
    ),
    (
        "for-developers",
        "For developers",
        "Code completion, embeddings for search, and SQL from plain English.",
    ),
)
STAFF_PICKS = (
    "Wren 7B Instruct",
    "Vectra Embed Base",
    "SwiftDetect YOLO-S",
    "Sonora Voice Studio TTS",
    "Lumen VL 8B",
    "Forge Coder 15B",
    "ClinNote De-identifier",
    "Polyglot MT 40",
)
FOR_DEVELOPERS = (
    "Forge Coder 3B",
    "Forge Coder 15B",
    "SQLWhisper Text-to-SQL",
    "CodeSearch Embeddings",
    "Vectra Embed Base",
    "Wren 7B Instruct",
)
FEATURED = ("Lumen Diffusion XL", "Forge Coder 3B", "Tinyquill 1.1B")


# How often each kind of plan is chosen for a random sale (the cheapest tier of each kind thrice
# as often as the others).
KIND_WEIGHTS: dict[str, int] = {PlanKind.ONE_TIME: 6, PlanKind.SUBSCRIPTION: 3, PlanKind.PER_INFERENCE: 1}
