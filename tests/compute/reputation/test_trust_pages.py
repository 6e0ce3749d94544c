"""The trust score where people see it: `GET /api/v1/providers/{id}` (new fields beside the old),
the public provider page with its parts, and the provider console with its history as a chart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from compute.models import TrustScore
from tests.accounts.factories import UserFactory
from tests.compute.reputation.conftest import node

pytestmark = pytest.mark.django_db

WEIGHTS = {"latency": 2000, "uptime": 2000, "success": 2500, "attestations": 1500, "ratings": 2000}


def _snapshot(provider, day: date, score: int, *, unmeasured: tuple[str, ...] = ()) -> TrustScore:
    return TrustScore.objects.create(
        provider=provider,
        day=day,
        score=score,
        latency_bps=9_000,
        uptime_bps=9_987,
        success_bps=10_000,
        attestations_bps=4_200,
        ratings_bps=5_000,
        weights=WEIGHTS,
        measurements={"unmeasured": list(unmeasured)},
    )


def test_the_api_adds_the_trust_score_and_its_parts(client) -> None:
    provider = UserFactory()
    node(provider)

    before = client.get(f"/api/v1/providers/{provider.pk}").json()
    assert (before["trust_score"], before["trust_parts"], before["trust_scored_on"]) == (None, None, None)
    assert {"id", "name", "nodes", "stats"} <= set(before)  # the existing fields stay

    _snapshot(provider, date(2026, 5, 30), 700)
    _snapshot(provider, date(2026, 5, 31), 812)
    body = client.get(f"/api/v1/providers/{provider.pk}").json()

    assert body["trust_score"] == 812  # the latest snapshot
    assert body["trust_scored_on"] == "2026-05-31"
    assert body["trust_parts"] == {
        "latency": 9_000,
        "uptime": 9_987,
        "success": 10_000,
        "attestations": 4_200,
        "ratings": 5_000,
    }
    assert body["stats"]["calls_24h"] == 0
    assert [n["name"] for n in body["nodes"]] == ["gpu-1"]


def test_the_public_page_shows_the_score_with_its_parts(client) -> None:
    provider = UserFactory()
    node(provider)
    empty = client.get(f"/providers/{provider.pk}/").content.decode()
    assert "data-trust-score-none" in empty

    _snapshot(provider, date(2026, 5, 31), 812, unmeasured=("ratings",))
    body = client.get(f"/providers/{provider.pk}/").content.decode()

    assert "<span data-trust-score>812</span>" in body
    uptime = body.split('data-trust-part="uptime"')[1].split("</tr>")[0]
    assert "99.8%" in uptime  # 9,987 bps, rounded down
    assert "20.0%" in uptime  # its weight
    ratings = body.split('data-trust-part="ratings"')[1].split("</tr>")[0]
    assert "50.0%" in ratings
    assert "no data yet" in ratings
    assert "no data yet" not in uptime


def test_the_console_shows_the_trust_history_as_a_chart(client) -> None:
    provider = UserFactory()
    node(provider)
    client.force_login(provider)
    assert "data-trust-score-none" in client.get("/provider/").content.decode()

    first = date(2026, 5, 29)
    for offset, score in enumerate((640, 700, 812)):
        _snapshot(provider, first + timedelta(days=offset), score)
    body = client.get("/provider/").content.decode()

    trust = body.split('id="provider-trust"')[1].split("</section>")[0]
    assert "<span data-trust-score>812</span>" in trust
    assert 'id="trust-history-svg-title"' in trust  # the chart, titled for screen readers
    assert "<title>29 May: Trust score 640</title>" in trust
    assert "<title>31 May: Trust score 812</title>" in trust
    table = trust.split('id="trust-history-svg-data"')[1]
    assert table.index("29 May") < table.index("30 May") < table.index("31 May")  # oldest first
    assert "up to 1.5\N{MULTIPLICATION SIGN} for quality" in trust  # what the score can earn


def test_another_providers_console_shows_none_of_it(client) -> None:
    provider, other = UserFactory(), UserFactory()
    node(provider)
    _snapshot(provider, date(2026, 5, 31), 812)
    client.force_login(other)

    body = client.get("/provider/").content.decode()

    assert "data-trust-score-none" in body
    assert "data-trust-score>812" not in body


def test_the_providers_own_nodes_carry_their_trust_score(client) -> None:
    provider = UserFactory()
    gpu = node(provider)
    client.force_login(provider)
    assert client.get(f"/api/v1/nodes/{gpu.pk}").json()["trust_score"] is None

    _snapshot(provider, date(2026, 5, 31), 812)

    assert client.get(f"/api/v1/nodes/{gpu.pk}").json()["trust_score"] == 812
    assert [n["trust_score"] for n in client.get("/api/v1/nodes").json()] == [812]
