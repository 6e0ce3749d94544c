"""Demo governance for `make demo`: proposals in every state, real votes from demo holders, one
executed parameter change in the parameter history, and a demo holder with enough AGR to propose.
Running it again changes nothing (each proposal is made once, found by its title)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from governance.models import Proposal, ProposalKind
from governance.services.demo import proposal_backdate
from governance.services.proposals import proposal_act, proposal_bond_settle, proposal_create
from governance.services.votes import comment_add, delegation_set, vote_cast
from governance.state import Action
from tokenomics.models import Asset
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.parameters import parameters_get
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

# AGR each demo holder received on chain 90 days ago (before every demo snapshot).
HOLDINGS = {
    "buyer@agora.local": agr(1_500_000),  # the proposer: enough for the bonds of every demo proposal
    "creator@agora.local": agr(400_000),
    "provider@agora.local": agr(300_000),
    "admin@agora.local": agr(50_000),
}
DAY = timedelta(days=1)


class Command(BaseCommand):
    help = "Load demo proposals in every state, with votes, and one executed parameter change."

    def handle(self, *args: Any, **options: Any) -> None:
        users = {email: User.objects.filter(email=email).first() for email in HOLDINGS}
        if any(user is None for user in users.values()):
            raise CommandError("Run `manage.py load_demo_data` first: the demo accounts are missing.")
        self.users: dict[str, User] = {k: v for k, v in users.items() if v is not None}
        long_ago = timezone.now() - 90 * DAY
        chain = system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset=Asset.AGR)
        for email, amount in HOLDINGS.items():
            wallet = user_account_get_or_create(
                user=self.users[email], kind=AccountKind.WALLET, asset=Asset.AGR
            )
            transaction_post(
                kind=TransactionKind.DEPOSIT,
                legs=[Leg(chain, -amount), Leg(wallet, amount)],
                idempotency_key=f"demo:governance:holding:{email}",
                memo="Demo AGR for governance",
                posted_at=long_ago,
            )
        self.periods = parameters_get(
            ["governance.discussion_seconds", "governance.voting_seconds", "governance.timelock_seconds"]
        )
        values = parameters_get(["sale.treasury_bps", "governance.quorum_bps", "payout.instant_fee_bps"])
        self._make("Draft: a grant programme for model creators", ProposalKind.TECHNICAL, {}, self._draft)
        self._make(
            "Lower the instant payout fee",
            ProposalKind.ECONOMIC,
            {"payout.instant_fee_bps": values["payout.instant_fee_bps"] * 9 // 10},
            self._discussion,
        )
        self._make("Publish a quarterly treasury report", ProposalKind.TECHNICAL, {}, self._voting)
        self._make("Stop all AGR emission now", ProposalKind.TECHNICAL, {}, self._defeated)
        self._make("Adopt the model card template v2", ProposalKind.TECHNICAL, {}, self._succeeded)
        self._make(
            "Raise the quorum to 4.4%",
            ProposalKind.ECONOMIC,
            {"governance.quorum_bps": values["governance.quorum_bps"] * 11 // 10},
            self._queued,
        )
        self._make(
            "Raise the sale treasury share by a tenth",
            ProposalKind.ECONOMIC,
            {"sale.treasury_bps": values["sale.treasury_bps"] * 11 // 10},
            self._executed,
        )
        self._make("Fund a 10M AGR marketing budget", ProposalKind.TREASURY, {}, self._failed)
        self._make("Rename the platform (withdrawn)", ProposalKind.TECHNICAL, {}, self._cancelled)
        self._make("Buy my token!!! (spam)", ProposalKind.TECHNICAL, {}, self._vetoed)
        delegation_set(delegator=self.users["admin@agora.local"], delegate=self.users["creator@agora.local"])
        self.stdout.write(self.style.SUCCESS("Demo governance ready: proposals in every state."))

    # ------------------------------------------------------------------ one proposal per state

    def _make(
        self, title: str, kind: str, changes: dict[str, int], finish: Callable[[Proposal], None]
    ) -> None:
        if Proposal.objects.filter(title=title).exists():
            return
        treasury = kind == ProposalKind.TREASURY
        proposal = proposal_create(
            proposer=self.users["buyer@agora.local"],
            kind=kind,
            title=title,
            body=f"## {title}\n\nA demo proposal. *Why*: to show every state of governance.\n\n- one\n- two",
            changes=changes,
            recipient=self.users["creator@agora.local"] if treasury else None,
            asset=Asset.AGR if treasury else "",
            amount=agr(10_000_000) if treasury else None,
            submit=False,
        )
        finish(proposal)

    def _submit(self, proposal: Proposal) -> None:
        proposal_act(proposal_id=proposal.pk, action=Action.SUBMIT, actor=self.users["buyer@agora.local"])
        comment_add(
            proposal_id=proposal.pk, author=self.users["creator@agora.local"], body="Makes sense to me."
        )

    def _open_voting(self, proposal: Proposal) -> None:
        """Submit and move back so that voting opened a day ago."""
        self._submit(proposal)
        proposal_backdate(
            proposal_id=proposal.pk, by=timedelta(seconds=self.periods["governance.discussion_seconds"]) + DAY
        )

    def _vote(self, proposal: Proposal, choices: dict[str, str]) -> None:
        for email, choice in choices.items():
            vote_cast(proposal_id=proposal.pk, voter=self.users[email], choice=choice, reason="Demo vote")

    def _close_voting(self, proposal: Proposal) -> None:
        proposal_backdate(
            proposal_id=proposal.pk, by=timedelta(seconds=self.periods["governance.voting_seconds"])
        )

    def _passed(self, proposal: Proposal) -> None:
        self._open_voting(proposal)
        self._vote(
            proposal,
            {"creator@agora.local": "for", "provider@agora.local": "for", "buyer@agora.local": "abstain"},
        )
        self._close_voting(proposal)

    def _draft(self, proposal: Proposal) -> None:
        pass

    def _discussion(self, proposal: Proposal) -> None:
        self._submit(proposal)
        proposal_backdate(proposal_id=proposal.pk, by=2 * DAY)

    def _voting(self, proposal: Proposal) -> None:
        self._open_voting(proposal)
        self._vote(proposal, {"creator@agora.local": "for", "provider@agora.local": "against"})

    def _defeated(self, proposal: Proposal) -> None:
        self._open_voting(proposal)
        self._vote(proposal, {"creator@agora.local": "against", "provider@agora.local": "for"})
        self._close_voting(proposal)
        proposal_bond_settle(proposal_id=proposal.pk)

    def _succeeded(self, proposal: Proposal) -> None:
        self._passed(proposal)

    def _queue(self, proposal: Proposal, eta_ago: timedelta) -> None:
        self._passed(proposal)
        proposal_act(proposal_id=proposal.pk, action=Action.QUEUE)
        proposal_backdate(
            proposal_id=proposal.pk,
            by=timedelta(seconds=self.periods["governance.timelock_seconds"]) + eta_ago,
        )

    def _queued(self, proposal: Proposal) -> None:
        self._queue(proposal, -5 * DAY)  # the ETA is five days ahead

    def _executed(self, proposal: Proposal) -> None:
        self._queue(proposal, DAY)
        proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)

    def _failed(self, proposal: Proposal) -> None:
        self._queue(proposal, DAY)
        proposal_act(proposal_id=proposal.pk, action=Action.EXECUTE)  # the treasury is short: recorded

    def _cancelled(self, proposal: Proposal) -> None:
        self._submit(proposal)
        proposal_act(proposal_id=proposal.pk, action=Action.CANCEL, actor=self.users["buyer@agora.local"])

    def _vetoed(self, proposal: Proposal) -> None:
        self._submit(proposal)
        proposal_act(proposal_id=proposal.pk, action=Action.VETO, actor=self.users["admin@agora.local"])
