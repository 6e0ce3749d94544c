"""`manage.py run_provider`: a real Triton with the demo models on the given ports, for a provider
account of the real database, stopped cleanly by SIGTERM (exit 0, no tritonserver left behind).

It runs as a child process (signals and Triton's own processes need one), on this session's
PostgreSQL test database, so the test is transactional and PostgreSQL-only. The node is registered
through compute's node service, which calls the Triton it just started (readiness and tensors)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from compute.models import Node
from compute.services.local_provider import served_versions
from marketplace.hosted_demo import DIGIT_ZERO, DIGITS, IDENTITY
from marketplace.models import ListingStatus
from tests.accounts.factories import UserFactory
from tests.compute.pytriton_server import free_ports
from tests.marketplace.factories import ListingFactory, VersionFactory
from tests.subprocesses import PYTHON, child_env, start, stop, tail, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (tritonserver is run_provider's child)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            children.append(int(status.parent.name))
    return children


def test_run_provider_serves_the_demo_models_until_sigterm(tmp_path: Path) -> None:
    provider = UserFactory(email="pia@example.com")
    digits = VersionFactory(
        listing=ListingFactory(),
        triton_model_name=DIGITS.triton_name,
        input_spec=DIGITS.input_spec,
        output_spec=DIGITS.output_spec,
    )
    http, grpc, metrics = free_ports(3)
    log = tmp_path / "run_provider.log"
    process = start(
        [
            PYTHON,
            "manage.py",
            "run_provider",
            "--email",
            provider.email,
            "--name",
            "test-node",
            "--http-port",
            str(http),
            "--grpc-port",
            str(grpc),
            "--metrics-port",
            str(metrics),
        ],
        log=log,
        env=child_env(DJANGO_SETTINGS_MODULE="config.django.test"),
    )
    try:
        wait_for(
            lambda: "Stop with Ctrl-C" in log.read_text(),
            timeout=180,
            process=process,
            log=log,
            what="the provider's start",
        )
        assert f"Triton serves {DIGITS.triton_name}" in log.read_text()
        url = f"http://127.0.0.1:{http}"
        with urllib.request.urlopen(f"{url}/v2/models/{DIGITS.triton_name}", timeout=5) as response:
            assert json.load(response)["inputs"] == DIGITS.input_spec
        request = urllib.request.Request(
            f"{url}/v2/models/{DIGITS.triton_name}/infer",
            data=json.dumps(
                {"inputs": [{"name": "IMAGE", "datatype": "FP32", "shape": [1, 8, 8], "data": DIGIT_ZERO}]}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            outputs = {output["name"]: output["data"] for output in json.load(response)["outputs"]}
        assert outputs["LABEL"] == [0]
        assert _children(process.pid), "tritonserver should run as the command's child"
        # Registered as the provider's node, checked against the running Triton: healthy, serving
        # the published version that declares the digits model.
        node = Node.objects.get(provider=provider)
        assert (node.name, node.triton_url, node.healthy) == ("test-node", url, True)
        assert list(node.served.values_list("version_id", flat=True)) == [digits.pk]
    finally:
        status = stop(process)
    assert status == 0, tail(log)
    assert "Stopped." in log.read_text()
    assert not _children(process.pid)


def test_run_provider_refuses_an_unknown_account(tmp_path: Path) -> None:
    log = tmp_path / "run_provider.log"
    process = start(
        [
            PYTHON,
            "manage.py",
            "run_provider",
            "--email",
            "nobody@example.com",
            "--http-port",
            str(free_ports(1)[0]),
        ],
        log=log,
        env=child_env(DJANGO_SETTINGS_MODULE="config.django.test"),
    )
    assert process.wait(timeout=120) == 1
    assert "No account nobody@example.com" in log.read_text()


def test_the_node_serves_the_published_versions_declaring_its_models() -> None:
    digits = VersionFactory(
        listing=ListingFactory(),
        triton_model_name=DIGITS.triton_name,
        input_spec=DIGITS.input_spec,
        output_spec=DIGITS.output_spec,
    )
    identity = VersionFactory(listing=ListingFactory())
    VersionFactory(listing=ListingFactory(status=ListingStatus.DRAFT))  # not on sale
    VersionFactory(listing=ListingFactory(), triton_model_name="someone_elses_model")

    versions = served_versions(triton_model_names=[DIGITS.triton_name, IDENTITY.triton_name])

    assert versions == [digits, identity]
