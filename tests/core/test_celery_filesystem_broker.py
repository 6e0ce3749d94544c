"""The demo's embedded Celery broker (kombu's filesystem transport): with no REDIS_URL the demo
settings pick it and stop running tasks eagerly, and a worker started as `make demo` starts it
executes a task another process sent through it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from celery import Celery

from config.settings.celery import filesystem_broker
from marketplace.models import Listing
from tests.marketplace.factories import ListingFactory
from tests.subprocesses import PYTHON, ROOT, child_env, start, stop, wait_for

DEMO_ENV_DROPPED = ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")


def _demo_env(broker_dir: Path, **extra: str) -> dict[str, str]:
    env = child_env(
        DJANGO_SETTINGS_MODULE="config.django.local", CELERY_FILESYSTEM_BROKER_DIR=str(broker_dir)
    )
    for name in DEMO_ENV_DROPPED:
        env.pop(name, None)
    env.update(extra)
    return env


def _demo_celery_settings(env: dict[str, str]) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'broker': s.CELERY_BROKER_URL, 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
        "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
    )
    out = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.postgres
@pytest.mark.django_db
def test_demo_settings_pick_the_filesystem_broker_and_run_nothing_eagerly(tmp_path: Path) -> None:
    found = _demo_celery_settings(_demo_env(tmp_path / "celery"))

    assert found["broker"] == "filesystem://"
    assert found["eager"] is False
    options = found["options"]
    assert isinstance(options, dict)
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "celery" / "messages")
    assert (tmp_path / "celery" / "messages").is_dir()
    assert (tmp_path / "celery" / "control").is_dir()


@pytest.mark.postgres
@pytest.mark.django_db
def test_demo_settings_keep_redis_when_there_is_one(tmp_path: Path) -> None:
    found = _demo_celery_settings(_demo_env(tmp_path / "celery", REDIS_URL="redis://127.0.0.1:6379/3"))

    assert found["broker"] == "redis://127.0.0.1:6379/3"
    assert found["eager"] is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_sent_through_the_filesystem_broker(tmp_path: Path) -> None:
    # A listing still "trending" with no recent sales: the trending task cools it to 0.
    listing = ListingFactory(trending_score=50)
    broker_dir = tmp_path / "celery"
    log = tmp_path / "worker.log"
    worker = start(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        log=log,
        env=_demo_env(broker_dir),
    )
    try:
        # Another process (the web server in the demo) sends the task through the same folders.
        sender = Celery("sender", broker="filesystem://")
        sender.conf.broker_transport_options = filesystem_broker(broker_dir)
        result_id = sender.send_task("marketplace.refresh_trending").id

        wait_for(
            lambda: Listing.objects.filter(pk=listing.pk, trending_score=0).exists(),
            timeout=120,
            process=worker,
            log=log,
            what="the task's effect",
        )
        wait_for(
            lambda: f"{result_id}] succeeded" in log.read_text(),
            timeout=30,
            process=worker,
            log=log,
            what="the worker's success line",
        )
    finally:
        status = stop(worker)
    assert status == 0
    assert list((broker_dir / "messages").iterdir()) == []  # consumed, nothing left behind
