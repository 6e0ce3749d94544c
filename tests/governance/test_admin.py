"""The read-only proposal admin: the superuser reads, staff without the view permission do not, and
nobody edits a proposal row there."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.accounts.factories import UserFactory
from tests.governance.conftest import economic_proposal

pytestmark = [pytest.mark.django_db]


def test_superuser_reads_proposals_and_nobody_edits_them(proposer) -> None:
    proposal = economic_proposal(proposer)
    admin, staff = Client(), Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    staff.force_login(UserFactory(is_staff=True))
    assert admin.get("/admin/governance/proposal/").status_code == 200
    page = admin.get(f"/admin/governance/proposal/{proposal.pk}/change/")
    assert page.status_code == 200
    assert "sale.treasury_bps" in page.content.decode()
    assert admin.post(f"/admin/governance/proposal/{proposal.pk}/change/", {"title": "x"}).status_code == 403
    assert staff.get(f"/admin/governance/proposal/{proposal.pk}/change/").status_code == 403
