"""Governance in Chromium with time travel: propose -> discuss -> three holders vote -> succeeded
-> queued -> executed -> the parameter changed (history links the proposal) -> a new sale splits
with the new value. The clock is moved with time_machine, which the live server's thread shares."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from governance.models import Proposal
from tests.accounts.factories import UserFactory
from tests.governance.factories import agr_credit
from tests.tokenomics.factories import funded_wallet
from tokenomics.models import LedgerEntry
from tokenomics.models.ledger import AccountKind
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameter_get
from tokenomics.services.escrow import escrow_hold, escrow_release

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PASSWORD = "correct-horse-battery-staple-42"


def _log_in(browser: Browser, base: str, email: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()
    return page


def _treasury_part(reference: str) -> int:
    entry = LedgerEntry.objects.get(
        transaction__reference=reference, transaction__kind="sale", account__kind=AccountKind.TREASURY
    )
    return int(entry.amount)


def test_proposal_from_form_to_a_sale_split_with_the_new_value(browser: Browser, live_server: Any) -> None:
    base = live_server.url
    start = timezone.now().replace(microsecond=0)
    proposer, creator = UserFactory(password=PASSWORD), UserFactory()
    voters = [UserFactory(password=PASSWORD) for _ in range(3)]
    with time_machine.travel(start - timedelta(days=1), tick=False):
        agr_credit(proposer, agr(150_000))
        for voter, amount in zip(voters, (400_000, 300_000, 100_000), strict=True):
            agr_credit(voter, agr(amount))
    old = parameter_get("sale.treasury_bps")
    new = old * 11 // 10
    with time_machine.travel(start, tick=False):
        page = _log_in(browser, base, proposer.email)
        page.goto(f"{base}/governance/propose/")
        page.get_by_label("Type").select_option("economic")
        page.get_by_label("Title").fill("Raise the sale treasury share")
        page.get_by_label("Body").fill("The treasury needs **more**.")
        page.locator("select[name=parameter_0]").select_option("sale.treasury_bps")
        page.locator("input[name=value_0]").fill(str(new))
        page.get_by_role("button", name="Submit proposal").click()
        expect(page.locator("#proposal-state")).to_have_text("Discussion")
        expect(page.locator(".prose strong")).to_have_text("more")
        page.get_by_label("Comment").fill("Sounds right.")
        page.get_by_role("button", name="Comment").click()
        expect(page.get_by_text("Sounds right.")).to_be_visible()
        page.context.close()
    proposal = Proposal.objects.get(title="Raise the sale treasury share")
    assert proposal.voting_starts_at is not None
    assert proposal.voting_ends_at is not None
    with time_machine.travel(proposal.voting_starts_at + timedelta(hours=1), tick=False):
        # A visitor watches the tally while the holders vote: htmx polls it, no reload.
        watcher = browser.new_page()
        watcher.goto(f"{base}/governance/proposals/{proposal.pk}/")
        quorum_bar = watcher.locator("#tally [role=progressbar]")
        expect(quorum_bar).to_have_attribute("aria-valuenow", "0")
        for voter, choice in zip(voters, ("For", "For", "Against"), strict=True):
            page = _log_in(browser, base, voter.email)
            page.goto(f"{base}/governance/proposals/{proposal.pk}/")
            expect(page.locator("#proposal-state")).to_have_text("Voting")
            expect(page.locator("#snapshot-power")).not_to_have_text("0")
            page.get_by_label(choice, exact=True).check()
            page.get_by_role("button", name="Vote", exact=True).click()
            expect(page.get_by_text(f"you voted {choice.lower()}")).to_be_visible()
            page.context.close()
        expect(quorum_bar).to_have_attribute("aria-valuenow", "100", timeout=15_000)
        watcher.close()
    with time_machine.travel(proposal.voting_ends_at + timedelta(minutes=1), tick=False):
        page = _log_in(browser, base, voters[0].email)
        page.goto(f"{base}/governance/proposals/{proposal.pk}/")
        expect(page.locator("#proposal-state")).to_have_text("Succeeded")
        page.get_by_role("button", name="Queue in the timelock").click()
        expect(page.locator("#proposal-state")).to_have_text("Queued")
        expect(page.locator("#timelock")).to_contain_text("to go")
        expect(page.get_by_role("button", name="Execute")).to_have_count(0)  # not before the ETA
        page.context.close()
    proposal.refresh_from_db()
    assert proposal.eta is not None
    with time_machine.travel(proposal.eta + timedelta(minutes=1), tick=False):
        page = _log_in(browser, base, voters[1].email)
        page.goto(f"{base}/governance/proposals/{proposal.pk}/")
        page.get_by_role("button", name="Execute").click()
        expect(page.locator("#proposal-state")).to_have_text("Executed")
        page.goto(f"{base}/parameters/")
        row = page.locator("#parameter-sale\\.treasury_bps")
        row.locator("summary").click()
        expect(row.get_by_role("link", name=f"proposal #{proposal.pk}")).to_be_visible()
        page.context.close()
        # A new sale after execution splits with the new treasury share.
        buyer = UserFactory()
        wallet = funded_wallet(user=buyer, amount=10_000)
        escrow = escrow_hold(
            reference="e2e:gov:sale", creator=creator, source_account=wallet, amount=10_000, payer=buyer
        )
        escrow_release(escrow_id=escrow.pk)
    assert parameter_get("sale.treasury_bps") == new
    assert _treasury_part("e2e:gov:sale") == 10_000 * new // 10_000
