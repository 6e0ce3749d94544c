"""A catalog worth browsing for `make demo`: categories, creators and buyers, about fifty listings,
four months of sales, reviews, collections, featured slots and page views.

Everything goes through the services a user's clicks would call (listings, orders, refunds,
disputes, subscriptions, reviews), so the ledger, escrow and denormalised columns are exactly what
the real flows leave. Orders are paid the way a rail pays them, without any network: the rail's
deposit lands in the buyer's wallet (tokenomics.services.wallet.wallet_top_up from the Stripe or
chain counter-account) and the order is fulfilled from there (marketplace.services.orders.
order_fulfil), as the payment handler does. There is no Stripe payment behind them, so a refund
stays in the buyer's wallet as credit.

History: the story (listings published, versions uploaded, sales, downloads, refunds, renewals,
reviews) is played in time order over the last ~200 days, each step at the moment it happens
(`self.at`). The services that move money take that moment (`at` / `now`), so the ledger postings
(which nothing may edit), escrow windows and order dates carry the date they would have had; the
plain timestamps of the other rows a step writes (created_at, published_at, replied_at...) are
set to it by the step right after the service call (`_dated`). The run is deterministic (seeded)
and idempotent: when the first listing exists it stops, changing nothing. A run that fails halfway
leaves a partial catalog: start again from a fresh database.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby
from typing import Any

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.text import slugify

from accounts import services as account_services
from accounts.management.commands.load_demo_data import DEMO_PASSWORD
from accounts.models import User
from core.mail import emails_paused
from marketplace.hosted_demo import DIGITS, IDENTITY, IRIS, REAL_MODELS, SENTIMENT, HostedDemoModel
from marketplace.models import (
    Category,
    Collection,
    CollectionItem,
    Dispute,
    FeaturedPlacement,
    License,
    LicenseDownload,
    Listing,
    ListingDailyStat,
    ListingStatus,
    ListingVersion,
    Order,
    Plan,
    PlanKind,
    QualityTier,
    Review,
    Subscription,
    TaskType,
)
from marketplace.models.catalog import PlanInterval
from marketplace.selectors.catalog import latest_downloadable_version
from marketplace.services import listings as listing_services
from marketplace.services import plans as plan_services
from marketplace.services import search as search_services
from marketplace.services import versions as version_services
from marketplace.services.licenses import license_download
from marketplace.services.orders import (
    PERIOD_SECONDS,
    order_create,
    order_fulfil,
    order_record,
    order_release,
)
from marketplace.services.pricing import quote
from marketplace.services.refunds import order_dispute_open, order_refund
from marketplace.services.reviews import review_reply, review_upsert
from marketplace.services.subscriptions import subscription_cancel
from tokenomics.models import Asset, Escrow, Rail
from tokenomics.models.ledger import AccountKind
from tokenomics.money import AGR_BASE_UNITS_PER_AGR, agr, usd_cents_to_agr_base_units
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.ledger import user_account_get_or_create
from tokenomics.services.wallet import wallet_top_up

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


@dataclass(frozen=True)
class ListingSpec:
    creator: str  # "demo" or a key of CREATORS
    category: str  # a sub-category slug
    title: str
    task: str
    size: str
    params: str  # parameter count, for the model card
    summary: str
    tags: tuple[str, ...]
    benchmarks: tuple[tuple[str, str, str], ...]  # (name, score, unit)
    samples: tuple[tuple[str, str], ...]  # (input, output)
    plans: str  # O one-time, S subscription tiers, P pay-per-inference
    license: str = "commercial"
    tier: str = QualityTier.COMMUNITY
    state: str = ListingStatus.PUBLISHED  # or draft / suspended
    popularity: int = 4  # how many buyers, roughly
    quality: float = 4.2  # mean stars of its reviews
    recent: bool = False  # published in the last weeks
    hosted: bool = True  # versions carry a Triton model name


def _spec(
    creator: str,
    category: str,
    title: str,
    task: str,
    size: str,
    params: str,
    summary: str,
    tags: tuple[str, ...],
    benchmarks: tuple[tuple[str, str, str], ...],
    samples: tuple[tuple[str, str], ...],
    plans: str,
    **extra: Any,
) -> ListingSpec:
    return ListingSpec(
        creator, category, title, task, size, params, summary, tags, benchmarks, samples, plans, **extra
    )


T = TaskType
# One listing per entry: creator, sub-category, title, task, size, parameters, summary, tags,
# benchmarks (name, score, unit), sample (input, output), plans (O one-time, S subscription tiers,
# P pay-per-inference), then the optional fields of ListingSpec.
# fmt: off
LISTINGS: tuple[ListingSpec, ...] = (
    # ------------------------------------------------------------------ Language
    _spec("lumen", "text-generation", "Wren 7B Instruct", T.TEXT_GENERATION, "medium", "7.2B",
          "An instruction-tuned 7B chat model with a 32k context window, strong at following "
          "formatting rules and answering from supplied context.",
          ("llm", "chat", "instruct", "rag"),
          (("MMLU", "63.8", "%"), ("MT-Bench", "7.41", ""), ("HumanEval", "38.4", "%")),
          (("Write a two-line release note for a bug fix in the CSV exporter.",
            "Fixed: the CSV exporter no longer drops the last row when a file ends without a newline."),),
          "OSP", tier=QualityTier.VERIFIED, popularity=9, quality=4.5),
    _spec("demo", "text-generation", "Tinyquill 1.1B", T.TEXT_GENERATION, "small", "1.1B",
          "A compact text generator that runs on a laptop CPU: autocomplete, short replies and "
          "templated copy at a fraction of the cost of a large model.",
          ("llm", "edge", "on-device", "autocomplete"),
          (("HellaSwag", "59.2", "%"), ("ARC-Easy", "61.0", "%"), ("Latency p50 (CPU)", "38", "ms/token")),
          (("Subject line for a spring sale on hiking boots:",
            "Spring into the trails: 25% off hiking boots"),),
          "OSP", popularity=8, quality=4.3),
    _spec("kestrel", "text-generation", "Atlas 70B Chat", T.TEXT_GENERATION, "large", "70B",
          "A 70B-parameter assistant for demanding reasoning, long documents and tool use, served on "
          "dedicated GPUs with an enterprise SLA.",
          ("llm", "chat", "reasoning", "tool-use", "enterprise"),
          (("MMLU", "79.6", "%"), ("GSM8K", "88.1", "%"), ("MT-Bench", "8.62", "")),
          (("Summarise the trade-offs of event sourcing in three bullet points.",
            "- Full audit history for free\n- Replays make new read models cheap\n"
            "- Schema changes need care"),),
          "SP", license="enterprise", tier=QualityTier.ENTERPRISE, popularity=6, quality=4.6),
    _spec("demo", "text-classification", "Sentinel Toxicity Classifier", T.TEXT_CLASSIFICATION, "small",
          "66M",
          "Flags toxic, hateful, harassing and sexual content in user-generated text in six "
          "languages, with a calibrated score per label.",
          ("moderation", "toxicity", "trust-and-safety", "multilingual"),
          (("Jigsaw ROC-AUC", "0.962", ""), ("Macro F1", "0.871", ""), ("Throughput", "2,400", "texts/s")),
          (("You are an idiot and everyone hates you.", "toxic: 0.97, insult: 0.93, threat: 0.02"),),
          "OP", tier=QualityTier.VERIFIED, popularity=7, quality=4.4),
    _spec("polyglot", "text-classification", "IntentNet Support Router", T.TEXT_CLASSIFICATION, "small",
          "110M",
          "Routes customer-support messages to 42 intents (billing, shipping, returns, account...) "
          "so tickets land in the right queue on the first try.",
          ("customer-support", "intent", "routing"),
          (("Intent accuracy", "94.3", "%"), ("Out-of-scope recall", "88.7", "%")),
          (("I was charged twice for my order last week", "billing.double_charge (0.94)"),),
          "SP", popularity=5, quality=4.1),
    _spec("polyglot", "text-classification", "SentiLex Multilingual Sentiment", T.TEXT_CLASSIFICATION,
          "small", "278M",
          "Three-way sentiment (negative, neutral, positive) for reviews and social posts in 24 "
          "languages, robust to emoji and slang.",
          ("sentiment", "multilingual", "reviews"),
          (("Accuracy (24 langs)", "86.9", "%"), ("Macro F1", "0.852", "")),
          (("La entrega fue rápida pero la caja llegó rota 😕",
            "negative 0.61 · neutral 0.31 · positive 0.08"),),
          "OP", popularity=4, quality=3.9),
    _spec("lumen", "embeddings", "Vectra Embed Base", T.EMBEDDINGS, "small", "110M",
          "768-dimensional sentence embeddings for semantic search, clustering and deduplication; "
          "the default choice for retrieval-augmented generation.",
          ("embeddings", "semantic-search", "rag", "retrieval"),
          (("MTEB average", "62.4", ""), ("BEIR nDCG@10", "51.8", ""), ("Dimensions", "768", "")),
          (("How do I reset my password?", "[0.0132, -0.0481, 0.0927, … 768 floats]"),),
          "SP", tier=QualityTier.VERIFIED, popularity=9, quality=4.6),
    _spec("lumen", "embeddings", "Vectra Embed Large", T.EMBEDDINGS, "medium", "335M",
          "1024-dimensional embeddings with an 8k-token window for long passages and "
          "cross-lingual retrieval.",
          ("embeddings", "semantic-search", "long-context", "multilingual"),
          (("MTEB average", "65.1", ""), ("BEIR nDCG@10", "55.3", ""), ("Dimensions", "1024", "")),
          (("Quarterly revenue grew 12% year over year.", "[0.0213, 0.0039, -0.0772, … 1024 floats]"),),
          "SP", tier=QualityTier.PREMIUM, popularity=6, quality=4.5),
    _spec("kestrel", "embeddings", "CodeSearch Embeddings", T.EMBEDDINGS, "small", "125M",
          "Embeds code and natural-language queries in one space, so 'parse a date from a string' "
          "finds the function that does it in twelve languages.",
          ("embeddings", "code", "developer-tools", "search"),
          (("CodeSearchNet MRR", "0.742", ""), ("CoSQA accuracy", "68.9", "%")),
          (("read a json file into a dict", "top hit: utils/io.py::load_json (cosine 0.81)"),),
          "OP", license="apache", popularity=5, quality=4.2),
    _spec("polyglot", "translation", "Polyglot MT 40", T.TRANSLATION, "medium", "1.2B",
          "Many-to-many translation between 40 languages with glossary support and formality "
          "control, tuned on business and technical text.",
          ("translation", "multilingual", "localization"),
          (("FLORES-200 chrF++ (avg)", "54.7", ""), ("WMT23 en-de BLEU", "37.2", "")),
          (("Please confirm the delivery address by Friday.",
            "Bitte bestätigen Sie die Lieferadresse bis Freitag."),),
          "SP", tier=QualityTier.VERIFIED, popularity=7, quality=4.4),
    _spec("polyglot", "translation", "Babel-lite EN-ES", T.TRANSLATION, "small", "77M",
          "A fast English-Spanish pair small enough for mobile apps and offline kiosks.",
          ("translation", "spanish", "edge"),
          (("WMT en-es BLEU", "34.1", ""), ("Latency p50 (CPU)", "21", "ms")),
          (("Where is the nearest train station?", "¿Dónde está la estación de tren más cercana?"),),
          "OP", popularity=4, quality=4.0),
    _spec("demo", "summarization", "Brevity News Summarizer", T.SUMMARIZATION, "small", "406M",
          "Three-sentence abstracts of news articles and blog posts that keep names, numbers and "
          "dates intact.",
          ("summarization", "news", "abstractive"),
          (("ROUGE-L (CNN/DM)", "41.3", ""), ("Factual consistency", "92.5", "%")),
          (("(an 800-word article on a city's new bike lanes)",
            "The city will add 40 km of protected bike lanes by 2027. Funding comes from a state "
            "grant. Local shops worry about parking."),),
          "OSP", popularity=7, quality=4.2),
    _spec("lumen", "summarization", "Digest Long-Context Summarizer", T.SUMMARIZATION, "medium", "3B",
          "Summarises documents of up to 100 pages into an outline, key decisions and open questions.",
          ("summarization", "long-context", "meetings", "reports"),
          (("ROUGE-L (GovReport)", "38.9", ""), ("Max input", "128k", "tokens")),
          (("(a 60-page board meeting transcript)",
            "Decisions: approve the Q3 budget; hire two engineers. Open: vendor contract renewal."),),
          "SP", popularity=5, quality=4.3, recent=True),
    # ------------------------------------------------------------------ Vision
    _spec("pixelforge", "image-classification", "ConvNeXt-Tiny Retail Products", T.IMAGE_CLASSIFICATION,
          "small", "28M",
          "Recognises 1,800 grocery and household product categories from a shelf or phone photo.",
          ("image-classification", "retail", "products"),
          (("Top-1 accuracy", "91.2", "%"), ("Top-5 accuracy", "98.4", "%"), ("Latency (T4)", "4.1", "ms")),
          (("photo of a cereal box on a shelf", "breakfast_cereal (0.93), granola (0.04)"),),
          "OP", popularity=5, quality=4.1),
    _spec("pixelforge", "image-classification", "Flora 1k Plant Identifier", T.IMAGE_CLASSIFICATION,
          "small", "22M",
          "Identifies 1,000 garden and wild plant species from leaves, flowers or the whole plant.",
          ("image-classification", "plants", "nature", "mobile"),
          (("Top-1 accuracy", "87.5", "%"), ("Top-5 accuracy", "96.8", "%")),
          (("close-up of a purple flower", "Lavandula angustifolia (0.88)"),),
          "O", license="research", popularity=3, quality=4.0, hosted=False),
    _spec("kestrel", "image-classification", "EuroSAT Land Cover", T.IMAGE_CLASSIFICATION, "small", "11M",
          "Classifies 64x64 satellite tiles into ten land-cover classes for mapping and change "
          "detection.",
          ("satellite", "remote-sensing", "geospatial"),
          (("EuroSAT accuracy", "98.6", "%"), ("Macro F1", "0.984", "")),
          (("Sentinel-2 RGB tile", "AnnualCrop (0.97)"),),
          "OP", license="apache", popularity=3, quality=4.4),
    _spec("pixelforge", "object-detection", "SwiftDetect YOLO-S", T.OBJECT_DETECTION, "small", "9M",
          "Real-time detection of the 80 COCO classes at 200+ frames per second on a single GPU.",
          ("object-detection", "real-time", "coco", "video"),
          (("COCO mAP@50-95", "44.9", ""), ("Latency (A10)", "3.8", "ms"), ("FPS (A10)", "260", "")),
          (("street scene photo", "person: 3, bicycle: 1, car: 2, traffic light: 1"),),
          "OSP", tier=QualityTier.VERIFIED, popularity=8, quality=4.5),
    _spec("pixelforge", "object-detection", "ShelfScan Detector", T.OBJECT_DETECTION, "medium", "46M",
          "Finds empty facings, misplaced products and price tags on retail shelves.",
          ("object-detection", "retail", "inventory"),
          (("mAP@50 (shelf set)", "81.7", ""), ("Gap recall", "93.0", "%")),
          (("photo of a supermarket aisle", "empty facings: 4, price tags: 22, misplaced: 1"),),
          "SP", popularity=4, quality=4.0),
    _spec("kestrel", "object-detection", "Drone-Eye Aerial Detector", T.OBJECT_DETECTION, "medium", "52M",
          "Detects vehicles, people, boats and buildings in aerial and drone footage, including "
          "small objects.",
          ("object-detection", "aerial", "drone", "geospatial"),
          (("VisDrone mAP@50", "49.3", ""), ("DOTA mAP@50", "76.8", "")),
          (("drone frame over a parking lot", "car: 57, van: 6, person: 4"),),
          "OP", popularity=3, quality=3.8, recent=True),
    _spec("kestrel", "segmentation", "SegLite Road Scenes", T.SEGMENTATION, "small", "14M",
          "Semantic segmentation of road, lane, sidewalk, vehicles and pedestrians for ADAS "
          "prototypes.",
          ("segmentation", "autonomous-driving", "cityscapes"),
          (("Cityscapes mIoU", "76.4", "%"), ("Latency (Orin)", "11", "ms")),
          (("dash-cam frame", "mask: road 41%, car 12%, sidewalk 9%, person 1%"),),
          "OP", popularity=4, quality=4.2),
    _spec("medsight", "segmentation", "Cellular Nucleus Segmenter", T.SEGMENTATION, "medium", "31M",
          "Instance segmentation of cell nuclei in H&E and fluorescence microscopy images.",
          ("segmentation", "microscopy", "pathology", "biology"),
          (("Aggregated Jaccard Index", "0.712", ""), ("Dice", "0.861", "")),
          (("1024x1024 H&E tile", "1,284 nuclei, mean area 412 px"),),
          "O", license="research", popularity=3, quality=4.6, hosted=False),
    _spec("lumen", "image-generation", "Lumen Diffusion XL", T.IMAGE_GENERATION, "large", "3.5B",
          "Text-to-image at 1024x1024 with precise prompt following, legible text rendering and "
          "a commercial-safe training set.",
          ("image-generation", "diffusion", "text-to-image", "creative"),
          (("FID (COCO-30k)", "8.7", ""), ("CLIP score", "0.334", ""), ("s / image (A100)", "2.9", "s")),
          (("a watercolor fox reading a map, soft morning light", "1024x1024 PNG"),),
          "SP", tier=QualityTier.PREMIUM, popularity=8, quality=4.4),
    _spec("pixelforge", "image-generation", "Iconsmith Icon Generator", T.IMAGE_GENERATION, "medium", "860M",
          "Generates consistent flat and line icons in your palette from a one-word prompt; SVG "
          "export included.",
          ("image-generation", "icons", "design", "svg"),
          (("Human preference win rate", "71", "%"), ("Seconds / icon (T4)", "1.2", "s")),
          (("rocket, line style, two colors", "512x512 PNG + SVG"),),
          "OS", popularity=5, quality=4.1),
    _spec("pixelforge", "image-generation", "Sketch2Render", T.IMAGE_GENERATION, "large", "2.6B",
          "Turns rough product sketches into photorealistic renders with controllable materials.",
          ("image-generation", "controlnet", "product-design"),
          (("User study preference", "64", "%"),),
          (("pencil sketch of a desk lamp", "photorealistic render, brushed aluminium"),),
          "SP", state=ListingStatus.DRAFT, popularity=0),
    # ------------------------------------------------------------------ Audio
    _spec("sonora", "speech-recognition", "Whisperlite English ASR", T.SPEECH_RECOGNITION, "small", "74M",
          "Fast English speech-to-text with punctuation and word timestamps; ideal for captions and "
          "voice notes.",
          ("asr", "speech-to-text", "english", "captions"),
          (("LibriSpeech test-clean WER", "4.1", "%"), ("LibriSpeech test-other WER", "9.8", "%"),
           ("Real-time factor (CPU)", "0.08", "")),
          (("15-second voice memo (WAV)", "Remind me to call the dentist tomorrow at nine."),),
          "OSP", tier=QualityTier.VERIFIED, popularity=8, quality=4.4),
    _spec("sonora", "speech-recognition", "Sonora ASR Multilingual", T.SPEECH_RECOGNITION, "medium", "769M",
          "Transcribes and translates speech in 57 languages with automatic language detection.",
          ("asr", "speech-to-text", "multilingual", "translation"),
          (("FLEURS WER (avg)", "8.9", "%"), ("CommonVoice WER (avg)", "11.2", "%")),
          (("French podcast clip", "[fr] Bienvenue dans notre émission… → Welcome to our show…"),),
          "SP", tier=QualityTier.PREMIUM, popularity=6, quality=4.5),
    _spec("sonora", "speech-recognition", "CallCenter Transcribe", T.SPEECH_RECOGNITION, "medium", "244M",
          "Two-speaker diarised transcripts of 8 kHz phone calls, with PII redaction.",
          ("asr", "call-center", "diarization", "pii"),
          (("WER on 8 kHz calls", "12.4", "%"), ("Diarisation error rate", "7.9", "%")),
          (("3-minute support call",
            "Agent: Thanks for calling… Customer: My card number is [REDACTED]…"),),
          "SP", popularity=4, quality=3.9),
    _spec("sonora", "text-to-speech", "Sonora Voice Studio TTS", T.TEXT_TO_SPEECH, "medium", "180M",
          "Natural text-to-speech with 30 voices in 12 languages, SSML and speaking-style control.",
          ("tts", "voice", "ssml", "multilingual"),
          (("MOS", "4.41", ""), ("Real-time factor (T4)", "0.03", "")),
          (("<speak>Your order has shipped!</speak>", "24 kHz WAV, voice 'Ivy', 1.6 s"),),
          "SP", tier=QualityTier.VERIFIED, popularity=6, quality=4.6),
    _spec("sonora", "text-to-speech", "Narrator Lite", T.TEXT_TO_SPEECH, "small", "22M",
          "A lightweight English voice for devices and IVR menus that runs in real time on a "
          "Raspberry Pi.",
          ("tts", "edge", "ivr"),
          (("MOS", "3.92", ""), ("Real-time factor (Pi 5)", "0.4", "")),
          (("Press one for billing.", "16 kHz WAV, 1.1 s"),),
          "OP", popularity=3, quality=3.7),
    _spec("sonora", "audio-classification", "UrbanSound Event Tagger", T.AUDIO_CLASSIFICATION, "small", "5M",
          "Tags sirens, car horns, dog barks, drilling, gunshots and 45 other urban sound events.",
          ("audio-classification", "sound-events", "smart-city"),
          (("UrbanSound8K accuracy", "89.7", "%"), ("AudioSet mAP (subset)", "0.412", "")),
          (("10-second street recording", "siren (0.91), car_horn (0.33)"),),
          "OP", popularity=3, quality=4.1),
    _spec("kestrel", "audio-classification", "BirdCall ID", T.AUDIO_CLASSIFICATION, "small", "8M",
          "Identifies 620 bird species from their songs and calls, for field recorders and citizen "
          "science apps.",
          ("audio-classification", "bioacoustics", "birds", "nature"),
          (("BirdCLEF cmAP", "0.781", ""), ("Top-1 accuracy", "83.4", "%")),
          (("30-second dawn recording", "Turdus merula (0.86), Erithacus rubecula (0.41)"),),
          "O", license="research", popularity=4, quality=4.7, recent=True),
    # ------------------------------------------------------------------ Multimodal
    _spec("lumen", "vision-language", "Lumen VL 8B", T.MULTIMODAL, "large", "8.3B",
          "Answers questions about images, charts and screenshots, and writes alt text that "
          "describes what matters.",
          ("vision-language", "vqa", "multimodal", "accessibility"),
          (("MMMU", "49.8", "%"), ("ChartQA", "81.2", "%"), ("DocVQA", "88.6", "%")),
          (("screenshot of a dashboard + 'Which region grew fastest?'",
            "EMEA, up 18% quarter over quarter."),),
          "SP", tier=QualityTier.PREMIUM, popularity=7, quality=4.5),
    _spec("pixelforge", "vision-language", "Captionary Image Captioner", T.MULTIMODAL, "medium", "470M",
          "One-sentence captions and keyword tags for photo libraries, DAMs and e-commerce catalogs.",
          ("captioning", "alt-text", "tagging"),
          (("COCO CIDEr", "132.4", ""), ("NoCaps CIDEr", "118.9", "")),
          (("product photo", "A brown leather backpack with brass buckles on a white background."),),
          "OSP", popularity=5, quality=4.0),
    _spec("demo", "vision-language", "Chartwise Chart QA", T.MULTIMODAL, "medium", "1.3B",
          "Reads bar, line and pie charts and answers questions about the numbers behind them.",
          ("charts", "vqa", "data-extraction"),
          (("ChartQA", "72.5", "%"),),
          (("line chart of monthly sales + 'When did sales peak?'", "In August, at about 41k units."),),
          "SP", state=ListingStatus.DRAFT, popularity=0),
    _spec("demo", "document-understanding", "Receipt Reader OCR", T.MULTIMODAL, "small", "140M",
          "Extracts merchant, date, line items, taxes and totals from photos of receipts, as JSON.",
          ("ocr", "receipts", "expenses", "document-ai"),
          (("Field-level F1 (SROIE)", "96.1", "%"), ("Line-item F1", "89.4", "%")),
          (("photo of a café receipt",
            '{"merchant": "Blue Door Café", "total": "14.60", "currency": "EUR"}'),),
          "OP", popularity=6, quality=4.3),
    _spec("ledgerline", "document-understanding", "FormFlow Invoice Extractor", T.MULTIMODAL, "medium",
          "350M",
          "Turns supplier invoices (PDF or scan) into structured data ready for your ERP, in 18 "
          "languages.",
          ("invoices", "document-ai", "accounts-payable", "ocr"),
          (("Header-field F1", "97.3", "%"), ("Line-item F1", "91.8", "%")),
          (("scanned PDF invoice",
            '{"invoice_no": "INV-2291", "due": "2026-03-31", "total": "1,240.00"}'),),
          "SP", tier=QualityTier.VERIFIED, popularity=5, quality=4.4),
    _spec("quantleaf", "document-understanding", "TableSense PDF Tables", T.MULTIMODAL, "medium", "210M",
          "Finds tables in PDFs, including borderless and multi-page ones, and returns them as CSV.",
          ("tables", "pdf", "document-ai", "data-extraction"),
          (("PubTables-1M GriTS", "0.962", ""), ("FinTabNet TEDS", "0.918", "")),
          (("annual report page 37", "CSV, 14 rows and 6 columns"),),
          "OP", popularity=4, quality=4.0, recent=True),
    # ------------------------------------------------------------------ Domain-specific
    _spec("quantleaf", "finance", "FinBERT-Pro Sentiment", T.TEXT_CLASSIFICATION, "small", "110M",
          "Sentiment of earnings calls, analyst notes and financial news, scored per sentence and "
          "per entity.",
          ("finance", "sentiment", "earnings-calls", "nlp"),
          (("Financial PhraseBank accuracy", "92.8", "%"), ("FiQA F1", "0.873", "")),
          (("Margins compressed as input costs rose faster than pricing.",
            "negative (0.88), entity: margins"),),
          "OSP", tier=QualityTier.VERIFIED, popularity=6, quality=4.3),
    _spec("quantleaf", "finance", "FraudGuard Transactions", T.TABULAR, "small", "4M",
          "Scores card transactions for fraud in under two milliseconds, with reason codes for "
          "analysts.",
          ("fraud", "tabular", "payments", "risk"),
          (("ROC-AUC", "0.981", ""), ("Recall @ 0.5% FPR", "78.2", "%"), ("Latency p99", "1.7", "ms")),
          (('{"amount": 912.40, "mcc": 5732, "country": "BR", "card_age_days": 3}',
            "risk 0.87 · reasons: new card, high amount, cross-border"),),
          "SP", license="enterprise", tier=QualityTier.PREMIUM, popularity=5, quality=4.4),
    _spec("quantleaf", "finance", "CreditScope Risk Scorer", T.TABULAR, "small", "2M",
          "Probability of default for small-business loans from 40 application and bureau features.",
          ("credit-risk", "tabular", "lending"),
          (("ROC-AUC", "0.842", ""), ("KS statistic", "0.53", "")),
          (('{"revenue": 420000, "years_trading": 3, "dscr": 1.4}', "PD 12 months: 3.1%"),),
          "O", popularity=2, quality=3.6, hosted=False),
    _spec("medsight", "healthcare", "ChestX Triage", T.IMAGE_CLASSIFICATION, "medium", "88M",
          "Prioritises chest X-rays with likely findings (14 labels) so radiologists read urgent "
          "studies first.",
          ("healthcare", "radiology", "x-ray", "triage"),
          (("CheXpert mean AUROC", "0.902", ""), ("Sensitivity @ 90% spec.", "84.6", "%")),
          (("frontal chest X-ray (DICOM)",
            "pleural_effusion 0.81, cardiomegaly 0.34 → priority: high"),),
          "SP", license="clinical", tier=QualityTier.PREMIUM, popularity=4, quality=4.5),
    _spec("medsight", "healthcare", "DermaScan Lesion Classifier", T.IMAGE_CLASSIFICATION, "small", "25M",
          "Classifies dermoscopic images of skin lesions into seven diagnostic categories.",
          ("healthcare", "dermatology", "image-classification"),
          (("ISIC 2019 balanced accuracy", "79.3", "%"), ("Melanoma AUROC", "0.934", "")),
          (("dermoscopy image", "nevus 0.72, melanoma 0.18"),),
          "OP", license="clinical", popularity=3, quality=4.0),
    _spec("medsight", "healthcare", "ClinNote De-identifier", T.TEXT_CLASSIFICATION, "small", "110M",
          "Removes names, dates, addresses and record numbers from clinical notes (HIPAA Safe "
          "Harbor's 18 identifiers).",
          ("healthcare", "privacy", "de-identification", "ner"),
          (("i2b2 2014 recall", "98.4", "%"), ("Precision", "96.7", "%")),
          (("Pt John Smith seen 03/02 at 14 Elm St.", "Pt [NAME] seen [DATE] at [ADDRESS]."),),
          "SP", tier=QualityTier.VERIFIED, popularity=4, quality=4.6),
    _spec("ledgerline", "legal", "ClauseFinder Contract Analyzer", T.TEXT_CLASSIFICATION, "medium", "435M",
          "Finds and labels 41 clause types (termination, indemnity, change of control...) in "
          "contracts and flags unusual wording.",
          ("legal", "contracts", "clause-extraction"),
          (("CUAD AUPR", "0.712", ""), ("Clause F1", "0.846", "")),
          (("(a 22-page supply agreement)",
            "termination_for_convenience §14.2 · uncapped_liability §9.1 ⚠"),),
          "SP", tier=QualityTier.VERIFIED, popularity=5, quality=4.3),
    _spec("ledgerline", "legal", "CaseBrief Summarizer", T.SUMMARIZATION, "medium", "3B",
          "Writes case briefs (facts, issue, holding, reasoning) from court opinions.",
          ("legal", "summarization", "case-law"),
          (("ROUGE-L (opinions)", "36.2", ""), ("Lawyer preference", "68", "%")),
          (("(a 40-page appellate opinion)", "Issue: whether… Holding: affirmed… Reasoning: …"),),
          "OS", popularity=3, quality=3.8),
    _spec("ledgerline", "legal", "Ledgerline Legal Embeddings", T.EMBEDDINGS, "small", "110M",
          "Embeddings tuned on statutes, contracts and case law for legal research search.",
          ("legal", "embeddings", "search"),
          (("LegalBench retrieval nDCG@10", "58.4", ""),),
          (("implied warranty of merchantability", "[0.041, -0.007, … 768 floats]"),),
          "SP", state=ListingStatus.DRAFT, popularity=0),
    _spec("kestrel", "code", "Forge Coder 3B", T.TEXT_GENERATION, "small", "3B",
          "Code completion and fill-in-the-middle for 30 languages, fast enough for every keystroke.",
          ("code", "completion", "developer-tools", "llm"),
          (("HumanEval pass@1", "41.5", "%"), ("MBPP pass@1", "47.9", "%"), ("Latency p50", "42", "ms")),
          (("def is_palindrome(s: str) -> bool:",
            '    cleaned = "".join(c.lower() for c in s if c.isalnum())\n'
            "    return cleaned == cleaned[::-1]"),),
          "OSP", license="apache", tier=QualityTier.VERIFIED, popularity=8, quality=4.4),
    _spec("kestrel", "code", "Forge Coder 15B", T.TEXT_GENERATION, "large", "15B",
          "Repository-aware code generation, refactoring and review with a 64k context.",
          ("code", "llm", "refactoring", "code-review"),
          (("HumanEval pass@1", "72.6", "%"), ("SWE-bench Lite", "31.3", "%")),
          (("Refactor this function to be async.", "(a diff with async def and awaited calls)"),),
          "SP", tier=QualityTier.PREMIUM, popularity=6, quality=4.6),
    _spec("quantleaf", "code", "SQLWhisper Text-to-SQL", T.TEXT_GENERATION, "medium", "1.5B",
          "Writes SQL for your schema from plain questions, and explains queries it is given.",
          ("sql", "code", "analytics", "text-to-sql"),
          (("Spider exec. accuracy", "81.4", "%"), ("BIRD exec. accuracy", "54.9", "%")),
          (("Top 5 customers by revenue last quarter",
            "SELECT customer_id, SUM(total) AS revenue FROM orders WHERE … "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 5;"),),
          "OSP", popularity=6, quality=4.2),
    _spec("quantleaf", "time-series", "Chronos-S Demand Forecaster", T.TIME_SERIES, "small", "46M",
          "Zero-shot demand forecasts with prediction intervals for retail and supply-chain series.",
          ("forecasting", "time-series", "retail", "zero-shot"),
          (("M4 sMAPE", "12.1", "%"), ("MASE (M5)", "0.91", "")),
          (("104 weeks of unit sales", "next 13 weeks: 412, 398, 455 … (80% PI shown)"),),
          "OSP", tier=QualityTier.VERIFIED, popularity=5, quality=4.3),
    _spec("kestrel", "time-series", "GridLoad Energy Forecaster", T.TIME_SERIES, "medium", "120M",
          "Hour-ahead to week-ahead electricity load forecasts from load history and weather.",
          ("forecasting", "energy", "time-series", "utilities"),
          (("MAPE day-ahead", "2.4", "%"), ("MAPE week-ahead", "4.1", "%")),
          (("8,760 hourly loads + weather forecast", "next 24 h load curve (MW)"),),
          "SP", license="enterprise", tier=QualityTier.EXCLUSIVE, popularity=2, quality=4.8),
    _spec("demo", "image-classification", "Glint Face Matcher", T.IMAGE_CLASSIFICATION, "small", "24M",
          "Verifies whether two face photos show the same person.",
          ("faces", "biometrics", "verification"),
          (("LFW accuracy", "99.6", "%"),),
          (("two portrait photos", "same person (0.97)"),),
          "OP", state=ListingStatus.SUSPENDED, popularity=0),
)
# fmt: on
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


@dataclass(frozen=True)
class PlanSpec:
    kind: str
    name: str
    price_cents: int
    price_agr: int | None = None
    interval: str = ""
    monthly_quota: int | None = None
    rate_limit_per_minute: int = 60
    description: str = ""


@dataclass
class Sale:
    key: str
    buyer: User
    spec: ListingSpec
    plan: int  # index into the listing's plans
    rail: str
    at: datetime
    outcome: str  # download, window, refund, escrow, dispute, active, cancel, cancel_end, credit
    outcome_at: datetime | None = None
    credit_cents: int | None = None


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    run: Callable[[], None] = field(compare=False)
    # Runs its own durable transaction (downloads, refunds, disputes, cancellations); the others
    # are grouped into one transaction per run of them, so SQLite commits far less often.
    durable: bool = field(default=False, compare=False)


def _plans(spec: ListingSpec, rng: random.Random, agr_price_micro_usd: int) -> list[PlanSpec]:
    """The listing's plans, priced by model size (one-time $9-$499; monthly tiers; per 1,000 calls)."""
    plans: list[PlanSpec] = []
    # Some listings have their own AGR price: about 10% below the dollar price at the registry's AGR
    # reference rate (token.agr_price_micro_usd), in whole AGR.
    with_agr = rng.random() < 0.35

    def agr_price(cents: int) -> int | None:
        if not with_agr:
            return None
        units = usd_cents_to_agr_base_units(cents=cents * 9 // 10, agr_price_micro_usd=agr_price_micro_usd)
        return agr(max(1, units // AGR_BASE_UNITS_PER_AGR))

    if "O" in spec.plans:
        cents = rng.choice(
            {"small": (900, 1_900, 2_900, 4_900, 7_900), "medium": (4_900, 9_900, 14_900, 19_900)}.get(
                spec.size, (19_900, 29_900, 49_900)
            )
        )
        plans.append(
            PlanSpec(
                PlanKind.ONE_TIME,
                "Perpetual",
                cents,
                agr_price(cents),
                description="A perpetual license to the current version, with five downloads.",
            )
        )
    if "S" in spec.plans:
        basic, pro = {"small": (900, 2_900), "medium": (1_900, 7_900)}.get(spec.size, (4_900, 19_900))
        basic_quota = {"small": 10_000, "medium": 5_000}.get(spec.size, 2_000)
        pro_quota = None if spec.size == "small" and rng.random() < 0.6 else basic_quota * 20
        plans.append(
            PlanSpec(
                PlanKind.SUBSCRIPTION,
                "Basic",
                basic,
                agr_price(basic),
                interval="month",
                monthly_quota=basic_quota,
                rate_limit_per_minute=60,
                description=f"{basic_quota:,} inferences a month, updates and downloads included.",
            )
        )
        plans.append(
            PlanSpec(
                PlanKind.SUBSCRIPTION,
                "Pro",
                pro,
                agr_price(pro),
                interval="month",
                monthly_quota=pro_quota,
                rate_limit_per_minute=600,
                description=(
                    "Unlimited inferences" if pro_quota is None else f"{pro_quota:,} inferences a month"
                )
                + ", priority rate limits, updates and downloads included.",
            )
        )
    if "P" in spec.plans:
        per_thousand = rng.choice(
            {"small": (20, 40, 60, 90), "medium": (150, 250, 400)}.get(spec.size, (800, 1_200, 2_000))
        )
        plans.append(
            PlanSpec(
                PlanKind.PER_INFERENCE,
                "Metered",
                per_thousand,
                rate_limit_per_minute=300,
                description="Pay per call from prepaid credit; the price is per 1,000 inferences.",
            )
        )
    return plans


def _model_card(spec: ListingSpec, plans: list[PlanSpec]) -> str:
    slug = slugify(spec.title)
    rows = "\n".join(
        f"| {name} | {score}{(' ' + unit) if unit else ''} |" for name, score, unit in spec.benchmarks
    )
    hosted = any(plan.kind != PlanKind.ONE_TIME for plan in plans)
    call = (
        "## Call it\n\n"
        "```bash\n"
        f"curl -X POST http://127.0.0.1:8000/api/v1/inference/{slug} \\\n"
        '  -H "Authorization: Bearer agr_live_…" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        '  -d \'{"inputs": [{"name": "INPUT_1", "datatype": "FP32", "shape": [1, 4], '
        '"data": [0.1, 0.2, 0.3, 0.4]}]}\'\n'
        "```\n\n"
        "The response carries the outputs, the node that served the call, its latency and the charge.\n"
        if hosted
        else "## Use it\n\n"
        "```python\n"
        "import onnxruntime as ort\n\n"
        f'session = ort.InferenceSession("{slug}.onnx")\n'
        'outputs = session.run(None, {"INPUT_1": batch})\n'
        "```\n"
    )
    return (
        f"# {spec.title}\n\n{spec.summary}\n\n"
        "## Model details\n\n"
        "| | |\n|---|---|\n"
        f"| Task | {TaskType(spec.task).label} |\n"
        f"| Parameters | {spec.params} |\n"
        f"| Size class | {spec.size.capitalize()} |\n"
        f"| Tags | {', '.join(spec.tags)} |\n\n"
        "## Evaluation\n\n"
        "| Benchmark | Score |\n|---|---|\n"
        f"{rows}\n\n"
        "Scores are from the creator's own evaluation on the public test split unless noted.\n\n"
        f"{call}\n"
        "## Intended use and limitations\n\n"
        f"- Built for {TaskType(spec.task).label.lower()} in production services and internal tools.\n"
        "- Quality drops on inputs far from the training distribution; evaluate on your own data first.\n"
        "- Do not use it for decisions about people without human review.\n"
    )


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 86_400, high * 86_400))


class Command(BaseCommand):
    help = "Load a demo catalog: categories, creators, listings, four months of sales, reviews, collections."

    def handle(self, *args: Any, **options: Any) -> None:
        # Four months of made-up sales, refunds and disputes are history, not news: no receipts.
        with emails_paused():
            self._load()

    def _load(self) -> None:
        if Listing.objects.filter(slug=MARKER_SLUG).exists():
            # Added since some demo databases were loaded: the hosted models are checked every run.
            created = self._hosted_models()
            self.stdout.write(
                "Demo catalog already loaded"
                + (
                    f"; added the hosted demo models {', '.join(created)}. "
                    if created
                    else "; nothing to do. "
                )
                + self._summary()
            )
            return
        required = {DEMO_CREATOR, DEMO_BUYER, STAFF}
        found = {u.email: u for u in User.objects.filter(email__in=required)}
        if set(found) != required:
            raise CommandError("Run `manage.py load_demo_data` first: the demo accounts are missing.")
        self.rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
        self.now = timezone.now()
        self.at = self.now  # the moment of the story step being played (set by the loop below)
        self.staff = found[STAFF]
        self.creators: dict[str, User] = {"demo": found[DEMO_CREATOR]}
        self.listings: dict[str, Listing] = {}
        self.plans: dict[str, list[Plan]] = {}
        self.orders: dict[str, int] = {}
        self.subscriptions: dict[str, int] = {}
        self.reviews: dict[str, Review] = {}
        self.events: list[Event] = []

        with transaction.atomic():
            categories = self._categories()
            for key, email, name in CREATORS:
                self.creators[key] = self._user(email, name)
            buyers = [found[DEMO_BUYER]] + [self._user(email, name) for email, name in BUYERS]
        self.refund_window = timedelta(seconds=parameter_get("escrow.refund_window_seconds"))
        agr_price_micro_usd = parameter_get("token.agr_price_micro_usd")
        plan_specs = {spec.title: _plans(spec, self.rng, agr_price_micro_usd) for spec in LISTINGS}
        published = self._schedule_listings(categories, plan_specs)
        self._schedule_sales(buyers, plan_specs, published)
        for durable, group in groupby(sorted(self.events), key=lambda event: event.durable):
            with nullcontext() if durable else transaction.atomic():
                for event in group:
                    self.at = event.at  # the moment the step happens, read by the step
                    event.run()
        self._collections_and_featured()
        self._daily_views()
        self._hosted_models()
        search_services.listings_search_index_all()
        search_services.listings_trending_refresh()
        self.stdout.write(self.style.SUCCESS("Demo catalog ready: " + self._summary()))

    # ------------------------------------------------------------------ setup

    def _summary(self) -> str:
        listings = Listing.objects.count()
        published = Listing.objects.filter(status=ListingStatus.PUBLISHED).count()
        return (
            f"{listings} listings ({published} published), {Order.objects.count()} orders, "
            f"{Review.objects.count()} reviews."
        )

    def _categories(self) -> dict[str, Category]:
        by_slug: dict[str, Category] = {}
        for position, (slug, name, description, children) in enumerate(CATEGORY_TREE):
            parent, _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "position": position, "description": description}
            )
            for child_position, (child_slug, child_name) in enumerate(children):
                by_slug[child_slug], _ = Category.objects.get_or_create(
                    slug=child_slug,
                    defaults={"name": child_name, "parent": parent, "position": child_position},
                )
        return by_slug

    def _user(self, email: str, display_name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = account_services.user_create(email=email, password=DEMO_PASSWORD, email_verified=True)
            account_services.user_profile_update(user=user, display_name=display_name)
        return user

    def _at(self, event_at: datetime, run: Callable[[], None], *, durable: bool = False) -> None:
        at = min(event_at, self.now - timedelta(minutes=5))
        self.events.append(Event(at, len(self.events), run, durable))

    def _dated(self, rows: QuerySet[Any], *fields: str) -> None:
        """Date the plain timestamps (`fields`, and updated_at) of rows the current step just wrote
        at the step's moment: the services stamp them with the real clock. Never ledger rows
        (their triggers refuse any update): the services date those themselves, from `at`."""
        rows.update(**dict.fromkeys(("updated_at", *fields), self.at))

    def _dated_order(self, order_id: int, *fields: str) -> None:
        """`_dated` for an order and what goes with it: its license and its escrow."""
        self._dated(Order.objects.filter(pk=order_id), *fields)
        self._dated(License.objects.filter(order_id=order_id), *fields)
        self._dated(
            Escrow.objects.filter(pk__in=Order.objects.filter(pk=order_id).values("escrow_id")), *fields
        )

    # ------------------------------------------------------------------ listings

    def _schedule_listings(
        self, categories: dict[str, Category], plan_specs: dict[str, list[PlanSpec]]
    ) -> dict[str, datetime]:
        """Schedule each listing's creation, versions, publishing and moderation; returns when
        each published listing went on sale."""
        rng, now = self.rng, self.now
        published: dict[str, datetime] = {}
        for spec in LISTINGS:
            live = now - (_days(rng, 12, 40) if spec.recent else _days(rng, 125, 200))
            created = live - _days(rng, 1, 6)
            if spec.state == ListingStatus.DRAFT:
                # The demo creator's draft still lacks a version, so its checklist shows what is missing.
                versions = 0 if spec.creator == "demo" else 1
            else:
                versions = rng.choice((1, 2, 2, 3))
            category = categories[spec.category]
            self._at(created, partial(self._create_listing, spec, category, plan_specs[spec.title]))
            version_times = [created + timedelta(hours=1)]
            for _ in range(1, versions):
                version_times.append(version_times[-1] + _days(rng, 35, 80))
            version_times = version_times[:versions]
            for number, at in enumerate(version_times):
                if at < now - timedelta(days=1):
                    self._at(at, partial(self._upload_version, spec, number))
            if spec.state == ListingStatus.DRAFT:
                continue
            self._at(live, partial(self._publish, spec))
            if spec.tier != QualityTier.COMMUNITY:
                self._at(live + _days(rng, 0.5, 6), partial(self._tier, spec))
            if spec.state == ListingStatus.SUSPENDED:
                self._at(live + _days(rng, 2, 6), partial(self._suspend, spec))
                continue
            published[spec.title] = live
        return published

    def _create_listing(self, spec: ListingSpec, category: Category, plans: list[PlanSpec]) -> None:
        creator = self.creators[spec.creator]
        listing = listing_services.listing_create(
            creator=creator,
            title=spec.title,
            summary=spec.summary,
            category=category,
            model_card=_model_card(spec, plans),
            tags=spec.tags,
            task=spec.task,
            size=spec.size,
            license_terms=LICENSES[spec.license],
            sample_io=[{"input": given, "output": answer} for given, answer in spec.samples],
            benchmarks=[
                {"name": name, "score": score, "unit": unit} for name, score, unit in spec.benchmarks
            ],
        )
        self.listings[spec.title] = listing
        self._dated(Listing.objects.filter(pk=listing.pk), "created_at")
        self.plans[spec.title] = [
            plan_services.plan_add(
                listing=listing,
                actor=creator,
                kind=plan.kind,
                name=plan.name,
                price_cents=plan.price_cents,
                price_agr=plan.price_agr,
                interval=plan.interval,
                monthly_quota=plan.monthly_quota,
                rate_limit_per_minute=plan.rate_limit_per_minute,
                description=plan.description,
            )
            for plan in plans
        ]
        self._dated(Plan.objects.filter(listing=listing), "created_at")

    def _upload_version(self, spec: ListingSpec, number: int) -> None:
        listing = self.listings[spec.title]
        version = ("1.0.0", "1.1.0", "2.0.0")[number]
        # A small stand-in for the weights: a header naming the model, then seeded bytes.
        content = f"AGORA-DEMO-MODEL {listing.slug} {version}\n".encode() + self.rng.randbytes(
            self.rng.randint(2_048, 6_144)
        )
        uploaded = version_services.version_upload(
            listing=listing,
            actor=listing.creator,
            version=version,
            changelog=CHANGELOGS[number],
            file=ContentFile(content, name=f"{listing.slug}-{version}.onnx"),
            triton_model_name=TRITON_MODEL if spec.hosted else "",
            input_spec=IDENTITY_INPUT if spec.hosted else [],
            output_spec=IDENTITY_OUTPUT if spec.hosted else [],
        )
        self._dated(ListingVersion.objects.filter(pk=uploaded.pk), "created_at")
        self._dated(Listing.objects.filter(pk=listing.pk))

    def _publish(self, spec: ListingSpec) -> None:
        listing = self.listings[spec.title]
        self.listings[spec.title] = listing_services.listing_publish(listing=listing, actor=listing.creator)
        self._dated(Listing.objects.filter(pk=listing.pk), "published_at")

    def _tier(self, spec: ListingSpec) -> None:
        self.listings[spec.title] = listing_services.listing_quality_tier_set(
            listing=self.listings[spec.title], actor=self.staff, tier=spec.tier
        )
        self._dated(Listing.objects.filter(pk=self.listings[spec.title].pk))

    def _suspend(self, spec: ListingSpec) -> None:
        self.listings[spec.title] = listing_services.listing_moderate(
            listing=self.listings[spec.title],
            staff_user=self.staff,
            status=ListingStatus.SUSPENDED,
            reason=SUSPENSION_REASON,
        )
        self._dated(Listing.objects.filter(pk=self.listings[spec.title].pk))

    # ------------------------------------------------------------------ sales

    def _schedule_sales(
        self, buyers: list[User], plan_specs: dict[str, list[PlanSpec]], published: dict[str, datetime]
    ) -> None:
        rng, now = self.rng, self.now
        by_email = {buyer.email: buyer for buyer in buyers}
        by_title = {spec.title: spec for spec in LISTINGS}
        taken: set[tuple[str, str]] = set()
        sales: list[tuple[Sale, tuple[int, str, str] | None]] = []
        for number, (
            email,
            title,
            kind,
            plan_name,
            rail,
            ago,
            outcome,
            outcome_ago,
            credit,
            review,
        ) in enumerate(FORCED_SALES):
            spec = by_title[title]
            index = next(
                i for i, plan in enumerate(plan_specs[title]) if plan.kind == kind and plan.name == plan_name
            )
            sale = Sale(
                key=f"f{number}",
                buyer=by_email[email],
                spec=spec,
                plan=index,
                rail=rail,
                at=now - timedelta(days=ago),
                outcome=outcome,
                outcome_at=now - timedelta(days=outcome_ago) if outcome_ago else None,
                credit_cents=credit,
            )
            sales.append((sale, review))
            taken.add((email, title))

        earliest = now - timedelta(days=HISTORY_DAYS)
        for spec in LISTINGS:
            if spec.title not in published or spec.popularity == 0:
                continue
            start = max(published[spec.title] + timedelta(days=1), earliest)
            span = (now - timedelta(hours=2) - start).total_seconds()
            count = min(len(buyers) - 1, spec.popularity + rng.randint(0, 3))
            candidates = [b for b in buyers[1:] if (b.email, spec.title) not in taken]
            for buyer in rng.sample(candidates, min(count, len(candidates))):
                taken.add((buyer.email, spec.title))
                plans = plan_specs[spec.title]
                weights = [
                    KIND_WEIGHTS[plan.kind] * (3 if plan.name in ("Basic", "Perpetual", "Metered") else 1)
                    for plan in plans
                ]
                index = rng.choices(range(len(plans)), weights=weights)[0]
                plan = plans[index]
                rail = Rail.AGR if rng.random() < (0.4 if plan.price_agr else 0.15) else Rail.CARD
                # More sales lately than four months ago: the business is growing.
                at = start + timedelta(seconds=span * (1 - rng.random() ** 1.6))
                sale = Sale(
                    key=f"s{len(sales)}", buyer=buyer, spec=spec, plan=index, rail=rail, at=at, outcome=""
                )
                self._decide(sale, plan)
                sales.append((sale, None))

        for sale, review in sales:
            self._schedule_sale(sale)
            self._schedule_review(sale, review)

    def _decide(self, sale: Sale, plan: PlanSpec) -> None:
        """What happens after a random sale: downloaded, refunded, renewed, canceled..."""
        rng, now = self.rng, self.now
        roll = rng.random()
        if plan.kind == PlanKind.PER_INFERENCE:
            sale.outcome, sale.credit_cents = "credit", rng.choice((1_000, 2_500, 5_000, 10_000))
        elif plan.kind == PlanKind.SUBSCRIPTION:
            if roll < 0.12 and now - sale.at > timedelta(days=10):
                sale.outcome = "cancel"
                sale.outcome_at = sale.at + _days(rng, 5, (now - sale.at).days - 1)
            else:
                sale.outcome = "active"
        elif now - sale.at < self.refund_window:
            sale.outcome = "download" if roll < 0.5 else "escrow"
            sale.outcome_at = sale.at + _days(rng, 0.05, 2)
            if sale.outcome_at >= now:
                sale.outcome = "escrow"
        elif roll < 0.08:
            sale.outcome, sale.outcome_at = "refund", sale.at + _days(rng, 0.2, 5)
        elif roll < 0.16:
            sale.outcome, sale.outcome_at = "window", sale.at + self.refund_window + timedelta(minutes=1)
        else:
            sale.outcome, sale.outcome_at = "download", sale.at + _days(rng, 0.02, 3)

    def _schedule_sale(self, sale: Sale) -> None:
        self._at(sale.at, partial(self._first_sale, sale))
        outcome, at = sale.outcome, sale.outcome_at
        if outcome == "download" and at is not None:
            self._at(at, partial(self._download, sale), durable=True)
        elif outcome == "window" and at is not None:
            self._at(at, partial(self._release, sale))
        elif outcome == "refund" and at is not None:
            self._at(at, partial(self._refund, sale), durable=True)
        elif outcome == "dispute" and at is not None:
            self._at(at, partial(self._dispute, sale), durable=True)
        if outcome in ("active", "cancel", "cancel_end"):
            end = at if outcome == "cancel" and at is not None else self.now
            renewal, number = sale.at + SUBSCRIPTION_PERIOD, 1
            while renewal < end:
                self._at(renewal, partial(self._renew, sale, number))
                renewal, number = renewal + SUBSCRIPTION_PERIOD, number + 1
            if outcome in ("cancel", "cancel_end") and at is not None:
                self._at(at, partial(self._cancel, sale, outcome == "cancel_end"), durable=True)

    def _schedule_review(self, sale: Sale, forced: tuple[int, str, str] | None) -> None:
        rng, spec = self.rng, sale.spec
        if forced is None:
            # A story sale ("f…") has its review written out in FORCED_SALES, or none.
            if sale.key.startswith("f") or sale.outcome in ("refund", "dispute") or rng.random() > 0.62:
                return
            stars = max(1, min(5, round(rng.gauss(spec.quality, 0.95))))
            title, body = rng.choice(REVIEW_TEXTS[stars])
            task = TaskType(spec.task).label.lower()
            forced = (
                stars,
                title.format(title=spec.title, task=task),
                body.format(title=spec.title, task=task),
            )
        at = sale.at + _days(rng, 1, 20)
        if sale.outcome in ("download", "refund") and sale.outcome_at is not None:
            at = max(at, sale.outcome_at + timedelta(hours=1))
        if at >= self.now:
            return
        self._at(at, partial(self._review, sale, *forced))
        if rng.random() < (0.7 if forced[0] <= 3 else 0.25):
            reply = rng.choice(REPLIES_LOW if forced[0] <= 3 else REPLIES_HIGH)
            self._at(at + _days(rng, 0.2, 4), partial(self._reply, sale, reply))

    def _sell(self, sale: Sale, subscription: Subscription | None = None, key: str = "") -> Order:
        """An order paid the way a rail pays it: the deposit lands in the buyer's wallet, then the
        order is fulfilled from there (as marketplace.services.orders' payment handler does)."""
        listing = self.listings[sale.spec.title]
        plan = self.plans[sale.spec.title][sale.plan]
        buyer = sale.buyer
        priced = quote(plan=plan, rail=sale.rail, buyer=buyer, credit_cents=sale.credit_cents)
        version = latest_downloadable_version(listing=listing) if plan.kind == PlanKind.ONE_TIME else None
        with transaction.atomic():
            if plan.kind == PlanKind.SUBSCRIPTION and subscription is None:
                subscription = Subscription.objects.create(
                    buyer=buyer,
                    plan=plan,
                    listing=listing,
                    rail=priced.rail,
                    monthly_quota=plan.monthly_quota,
                )
            order = order_record(
                buyer=buyer, plan=plan, priced=priced, version=version, subscription=subscription
            )
            wallet_top_up(
                user=buyer,
                asset=priced.asset,
                amount=priced.total,
                rail="stripe" if priced.asset == Asset.USD else "chain",
                idempotency_key=f"{KEY_PREFIX}:{key or sale.key}",
                prepaid_bonus=plan.kind == PlanKind.PER_INFERENCE,
                reference=order.reference,
                at=self.at,
            )
            wallet = user_account_get_or_create(user=buyer, kind=AccountKind.WALLET, asset=priced.asset)
            locked = (
                Order.objects.select_for_update(of=("self",))
                .select_related("plan", "listing", "buyer")
                .get(pk=order.pk)
            )
            order_fulfil(order=locked, source=wallet, at=self.at)
            self._dated_order(order.pk, "created_at")
            if subscription is not None:
                first = sale.key not in self.subscriptions
                self._dated(
                    Subscription.objects.filter(pk=subscription.pk), *(("created_at",) if first else ())
                )
        self.orders[sale.key] = order.pk
        if subscription is not None:
            self.subscriptions[sale.key] = subscription.pk
        return locked

    def _first_sale(self, sale: Sale) -> None:
        self._sell(sale)

    def _download(self, sale: Sale) -> None:
        license_id = License.objects.filter(order_id=self.orders[sale.key]).values_list("pk", flat=True).get()
        license_download(buyer=sale.buyer, license_id=license_id, at=self.at)
        self._dated(LicenseDownload.objects.filter(license_id=license_id), "created_at")
        self._dated_order(self.orders[sale.key])

    def _release(self, sale: Sale) -> None:
        order_release(order_id=self.orders[sale.key], at=self.at)
        self._dated_order(self.orders[sale.key])

    def _refund(self, sale: Sale) -> None:
        order_refund(
            buyer=sale.buyer, order_id=self.orders[sale.key], reason="Not what I expected", at=self.at
        )
        self._dated_order(self.orders[sale.key])

    def _dispute(self, sale: Sale) -> None:
        order_dispute_open(
            buyer=sale.buyer,
            order_id=self.orders[sale.key],
            reason="The model does not read our receipts",
            evidence=(
                "On 40 receipts from our stores the total was wrong on 23 of them; the listing claims "
                "96% field-level F1. Sample receipts and outputs attached to my support ticket."
            ),
        )
        self._dated(Dispute.objects.filter(order_id=self.orders[sale.key]), "created_at")
        self._dated_order(self.orders[sale.key])

    def _renew(self, sale: Sale, number: int) -> None:
        """A subscription period paid at the end of the last one, as the renewal task does."""
        sub = Subscription.objects.get(pk=self.subscriptions[sale.key])
        if sub.status != Subscription.Status.ACTIVE or not sub.auto_renew:
            return
        previous = self.orders[sale.key]
        self._sell(sale, subscription=sub, key=f"{sale.key}:renewal:{number}")
        order_release(order_id=previous, at=self.at)
        self._dated_order(previous)

    def _cancel(self, sale: Sale, at_period_end: bool) -> None:
        subscription_cancel(
            buyer=sale.buyer,
            subscription_id=self.subscriptions[sale.key],
            at_period_end=at_period_end,
            at=self.at,
        )
        self._dated(Subscription.objects.filter(pk=self.subscriptions[sale.key]))
        self._dated_order(self.orders[sale.key])

    def _review(self, sale: Sale, stars: int, title: str, body: str) -> None:
        listing = self.listings[sale.spec.title]
        self.reviews[sale.key], created = review_upsert(
            buyer=sale.buyer, listing=listing, rating=stars, title=title, body=body
        )
        self._dated(
            Review.objects.filter(pk=self.reviews[sale.key].pk), *(("created_at",) if created else ())
        )
        self._dated(Listing.objects.filter(pk=listing.pk))  # its rating, recounted

    def _reply(self, sale: Sale, text: str) -> None:
        review = self.reviews.get(sale.key)
        if review is not None:
            review_reply(creator=self.listings[sale.spec.title].creator, review=review, reply=text)
            self._dated(Review.objects.filter(pk=review.pk), "replied_at")

    # ------------------------------------------------------------------ the models the demo serves

    def _hosted_models(self) -> list[str]:
        """The demo creator's listings of the three models `make demo` really serves
        (marketplace.hosted_demo), each with a version declaring its Triton model and tensor specs,
        a Basic and a Pro subscription and a per-inference plan; the demo buyer subscribes to the
        digits model from their prepaid balance (and pays the others per call from the same
        balance). Made through the services a creator's and a buyer's clicks call, now (no story
        clock). Idempotent: a listing the creator already has, or a subscription the buyer already
        holds, is left alone. Returns the titles created."""
        creator = User.objects.get(email=DEMO_CREATOR)
        buyer = User.objects.get(email=DEMO_BUYER)
        categories = self._categories()
        created: list[str] = []
        for model in REAL_MODELS:
            listing = Listing.objects.filter(creator=creator, title=model.title).first()
            if listing is None:
                listing = self._hosted_listing(model, creator, categories)
                created.append(model.title)
            if (
                model.triton_name == HOSTED_SUBSCRIBED
                and not Subscription.objects.filter(buyer=buyer, listing=listing).exists()
            ):
                basic = listing.plans.get(kind=PlanKind.SUBSCRIPTION, name="Basic")
                order_create(buyer=buyer, plan_id=basic.pk, rail="balance")
        return created

    def _hosted_listing(
        self, model: HostedDemoModel, creator: User, categories: dict[str, Category]
    ) -> Listing:
        about = HOSTED_LISTINGS[model.triton_name]
        with transaction.atomic():
            listing = listing_services.listing_create(
                creator=creator,
                title=model.title,
                summary=about["summary"],
                category=categories[about["category"]],
                tags=about["tags"],
                task=about["task"],
                size="small",
                license_terms=LICENSES["apache"],
                sample_io=[{"input": given, "output": answer} for given, answer in model.samples],
                benchmarks=[
                    {"name": name, "score": score, "unit": unit} for name, score, unit in about["benchmarks"]
                ],
            )
            listing = listing_services.listing_update(
                listing=listing,
                actor=creator,
                model_card=_hosted_model_card(model, about, listing.slug),
            )
            for plan in (
                PlanSpec(
                    PlanKind.SUBSCRIPTION,
                    "Basic",
                    900,
                    interval="month",
                    monthly_quota=10_000,
                    rate_limit_per_minute=60,
                    description="10,000 inferences a month, updates and downloads included.",
                ),
                PlanSpec(
                    PlanKind.SUBSCRIPTION,
                    "Pro",
                    2_900,
                    interval="month",
                    monthly_quota=about["pro_quota"],
                    rate_limit_per_minute=600,
                    description=(
                        "Unlimited inferences"
                        if about["pro_quota"] is None
                        else f"{about['pro_quota']:,} inferences a month"
                    )
                    + ", priority rate limits, updates and downloads included.",
                ),
                PlanSpec(
                    PlanKind.PER_INFERENCE,
                    "Metered",
                    40,
                    rate_limit_per_minute=300,
                    description="Pay per call from prepaid credit; the price is per 1,000 inferences.",
                ),
            ):
                plan_services.plan_add(
                    listing=listing,
                    actor=creator,
                    kind=plan.kind,
                    name=plan.name,
                    price_cents=plan.price_cents,
                    interval=plan.interval,
                    monthly_quota=plan.monthly_quota,
                    rate_limit_per_minute=plan.rate_limit_per_minute,
                    description=plan.description,
                )
            # The served model is trained by each provider at its start (compute.demo_models);
            # the download is a small archive describing it.
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as folder:
                folder.writestr(
                    "README.txt",
                    f"{model.title} 1.0.0, served by the demo providers' Triton as {model.triton_name}.\n"
                    f"Inputs: {json.dumps(model.input_spec)}\nOutputs: {json.dumps(model.output_spec)}\n",
                )
            version_services.version_upload(
                listing=listing,
                actor=creator,
                version="1.0.0",
                changelog="First release, served by the demo providers.",
                file=ContentFile(archive.getvalue(), name=f"{listing.slug}-1.0.0.zip"),
                triton_model_name=model.triton_name,
                input_spec=model.input_spec,
                output_spec=model.output_spec,
            )
            return listing_services.listing_publish(listing=listing, actor=creator)

    # ------------------------------------------------------------------ storefront

    def _live(self) -> dict[str, Listing]:
        published = set(
            Listing.objects.filter(
                status=ListingStatus.PUBLISHED, pk__in=[x.pk for x in self.listings.values()]
            ).values_list("pk", flat=True)
        )
        return {title: listing for title, listing in self.listings.items() if listing.pk in published}

    def _collections_and_featured(self) -> None:
        live = self._live()
        fast = [
            spec.title
            for spec in LISTINGS
            if spec.size == "small" and spec.title in live and ("P" in spec.plans or "S" in spec.plans)
        ][:8]
        members = {
            "staff-picks": STAFF_PICKS,
            "fast-and-small": tuple(fast),
            "for-developers": FOR_DEVELOPERS,
        }
        for position, (slug, title, description) in enumerate(COLLECTIONS):
            collection, _ = Collection.objects.get_or_create(
                slug=slug, defaults={"title": title, "description": description, "position": position}
            )
            for item_position, listing_title in enumerate(members[slug]):
                if listing_title in live:
                    CollectionItem.objects.get_or_create(
                        collection=collection,
                        listing=live[listing_title],
                        defaults={"position": item_position},
                    )
        for days_left, title in zip((12, 9, 5), FEATURED, strict=True):
            listing = live[title]
            starts, ends = self.now - timedelta(days=14 - days_left), self.now + timedelta(days=days_left)
            # Granted by staff (nothing paid), so no ledger transaction goes with it.
            FeaturedPlacement.objects.create(listing=listing, starts_at=starts, ends_at=ends, amount_cents=0)
            Listing.objects.filter(pk=listing.pk).update(featured_until=ends)

    def _daily_views(self) -> None:
        """Page views per listing per day for the last 30 days, in line with each one's sales."""
        today = timezone.localdate(self.now)
        popularity = {spec.title: spec.popularity for spec in LISTINGS}
        rows: list[ListingDailyStat] = []
        for title, listing in self._live().items():
            base = 2 + popularity[title] * 6
            for ago in range(VIEW_DAYS):
                day = today - timedelta(days=ago)
                weekend = 0.7 if day.weekday() >= 5 else 1.0
                views = int(base * weekend * self.rng.uniform(0.6, 1.5))
                if views:
                    rows.append(ListingDailyStat(listing=listing, day=day, views=views))
        ListingDailyStat.objects.bulk_create(rows)
        totals = ListingDailyStat.objects.values("listing_id").annotate(total=Sum("views")).order_by()
        for row in totals:
            # Older views than the daily table keeps: about as many again.
            Listing.objects.filter(pk=row["listing_id"]).update(view_count=row["total"] * 2)


# ---------------------------------------------------------------------- the models the demo serves

# What the demo creator's listings of the real models say and sell (marketplace.hosted_demo holds
# their Triton names, tensor specs and samples). Held-out figures: scikit-learn's own datasets,
# 20% held out (compute.demo_models.training), as measured with the library versions of the lock.
HOSTED_LISTINGS: dict[str, dict[str, Any]] = {
    DIGITS.triton_name: {
        "category": "image-classification",
        "task": TaskType.IMAGE_CLASSIFICATION,
        "summary": "Reads a handwritten digit from an 8x8 grey image (values 0-16) and answers the "
        "probability of each of the ten digits. Trained on scikit-learn's digits dataset.",
        "tags": ("digits", "ocr", "onnx", "scikit-learn", "hosted"),
        "benchmarks": (("Held-out accuracy (360 images)", "96.7", "%"), ("Parameters", "650", "")),
        "about": "A logistic regression on standardised pixels, trained at the provider's first start on "
        "1,437 of scikit-learn's 1,797 digit images, exported to ONNX with skl2onnx and run by "
        "onnxruntime inside Triton.",
        "example": '{"name": "IMAGE", "datatype": "FP32", "shape": [1, 8, 8], "data": [0, 0, 5, 13, …]}',
        "pro_quota": 200_000,
    },
    IRIS.triton_name: {
        "category": "tabular",
        "task": TaskType.TABULAR,
        "summary": "Names the iris species (setosa, versicolor, virginica) from four flower "
        "measurements in centimetres, with the probability of each.",
        "tags": ("tabular", "classification", "onnx", "scikit-learn", "hosted"),
        "benchmarks": (("Held-out accuracy (30 flowers)", "96.7", "%"), ("Parameters", "15", "")),
        "about": "A logistic regression on Fisher's iris data (sepal length, sepal width, petal length, "
        "petal width), exported to ONNX with skl2onnx and run by onnxruntime inside Triton.",
        "example": '{"name": "FEATURES", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}',
        "pro_quota": None,
    },
    SENTIMENT.triton_name: {
        "category": "text-classification",
        "task": TaskType.TEXT_CLASSIFICATION,
        "summary": "Scores the sentiment of English text: negative, neutral and positive shares and a "
        "compound score from -1 to 1, tuned for reviews and social posts.",
        "tags": ("sentiment", "reviews", "vader", "hosted"),
        "benchmarks": (("Lexicon entries", "7,500", ""), ("Latency p50 (CPU)", "< 1", "ms")),
        "about": "VADER (Hutto & Gilbert, 2014), a rule-based sentiment model with a human-rated "
        "lexicon, served by Triton over BYTES text tensors.",
        "example": '{"name": "TEXT", "datatype": "BYTES", "shape": [1, 1], "data": ["I love it"]}',
        "pro_quota": None,
    },
}
HOSTED_SUBSCRIBED = DIGITS.triton_name  # the demo buyer holds a Basic subscription to this one


def _hosted_model_card(model: HostedDemoModel, about: dict[str, Any], slug: str) -> str:
    def rows(specs: list[dict[str, Any]]) -> str:
        return "\n".join(f"| `{spec['name']}` | {spec['datatype']} | `{spec['shape']}` |" for spec in specs)

    labels = f"\nThe first output's positions are: {', '.join(model.labels)}.\n" if model.labels else ""
    return (
        f"# {model.title}\n\n{about['summary']}\n\n"
        f"## The model\n\n{about['about']}\n\n"
        "This model really runs: `make demo` starts two providers (`manage.py run_provider`) whose "
        f"Triton servers serve it as `{model.triton_name}`.\n\n"
        "## Tensors (KServe v2)\n\n"
        "| Input | Type | Shape |\n|---|---|---|\n"
        f"{rows(model.input_spec)}\n\n"
        "| Output | Type | Shape |\n|---|---|---|\n"
        f"{rows(model.output_spec)}\n{labels}\n"
        "## Call it\n\n"
        "```bash\n"
        f"curl -X POST http://127.0.0.1:8000/api/v1/inference/{slug} \\\n"
        '  -H "Authorization: Bearer agr_live_…" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        f"  -d '{{\"inputs\": [{about['example']}]}}'\n"
        "```\n\n"
        "Any KServe v2 client works too (`tritonclient`), pointed at `/v2/models/"
        f"{slug}/infer` with your API key.\n"
    )
