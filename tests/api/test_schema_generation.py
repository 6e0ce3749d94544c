"""The OpenAPI document generates without a warning: a warning from drf-spectacular (two serializers
with one component name, an unresolvable field type) means the published schema is wrong somewhere,
and `check --deploy` in production settings refuses it."""

from __future__ import annotations

import io

from django.core.management import call_command


def test_the_schema_generates_without_warnings(tmp_path) -> None:
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns every drf-spectacular warning (W001, component name collisions) into an error.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out), stderr=io.StringIO())
    assert out.read_text().startswith("openapi: 3.")
