"""The demo catalog's fixed inputs: its seed, people, categories and license texts."""

from __future__ import annotations

from datetime import timedelta

from marketplace.hosted_demo import IDENTITY
from marketplace.models.catalog import PlanInterval
from marketplace.services.orders import PERIOD_SECONDS

SEED = 2026
KEY_PREFIX = "demo-catalog"
DEMO_CREATOR = "creator@agora.local"
DEMO_BUYER = "buyer@agora.local"
STAFF = "admin@agora.local"
HISTORY_DAYS = 120  # sales are spread over this many days
VIEW_DAYS = 30  # ListingDailyStat rows per listing
# A monthly subscription's period, as the service bills it.
SUBSCRIPTION_PERIOD = timedelta(seconds=PERIOD_SECONDS[PlanInterval.MONTH])
# What the demo Triton serves for the made-up listings (manage.py run_provider): FP32 in, FP32 back.
TRITON_MODEL = IDENTITY.triton_name
IDENTITY_INPUT = IDENTITY.input_spec
IDENTITY_OUTPUT = IDENTITY.output_spec

# (slug, name, description, children as (slug, name))
CATEGORY_TREE: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "language",
        "Language",
        "Models that read, write, classify and translate text.",
        (
            ("text-generation", "Text generation"),
            ("text-classification", "Classification"),
            ("embeddings", "Embeddings"),
            ("translation", "Translation"),
            ("summarization", "Summarization"),
        ),
    ),
    (
        "vision",
        "Vision",
        "Models that see: classify, detect, segment and generate images.",
        (
            ("image-classification", "Image classification"),
            ("object-detection", "Object detection"),
            ("segmentation", "Segmentation"),
            ("image-generation", "Image generation"),
        ),
    ),
    (
        "audio",
        "Audio",
        "Speech in and out, and sound events.",
        (
            ("speech-recognition", "Speech recognition"),
            ("text-to-speech", "Text to speech"),
            ("audio-classification", "Audio classification"),
        ),
    ),
    (
        "multimodal",
        "Multimodal",
        "Models that combine images, documents and text.",
        (("vision-language", "Vision-language"), ("document-understanding", "Document understanding")),
    ),
    (
        "domain-specific",
        "Domain-specific",
        "Models trained for one industry or one kind of data.",
        (
            ("finance", "Finance"),
            ("healthcare", "Healthcare"),
            ("legal", "Legal"),
            ("code", "Code"),
            ("time-series", "Time series"),
            ("tabular", "Tabular data"),
        ),
    ),
)

# Creators besides creator@agora.local: (short key, email, display name).
CREATORS = (
    ("lumen", "lumen@agora.local", "Lumen AI Lab"),
    ("kestrel", "kestrel@agora.local", "Kestrel Research"),
    ("polyglot", "polyglot@agora.local", "Polyglot Systems"),
    ("pixelforge", "pixelforge@agora.local", "PixelForge Studio"),
    ("sonora", "sonora@agora.local", "Sonora Audio"),
    ("medsight", "medsight@agora.local", "MedSight Analytics"),
    ("quantleaf", "quantleaf@agora.local", "Quantleaf"),
    ("ledgerline", "ledgerline@agora.local", "Ledgerline Legal AI"),
)
BUYERS = (
    ("alex.moreno@agora.local", "Alex Moreno"),
    ("priya.nair@agora.local", "Priya Nair"),
    ("tom.becker@agora.local", "Tom Becker"),
    ("mei.chen@agora.local", "Mei Chen"),
    ("samuel.okafor@agora.local", "Samuel Okafor"),
    ("lena.fischer@agora.local", "Lena Fischer"),
    ("diego.alvarez@agora.local", "Diego Álvarez"),
    ("aisha.rahman@agora.local", "Aisha Rahman"),
    ("jonas.lindqvist@agora.local", "Jonas Lindqvist"),
    ("hana.sato@agora.local", "Hana Sato"),
    ("marco.rossi@agora.local", "Marco Rossi"),
    ("grace.kim@agora.local", "Grace Kim"),
)

LICENSES = {
    "commercial": (
        "Agora Standard Commercial License. You may run the model in your own products and "
        "services, internally or for your customers. You may not resell or redistribute the "
        "weights, or use them to train a competing model. Attribution is appreciated, not required."
    ),
    "apache": "Apache License 2.0. The weights and the inference code are provided as is, without warranty.",
    "research": (
        "Research and evaluation license. Non-commercial use only; publications must cite the "
        "model card. Contact the creator for a commercial license."
    ),
    "enterprise": (
        "Enterprise license. Commercial use by one organisation and its affiliates, with a "
        "99.9% availability commitment on hosted plans, indemnity up to the fees paid in the last "
        "twelve months, and a named support contact."
    ),
    "clinical": (
        "Clinical decision support only: not a medical device and not for diagnosis. Outputs must "
        "be reviewed by a qualified clinician. Commercial use allowed; patient data must be handled "
        "under your own HIPAA/GDPR obligations."
    ),
}
