"""Artefacts through an S3-compatible store, as production keeps them (issue 16, item 4).

A real S3 API answers here: moto's server mode on a free loopback port, reached by django-storages'
S3 backend over HTTP with boto3, exactly as production reaches AWS S3, MinIO or R2. Nothing is
mocked in the process under test: only the S3 service is a local stand-in.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from marketplace.artefacts import ArtefactUnreadable
from marketplace.downloads import artefact_response
from marketplace.models import License
from marketplace.services import listings as svc
from marketplace.services import versions as version_services
from marketplace.services.licenses import license_download
from marketplace.services.orders import order_create
from tests.marketplace.commerce import ARTEFACT, credit_arrival
from tests.marketplace.factories import ListingFactory, PlanFactory
from tests.tokenomics.stripe.conftest import LocalStripe

BUCKET = "agora-artefacts-test"
CREDENTIALS = {"access_key": "agora-test", "secret_key": "agora-test-secret", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )


@pytest.fixture
def s3(settings: Any, s3_endpoint: str) -> Any:
    """The default storage is django-storages' S3 backend on the local S3 server (the setting change
    resets `default_storage`); returns a plain boto3 client to look at the bucket independently."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": settings.S3_STORAGE_BACKEND,
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": s3_endpoint, **CREDENTIALS},
        },
    }
    return _client(s3_endpoint)


def _body(client: Any, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_an_upload_lands_encrypted_in_the_bucket_and_downloads_as_uploaded(
    s3: Any, creator, settings: Any
) -> None:
    listing = ListingFactory(creator=creator)
    version = version_services.version_upload(
        listing=listing,
        actor=creator,
        version="1.0.0",
        file=SimpleUploadedFile("model.onnx", ARTEFACT),
    )
    key = str(version.artefact.name)
    assert type(default_storage._wrapped).__name__ == "S3Storage"
    stored = _body(s3, key)
    # At rest: ciphertext only, a little longer than the plaintext (header and per-chunk tags).
    assert ARTEFACT not in stored
    assert b"model-weights" not in stored
    assert len(stored) > len(ARTEFACT)
    # Nothing was written beside the bucket: the web process keeps no copy on its own disk.
    assert not (Path(settings.MEDIA_ROOT) / key).exists()

    streamed = b"".join(artefact_response(version).streaming_content)  # type: ignore[arg-type]
    assert streamed == ARTEFACT


def test_a_refused_upload_leaves_nothing_in_the_bucket(s3: Any, creator) -> None:
    listing = ListingFactory(creator=creator)
    version_services.version_upload(
        listing=listing, actor=creator, version="1.0.0", file=SimpleUploadedFile("a.onnx", b"x")
    )
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    with pytest.raises(svc.ValidationFailed):
        # The same version again: the file is encrypted and stored first, then removed when the row
        # cannot be written.
        version_services.version_upload(
            listing=listing, actor=creator, version="1.0.0", file=SimpleUploadedFile("b.onnx", b"y")
        )
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert after == before


def test_a_license_download_streams_from_the_bucket_and_a_tampered_object_counts_nothing(
    s3: Any, creator, user, localstripe: LocalStripe
) -> None:
    listing = ListingFactory(creator=creator)
    version_services.version_upload(
        listing=listing, actor=creator, version="1.0.0", file=SimpleUploadedFile("model.onnx", ARTEFACT)
    )
    plan = PlanFactory(listing=listing, kind="one_time", price_cents=1_000, download_limit=3)
    order = credit_arrival(order_create(buyer=user, plan_id=plan.pk, rail="card").order)

    version = license_download(buyer=user, license_id=order.license.pk)
    assert b"".join(artefact_response(version).streaming_content) == ARTEFACT  # type: ignore[arg-type]

    # Someone with access to the bucket flips a byte: the next download is refused before anything
    # is counted, and the stored object is never served.
    key = str(version.artefact.name)
    tampered = bytearray(_body(s3, key))
    tampered[-1] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(tampered))
    with pytest.raises(ArtefactUnreadable):
        license_download(buyer=user, license_id=order.license.pk)
    assert License.objects.get(pk=order.license.pk).downloads_used == 1
