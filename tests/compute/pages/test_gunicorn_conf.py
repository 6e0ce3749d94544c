"""config/gunicorn.conf.py: the Prometheus multiprocess directory starts empty of a previous run's
files (and nothing else in it is touched)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[3] / "config" / "gunicorn.conf.py"


def test_on_starting_removes_only_prometheus_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("mine")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    runpy.run_path(str(CONF))["on_starting"](server=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
