"""The demo creator's listings of the models `make demo` really serves."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction

from accounts.models import User
from marketplace.demo_catalog.base import LoaderBase
from marketplace.demo_catalog.cards import PlanSpec, hosted_model_card
from marketplace.demo_catalog.constants import DEMO_BUYER, DEMO_CREATOR, LICENSES
from marketplace.hosted_demo import DIGITS, IRIS, REAL_MODELS, SENTIMENT, HostedDemoModel
from marketplace.models import Category, Listing, PlanKind, Subscription, TaskType
from marketplace.services import listings as listing_services
from marketplace.services import plans as plan_services
from marketplace.services import versions as version_services
from marketplace.services.orders import order_create

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


class HostedMixin(LoaderBase):
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
                listing=listing, actor=creator, model_card=hosted_model_card(model, about, listing.slug)
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
