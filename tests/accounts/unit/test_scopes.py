"""Issue 13 item 4: API-key scopes default closed."""

from __future__ import annotations

import pytest
from rest_framework.views import APIView

from accounts.permissions import scope_needed


class _Undeclared(APIView):
    pass


class _Declared(APIView):
    required_scopes = {"POST": "inference"}


@pytest.mark.parametrize(
    ("method", "scope"),
    [
        ("GET", "read"),
        ("HEAD", "read"),
        ("OPTIONS", "read"),
        ("POST", "write"),
        ("PUT", "write"),
        ("PATCH", "write"),
        ("DELETE", "write"),
    ],
)
def test_a_method_a_view_does_not_list_needs_read_only_when_safe(method, scope):
    assert scope_needed(_Undeclared(), method) == scope


def test_a_declared_scope_wins():
    assert scope_needed(_Declared(), "POST") == "inference"
    assert scope_needed(_Declared(), "DELETE") == "write"
