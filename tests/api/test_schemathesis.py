from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application

from accounts import services
from tests.accounts.factories import UserFactory

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 4361,
        "generation": {"deterministic": True, "max-examples": 30, "database": "none"},
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)

_CURRENT = {"key": None}


@schema.auth(refresh_interval=None)
class FuzzKey:
    def get(self, case, context):
        return _CURRENT["key"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def fuzz_key(transactional_db):
    user = UserFactory()
    created = services.api_key_create(user=user, name="fuzz", scopes=["read", "write", "inference"])
    _CURRENT["key"] = created.secret
    yield created
    _CURRENT["key"] = None


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@hypothesis.settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_api(case, fuzz_key):
    case.call_and_validate()
