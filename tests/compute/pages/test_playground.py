"""The playground partial (issue 17, item 7): the form fits the model's tensors and is prefilled
from the listing's samples; signed-out visitors are invited to sign in; the form's values become
the KServe v2 body the gateway validates; a refusal shows its code, naming the tensor."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.urls import reverse

from compute.forms import PlaygroundInputError, playground_body
from compute.selectors.playground import KIND_JSON, KIND_NUMBERS, KIND_PAD, playground_model
from marketplace.hosted_demo import DIGIT_ZERO
from marketplace.models import ListingStatus
from tests.accounts.factories import UserFactory
from tests.marketplace.factories import ListingFactory, VersionFactory

pytestmark = pytest.mark.django_db


def tensor_errors(html: str, tensor: str) -> str:
    """What a run's answer swaps into the tensor's error container, beside its inputs."""
    found = re.search(
        rf'<div class="field-errors" id="playground-in-{tensor}-errors" hx-swap-oob="true"[^>]*>(.*?)</div>',
        html,
        re.S,
    )
    assert found, f"no error container for {tensor}"
    return found.group(1)


def top_errors(html: str) -> str:
    """What a run's answer swaps into the top of the form (the errors that name no tensor)."""
    found = re.search(r'<div id="playground-form-errors" hx-swap-oob="true"[^>]*>(.*?)\n  </div>', html, re.S)
    assert found, "no top-of-form container"
    return found.group(1).strip()


def _get(client: Any, listing: Any) -> str:
    response = client.get(reverse("compute:playground", args=[listing.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_digits_model_gets_a_drawing_pad_prefilled_with_the_sample(client, digits):
    client.force_login(UserFactory())
    html = _get(client, digits)
    assert html.count('class="pad-cell"') == 64
    # The first sample (a zero from scikit-learn's digits) is drawn, cell by cell.
    assert f'data-row="0" data-col="2" data-ink="{DIGIT_ZERO[0][2]}"' in html
    assert f'data-row="2" data-col="3" data-ink="{DIGIT_ZERO[2][3]}"' in html
    model = playground_model(listing=digits)
    assert model is not None
    assert [tensor.kind for tensor in model.inputs] == [KIND_PAD]
    assert json.loads(model.inputs[0].value) == [list(row) for row in DIGIT_ZERO]
    assert model.labels == [str(digit) for digit in range(10)]
    assert 'src="/static/js/playground.js"' in html


def test_a_text_model_gets_a_text_box_and_a_tabular_one_number_fields(client, sentiment, iris):
    client.force_login(UserFactory())
    html = _get(client, sentiment)
    assert '<textarea id="in-TEXT" name="in-TEXT"' in html
    assert "The delivery was fast and the support team was wonderful!" in html
    html = _get(client, iris)
    for index, value in enumerate(["5.1", "3.5", "1.4", "0.2"]):
        assert f'name="in-FEATURES-{index}" value="{value}"' in html
    iris_model = playground_model(listing=iris)
    assert iris_model is not None
    assert iris_model.inputs[0].kind == KIND_NUMBERS
    assert iris_model.labels == ["setosa", "versicolor", "virginica"]


def test_a_large_numeric_input_is_edited_as_json():
    listing = ListingFactory(sample_io=[{"input": json.dumps([[1, 2, 3]] * 10), "output": "?"}])
    VersionFactory(
        listing=listing,
        triton_model_name="big",
        input_spec=[{"name": "X", "datatype": "FP32", "shape": [-1, 10, 3]}],
    )
    model = playground_model(listing=listing)
    assert model is not None
    assert model.inputs[0].kind == KIND_JSON
    assert json.loads(model.inputs[0].value) == [[1, 2, 3]] * 10


def test_signed_out_visitors_are_invited_to_sign_in(client, digits):
    html = _get(client, digits)
    assert 'id="playground-sign-in"' in html
    assert f"next=%2Fmodels%2F{digits.slug}%2F" in html
    assert "<form" not in html
    response = client.post(reverse("compute:playground-run", args=[digits.slug]), {"in-IMAGE": "[]"})
    assert 'data-error-code="authentication_required"' in response.content.decode()


def test_free_runs_left_today_are_shown(client, iris):
    client.force_login(UserFactory())
    html = _get(client, iris)
    assert "5 of 5 free runs left today" in html  # playground.free_inferences_per_day


def test_a_listing_without_a_hosted_version_or_unpublished_has_no_playground(client):
    client.force_login(UserFactory())
    unhosted = ListingFactory()
    VersionFactory(listing=unhosted, triton_model_name="")
    assert client.get(reverse("compute:playground", args=[unhosted.slug])).status_code == 404
    draft = ListingFactory(status=ListingStatus.DRAFT)
    VersionFactory(listing=draft)
    assert client.get(reverse("compute:playground", args=[draft.slug])).status_code == 404
    assert client.get(reverse("compute:playground", args=["no-such-model"])).status_code == 404


def test_the_listing_page_loads_the_playground_by_url_only_when_hosted(client, iris):
    html = client.get(reverse("marketplace:listing", args=[iris.slug])).content.decode()
    assert f'hx-get="{reverse("compute:playground", args=[iris.slug])}"' in html
    plain = ListingFactory()
    html = client.get(reverse("marketplace:listing", args=[plain.slug])).content.decode()
    assert "compute/playground" not in html


def test_the_form_becomes_the_kserve_body(digits, iris, sentiment):
    pad = playground_model(listing=digits)
    assert pad is not None
    grid = [[0] * 8 for _ in range(8)]
    grid[3][4] = 16
    body = playground_body(pad, {"in-IMAGE": json.dumps(grid)})
    assert body["version"] == "1.0.0"
    assert body["inputs"] == [
        {"name": "IMAGE", "datatype": "FP32", "shape": [1, 8, 8], "data": [0] * 28 + [16] + [0] * 35}
    ]

    numbers = playground_model(listing=iris)
    assert numbers is not None
    form = {f"in-FEATURES-{i}": v for i, v in enumerate(["6.7", "3", "5.2", "2.3"])}
    assert playground_body(numbers, form)["inputs"][0] == {
        "name": "FEATURES",
        "datatype": "FP32",
        "shape": [1, 4],
        "data": [6.7, 3.0, 5.2, 2.3],
    }

    text = playground_model(listing=sentiment)
    assert text is not None
    assert playground_body(text, {"in-TEXT": "  great  "})["inputs"][0] == {
        "name": "TEXT",
        "datatype": "BYTES",
        "shape": [1, 1],
        "data": ["great"],
    }


@pytest.mark.parametrize(
    ("fixture", "form", "message"),
    [
        (
            "iris",
            {"in-FEATURES-0": "x", "in-FEATURES-1": "1", "in-FEATURES-2": "1", "in-FEATURES-3": "1"},
            "not a number",
        ),
        (
            "iris",
            {"in-FEATURES-0": "nan", "in-FEATURES-1": "1", "in-FEATURES-2": "1", "in-FEATURES-3": "1"},
            "finite",
        ),
        ("digits", {"in-IMAGE": "[[1, 2"}, "not valid JSON"),
        ("digits", {"in-IMAGE": json.dumps([[99] * 8] * 8)}, "0 to 16"),
        ("sentiment", {"in-TEXT": "   "}, "Write some text"),
    ],
)
def test_a_bad_form_names_its_tensor(request, fixture, form, message):
    model = playground_model(listing=request.getfixturevalue(fixture))
    assert model is not None
    with pytest.raises(PlaygroundInputError, match=message) as caught:
        playground_body(model, form)
    assert caught.value.tensor == model.inputs[0].name


def test_a_refused_run_answers_the_code_beside_the_tensor_and_costs_no_free_run(client, iris):
    client.force_login(UserFactory())
    response = client.post(
        reverse("compute:playground-run", args=[iris.slug]),
        {"in-FEATURES-0": "oops", "in-FEATURES-1": "1", "in-FEATURES-2": "1", "in-FEATURES-3": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-error-code="validation_error"' in html
    # Beside the tensor it names (its field's error container, swapped in out of band), not at the top.
    beside = tensor_errors(html, "FEATURES")
    assert "FEATURES: “oops” is not a number." in beside
    assert 'id="playground-in-FEATURES_error"' in beside
    assert top_errors(html) == ""
    # The free-runs line is refreshed out of band, unchanged: nothing was called.
    assert 'id="playground-free" hx-swap-oob="true"' in html


def test_the_run_needs_the_csrf_token(iris):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(reverse("compute:playground-run", args=[iris.slug]), {"in-FEATURES-0": "1"})
    assert response.status_code == 403


def test_a_served_run_shows_probabilities_as_bars_latency_node_and_free_runs(client, digits, monkeypatch):
    """What the page sends to the gateway and how it shows the answer. The gateway itself (its
    entitlement, routing and metering) is tested in tests/compute/gateway; here it is replaced at
    the view's one call to it, to check the page alone."""
    from compute.models_gateway import Entitlement
    from compute.services.gateway import InferenceResult

    sent: list[dict[str, Any]] = []
    probabilities = [0.01, 0.02, 0.03, 0.04, 0.05, 0.05, 0.1, 0.6, 0.05, 0.05]

    def fake_run(*, user, listing_slug, body, via, integration_id=None):
        sent.append({"user": user, "slug": listing_slug, "body": body, "via": via})
        return InferenceResult(
            request_id="0b6f8c1e-0000-4000-8000-000000000001",
            outputs=[
                {"name": "PROBABILITIES", "datatype": "FP32", "shape": [1, 10], "data": probabilities},
                {"name": "LABEL", "datatype": "INT64", "shape": [1, 1], "data": [7]},
            ],
            node_id=42,
            latency_ms=3.25,
            charge_micro=0,
            entitlement=Entitlement.PLAYGROUND,
            quota_left=None,
            free_left=4,
        )

    monkeypatch.setattr("compute.views.pages.inference_run", fake_run)
    user = UserFactory()
    client.force_login(user)
    grid = [[0] * 8 for _ in range(8)]
    grid[1][4] = 16
    response = client.post(
        reverse("compute:playground-run", args=[digits.slug]),
        {"in-IMAGE": json.dumps(grid)},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert sent[0]["via"] == "playground"
    assert sent[0]["user"] == user
    assert sent[0]["body"]["inputs"][0]["shape"] == [1, 8, 8]
    assert '<dd data-node class="mono">#42</dd>' in html
    assert "<dd data-latency>3.3 ms</dd>" in html
    assert "Free playground allowance" in html
    assert html.count('<span class="prob-label">') == 10
    assert (
        '<li class="top"><span class="prob-label">7</span><span class="prob-track"><span style="width: 60%">'
        in html
    )
    assert '<div class="output" data-output="LABEL">' in html
    assert "data-error-code" not in html


def test_compute_templates_and_scripts_are_csp_clean():
    """No inline script and no inline event handler: the policy allows scripts from 'self' only."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    for template in sorted((root / "templates" / "compute").glob("*.html")):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template
    script = (root / "static" / "js" / "playground.js").read_text()
    for unsafe in ("eval(", "new Function", "innerHTML"):
        assert unsafe not in script


def test_a_refusal_by_the_gateway_names_the_plans_that_allow_the_call(client, iris, monkeypatch):
    """The gateway's 402 (free runs spent, no plan): its code and the plans, linked to checkout."""
    from compute.services.gateway import GatewayError

    def refuse(**kwargs):
        raise GatewayError(
            "license_required",
            402,
            "You have no plan that allows this call.",
            detail={"plans": [{"id": 9, "name": "Metered", "kind": "per_inference", "price_cents": "500"}]},
        )

    monkeypatch.setattr("compute.views.pages.inference_run", refuse)
    client.force_login(UserFactory())
    form = {f"in-FEATURES-{i}": "1" for i in range(4)}
    html = client.post(reverse("compute:playground-run", args=[iris.slug]), form).content.decode()
    assert 'data-error-code="license_required"' in html
    # It names no tensor: at the top of the form, with the plans under it.
    top = top_errors(html)
    assert "You have no plan that allows this call." in top
    assert f'<a href="{reverse("marketplace:checkout", args=[9])}">Metered</a>' in top
    assert "errorlist" not in tensor_errors(html, "FEATURES")


def test_a_gateway_refusal_naming_a_tensor_is_shown_beside_it(client, iris, monkeypatch):
    """The gateway's own tensor check (validation_error, detail.tensor) lands beside that tensor."""
    from compute.services.gateway import GatewayError

    def refuse(**kwargs):
        raise GatewayError(
            "validation_error",
            400,
            "FEATURES: expected 4 values.",
            detail={"tensor": "FEATURES", "inputs": ["FEATURES: expected 4 values."]},
        )

    monkeypatch.setattr("compute.views.pages.inference_run", refuse)
    client.force_login(UserFactory())
    form = {f"in-FEATURES-{i}": "1" for i in range(4)}
    html = client.post(reverse("compute:playground-run", args=[iris.slug]), form, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert "FEATURES: expected 4 values." in tensor_errors(html, "FEATURES")
    assert top_errors(html) == ""
    assert 'data-error-code="validation_error"' in html
