"""Plans, model cards and the story's events, derived from a listing spec."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.text import slugify

from accounts.models import User
from marketplace.demo_catalog.listing_specs import ListingSpec
from marketplace.hosted_demo import HostedDemoModel
from marketplace.models import PlanKind, TaskType
from tokenomics.money import AGR_BASE_UNITS_PER_AGR, agr, usd_cents_to_agr_base_units


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


def plan_specs_for(spec: ListingSpec, rng: random.Random, agr_price_micro_usd: int) -> list[PlanSpec]:
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


def model_card(spec: ListingSpec, plans: list[PlanSpec]) -> str:
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


def days_between(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 86_400, high * 86_400))


def hosted_model_card(model: HostedDemoModel, about: dict[str, Any], slug: str) -> str:
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
