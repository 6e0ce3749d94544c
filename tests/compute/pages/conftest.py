"""Fixtures of compute's page tests: a hosted listing per input kind, fresh hot-path state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from compute import meter_store
from compute.services.gateway_impl import gateway_caches_clear
from marketplace.hosted_demo import DIGITS, IRIS, SENTIMENT, HostedDemoModel
from marketplace.models import Listing
from tests.marketplace.factories import ListingFactory, VersionFactory


@pytest.fixture(autouse=True)
def _fresh_gateway_state() -> Iterator[None]:
    meter_store.reset_for_tests()
    gateway_caches_clear()
    yield
    meter_store.reset_for_tests()
    gateway_caches_clear()


def hosted_listing(model: HostedDemoModel, **listing: Any) -> Listing:
    """A published listing whose version declares one of the demo models' tensor specs and samples."""
    fields = {
        "title": model.title,
        "sample_io": [{"input": given, "output": answer} for given, answer in model.samples],
        **listing,
    }
    row = ListingFactory(**fields)
    VersionFactory(
        listing=row,
        version="1.0.0",
        triton_model_name=model.triton_name,
        input_spec=model.input_spec,
        output_spec=model.output_spec,
    )
    return row


@pytest.fixture
def digits(db: Any) -> Listing:
    return hosted_listing(DIGITS)


@pytest.fixture
def iris(db: Any) -> Listing:
    return hosted_listing(IRIS)


@pytest.fixture
def sentiment(db: Any) -> Listing:
    return hosted_listing(SENTIMENT)
