"""Forms of the creator's listing pages (the listing itself, a version upload and a plan) and of the
reviews section (a buyer's review, the creator's reply).

Forms check shape and turn what people type into the services' values (dollars into cents, lines
into lists, JSON text into tensor specs); the business rules live in marketplace.services.listings,
and marketplace.services.reviews, whose refusals the views put back next to the fields they name
(core.forms.service_error_to_form).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse

from marketplace.models import Category, PlanKind
from marketplace.models.catalog import ModelSize, PlanInterval, TaskType
from marketplace.services import listing_fields
from marketplace.services.reviews import RATING_MAX, RATING_MIN, TEXT_MAX, TITLE_MAX
from tokenomics.money import AGR_DECIMALS, AmountError, format_amount, parse_amount
from tokenomics.selectors.parameters import parameter_get

SEPARATOR = "|"
TENSOR_EXAMPLE = '[{"name": "INPUT_1", "datatype": "FP32", "shape": [-1, 4]}]'


class SectionForm(forms.Form):
    """A form shown again after a failed post, in its section of a long page: its first error takes
    the focus (`autofocus`, which the browser honours on a full page and htmx after a swap), so the
    creator lands on it instead of at the top of the page."""

    # True when the errors belong to no field: the error box (_components/form_errors.html) takes the focus.
    focus_summary = False

    def focus_first_error(self) -> None:
        for name, field in self.fields.items():
            if name in self.errors:
                field.widget.attrs["autofocus"] = True
                return
        self.focus_summary = bool(self.non_field_errors())


class CategoryChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        category: Category = obj
        parent = category.parent
        return f"{parent.name} / {category.name}" if parent is not None else category.name


def _lines(text: str, *, columns: int, required: int, label: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(SEPARATOR)]
        if len(cells) > columns or len(cells) < required or not all(cells[:required]):
            raise forms.ValidationError(f"Line {number}: write it as {label}.")
        rows.append(cells + [""] * (columns - len(cells)))
    return rows


class ListingForm(SectionForm):
    title = forms.CharField(max_length=listing_fields.TITLE_MAX)
    summary = forms.CharField(
        max_length=listing_fields.SUMMARY_MAX, help_text="One or two sentences shown on search results."
    )
    category = CategoryChoiceField(
        queryset=Category.objects.select_related("parent").order_by("parent__position", "position", "name"),
        empty_label="Choose a category",
    )
    task = forms.ChoiceField(choices=TaskType.choices)
    size = forms.ChoiceField(
        choices=ModelSize.choices, initial=ModelSize.SMALL, help_text="Sets the compute fee's complexity."
    )
    tags = forms.CharField(
        required=False,
        max_length=600,
        help_text=f"Comma separated, at most {listing_fields.MAX_TAGS}: llm, chat, tiny.",
    )
    model_card = forms.CharField(
        required=False,
        strip=False,
        max_length=listing_fields.MODEL_CARD_MAX,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Markdown: headings, lists, tables, code, links and images (https). HTML is not rendered.",
    )
    license_terms = forms.CharField(
        required=False, max_length=listing_fields.LICENSE_TERMS_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    sample_io = forms.CharField(
        label="Sample inputs and outputs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Translate: hello | bonjour"}),
        help_text="One per line: input | output.",
    )
    benchmarks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "MMLU | 71.2 | %"}),
        help_text="One per line: name | score | unit (unit optional).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Live preview: htmx posts the form (CSRF token included) as the creator types.
        self.fields["model_card"].widget.attrs.update(
            {
                "hx-post": reverse("marketplace:model-card-preview"),
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#model-card-preview",
                "hx-swap": "innerHTML",
                "hx-indicator": "#model-card-preview-indicator",
            }
        )

    def clean_tags(self) -> list[str]:
        text: str = self.cleaned_data["tags"]
        return [name.strip() for name in text.split(",") if name.strip()]

    def clean_sample_io(self) -> list[dict[str, str]]:
        rows = _lines(self.cleaned_data["sample_io"], columns=2, required=2, label="input | output")
        return [{"input": row[0], "output": row[1]} for row in rows]

    def clean_benchmarks(self) -> list[dict[str, str]]:
        rows = _lines(self.cleaned_data["benchmarks"], columns=3, required=2, label="name | score | unit")
        return [{"name": row[0], "score": row[1], "unit": row[2]} for row in rows]

    @staticmethod
    def initial_for(listing: Any) -> dict[str, Any]:
        """The form's initial values for an existing listing."""
        return {
            "title": listing.title,
            "summary": listing.summary,
            "category": listing.category_id,
            "task": listing.task,
            "size": listing.size,
            "tags": ", ".join(tag.name for tag in listing.tags.all()),
            "model_card": listing.model_card,
            "license_terms": listing.license_terms,
            "sample_io": "\n".join(f"{row['input']} | {row['output']}" for row in listing.sample_io),
            "benchmarks": "\n".join(
                " | ".join(part for part in (row["name"], row["score"], row.get("unit", "")) if part)
                for row in listing.benchmarks
            ),
        }


class VersionForm(SectionForm):
    version = forms.CharField(
        max_length=listing_fields.VERSION_MAX, help_text="Semantic version, e.g. 1.2.0; unique per listing."
    )
    changelog = forms.CharField(
        required=False, max_length=listing_fields.CHANGELOG_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    artefact = forms.FileField(
        label="Model file",
        required=False,
        help_text="Stored encrypted at rest. Optional for a hosted-only version.",
    )
    triton_model_name = forms.CharField(
        required=False,
        max_length=listing_fields.TRITON_NAME_MAX,
        help_text="The model's name in the Triton model repository.",
    )
    input_spec = forms.CharField(
        label="Input tensors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": TENSOR_EXAMPLE, "class": "mono"}),
        help_text="JSON list of KServe v2 tensors; shape -1 means any size.",
    )
    output_spec = forms.CharField(
        label="Output tensors",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": TENSOR_EXAMPLE.replace("INPUT", "OUTPUT"), "class": "mono"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            # A bound upload form is only ever shown again after a failed post. htmx then keeps
            # the file input the creator filled in place of the new one (hx-preserve), since a
            # re-rendered file input cannot hold a file; a successful upload gets a fresh form.
            self.fields["artefact"].widget.attrs["hx-preserve"] = "true"

    def _spec(self, field: str) -> Any:
        text = self.cleaned_data[field].strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Enter valid JSON, e.g. {TENSOR_EXAMPLE}") from exc

    def clean_input_spec(self) -> Any:
        return self._spec("input_spec")

    def clean_output_spec(self) -> Any:
        return self._spec("output_spec")


class PlanForm(SectionForm):
    kind = forms.ChoiceField(choices=PlanKind.choices, widget=forms.RadioSelect, initial=PlanKind.ONE_TIME)
    name = forms.CharField(
        max_length=listing_fields.PLAN_NAME_MAX, help_text="e.g. Perpetual, Basic, Pro, Metered."
    )
    price = forms.CharField(
        label="Price (US dollars)",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "49.00"}),
        help_text="One-time: the price. Subscription: per interval. Pay per inference: per 1,000 calls.",
    )
    agr_price = forms.CharField(
        label="AGR price (optional)",
        required=False,
        max_length=48,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "490"}),
        help_text="Leave empty to charge the dollar price at the AGR reference rate.",
    )
    # Monthly unless the creator says otherwise, so that a subscription saves on the first try; the
    # value is dropped for the other kinds (clean).
    interval = forms.ChoiceField(
        label="Billing interval", choices=PlanInterval.choices, initial=PlanInterval.MONTH, required=False
    )
    monthly_quota = forms.IntegerField(
        label="Monthly inference quota",
        required=False,
        min_value=1,
        max_value=listing_fields.MONTHLY_QUOTA_MAX,
        help_text="Empty means unlimited.",
    )
    download_limit = forms.IntegerField(
        label="Downloads per license",
        required=False,
        min_value=1,
        max_value=listing_fields.DOWNLOAD_LIMIT_MAX,
        help_text="Empty means the platform default.",
    )
    rate_limit_per_minute = forms.IntegerField(
        label="Rate limit (calls per minute)",
        initial=60,
        min_value=1,
        max_value=listing_fields.RATE_LIMIT_MAX,
    )
    description = forms.CharField(required=False, max_length=listing_fields.PLAN_DESCRIPTION_MAX)

    # The fields that only some kinds of plan have; the page shows them for those kinds only.
    KIND_FIELDS: dict[str, str] = {
        "interval": PlanKind.SUBSCRIPTION,
        "monthly_quota": PlanKind.SUBSCRIPTION,
        "download_limit": PlanKind.ONE_TIME,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Say what "the platform default" is, so that leaving the field empty is an informed choice.
        default = parameter_get("license.download_limit")
        field = self.fields["download_limit"]
        field.help_text = f"Empty means the platform default: {default}."
        field.widget.attrs["placeholder"] = str(default)

    def clean_price(self) -> int:
        try:
            cents = parse_amount(self.cleaned_data["price"], decimals=2, unit="US dollars")
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if cents > listing_fields.PRICE_MAX_CENTS:
            raise forms.ValidationError(
                f"The highest price is {format_amount(amount=listing_fields.PRICE_MAX_CENTS, asset='USD')}."
            )
        return cents

    def clean_agr_price(self) -> int | None:
        text: str = self.cleaned_data["agr_price"]
        if not text.strip():
            return None
        try:
            return parse_amount(text, decimals=AGR_DECIMALS, unit="AGR")
        except AmountError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        # Fields hidden for this kind are dropped, so leftovers from switching kinds never count.
        for field, owner in self.KIND_FIELDS.items():
            if kind != owner:
                data[field] = "" if field == "interval" else None
        return data

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as plan_add's keyword arguments."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "price_cents": data["price"],
            "price_agr": data["agr_price"],
            "interval": data["interval"],
            "monthly_quota": data["monthly_quota"],
            "download_limit": data["download_limit"],
            "rate_limit_per_minute": data["rate_limit_per_minute"],
            "description": data["description"],
        }


# ----------------------------------------------------------------------------- reviews


class ReviewForm(SectionForm):
    """A buyer's review. The section's markup writes the inputs by hand (star radios); its ids are
    `review-<field>`, so a field's errors are `review-<field>_error` for aria-describedby."""

    rating = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(RATING_MAX, RATING_MIN - 1, -1)], coerce=int
    )
    title = forms.CharField(max_length=TITLE_MAX, required=False)
    body = forms.CharField(max_length=TEXT_MAX, required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "review-%s")
        super().__init__(*args, **kwargs)


class ReplyForm(SectionForm):
    """The creator's one reply to review `review_id` (one form per unanswered review on the page)."""

    reply = forms.CharField(max_length=TEXT_MAX, widget=forms.Textarea)

    def __init__(self, *args: Any, review_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"review-{review_id}-%s")
        super().__init__(*args, **kwargs)
        self.review_id = review_id
