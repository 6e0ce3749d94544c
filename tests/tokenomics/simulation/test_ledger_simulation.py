"""L8 (RELIABILITY-ANCHORS.md §1): a VOPR-lite simulation of the money services.

A seeded random workload runs against a small world (three buyers, two creators, USD and AGR):
top-ups with and without the prepaid bonus, purchases held in escrow (from wallets, some beyond the
balance, and some paid by card from a rail's external account), releases, full and partial
refunds, freezes, `escrows_release_due` on a simulated clock, clawbacks, raw postings between
wallets (some unbalanced), retries of earlier operations with the same idempotency key or
reference (some with a changed payload, to hit IdempotencyConflict) and injected crashes: an
operation run inside `transaction.atomic()` with an exception raised right after it, so that it
rolls back.

Beside the database runs a shadow model in plain Python that knows only the documented rules
(SPEC §4 splits, floored parts with the remainder to the platform; creator tiers from lifetime net
sales; idempotency by key and fingerprint; escrow resolves once). After EVERY operation:
- `ledger_verify().ok` (L1/L2: balanced transactions, trial balance 0, cached balances, no overdraft);
- every account balance, every escrow (state, frozen, refunded) and the set of idempotency keys in
  the database equal the model's; a crashed operation left nothing behind;
- every posting the operation made has exactly the legs the model expected, and a sale's parts sum
  exactly to the gross released (L7 split conservation); escrow money is conserved:
  held + released + refunded = everything ever held.

Failures name the seed, the operation index and the operation; the first N operations of a seed do
not depend on how many follow, so `pytest tests/tokenomics/simulation -k 'seed-7'` replays one.
Longer runs (nightly, >= 100k operations): `LEDGER_SIM_SEEDS=0-199` (200 seeds x 500, about 13 min
on SQLite), or longer histories with `LEDGER_SIM_OPS=5000` (each check reads the whole ledger, so an
operation costs more as a seed's ledger grows); `LEDGER_SIM_SEEDS=3,7,11` runs chosen seeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from tests.accounts.factories import UserFactory
from tokenomics.errors import (
    AmountInvalid,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidState,
    UnbalancedTransaction,
)
from tokenomics.models import Escrow, LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import OVERDRAFT_ACCOUNT_KINDS, AccountKind, TransactionKind
from tokenomics.selectors.ledger import ledger_verify, system_balances
from tokenomics.selectors.parameters import parameters_get
from tokenomics.services.escrow import (
    escrow_hold,
    escrow_refund,
    escrow_release,
    escrow_set_frozen,
    escrows_release_due,
    sale_clawback,
)
from tokenomics.services.ledger import Leg, transaction_post
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create
from tokenomics.services.wallet import wallet_top_up


def _seeds() -> list[int]:
    raw = os.environ.get("LEDGER_SIM_SEEDS", "20").strip()
    if "," in raw:
        return [int(part) for part in raw.split(",") if part.strip()]
    if "-" in raw:
        first, last = raw.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return list(range(int(raw)))


SEEDS = _seeds()
OPS = int(os.environ.get("LEDGER_SIM_OPS", "500"))

ASSETS = ("USD", "AGR")
BUYERS = ("b0", "b1", "b2")
CREATORS = ("c0", "c1")
USERS = BUYERS + CREATORS
RAILS = {"stripe": AccountKind.EXTERNAL_STRIPE, "chain": AccountKind.EXTERNAL_CHAIN}
SYSTEM_KINDS = (
    AccountKind.ESCROW,
    AccountKind.EXTERNAL_STRIPE,
    AccountKind.EXTERNAL_CHAIN,
    AccountKind.PROMOTIONS,
    AccountKind.BURN,
    AccountKind.BUYBACK_RESERVE,
    AccountKind.TREASURY,
    AccountKind.VALIDATOR_POOL,
    AccountKind.PLATFORM_REVENUE,
)
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
AGR_UNIT = 10**18
PARAMETER_KEYS = (
    "discount.prepaid_bonus_bps",
    "sale.creator_share.bronze_bps",
    "sale.creator_share.silver_bps",
    "sale.creator_share.gold_bps",
    "sale.creator_share.platinum_bps",
    "creator_tier.silver_threshold_cents",
    "creator_tier.gold_threshold_cents",
    "creator_tier.platinum_threshold_cents",
    "sale.network_fee_bps",
    "sale.treasury_bps",
    "sale.validator_pool_bps",
    "token.agr_price_micro_usd",
)


def label(kind: str, owner: str | None, asset: str) -> str:
    return f"{kind}:{owner or '-'}:{asset}"


class InjectedCrash(Exception):
    """Raised right after an operation, inside its transaction, so that the operation rolls back."""


class Expected(Exception):
    """Control flow inside the model: the error the service is expected to raise."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error


@dataclass
class Op:
    index: int
    name: str
    args: dict[str, Any]
    crash: bool = False
    retry_of: int | None = None
    changed: bool = False

    def __str__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.args.items())
        tags = "".join(
            [
                " [crash injected]" if self.crash else "",
                f" [retry of #{self.retry_of}{', changed' if self.changed else ''}]"
                if self.retry_of is not None
                else "",
            ]
        )
        return f"{self.name}({args}){tags}"


@dataclass
class SimEscrow:
    index: int
    reference: str
    asset: str
    amount: int
    creator: str
    source: str  # account label the money came from, and refunds go back to
    release_after: datetime
    pk: int | None = None
    state: str = "held"
    frozen: bool = False
    refunded: int = 0
    released: int = 0


@dataclass
class KeyRecord:
    fingerprint: str
    kind: str
    legs: list[tuple[str, int]]
    tx_pk: int | None = None
    escrow_ref: str | None = None  # for an escrow hold: the escrow it created


_MISSING = object()


class Journal:
    """Undo log for the model, so that a predicted failure or an injected crash leaves it as it was."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def set_item(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)
        self.undo.append(lambda: mapping.pop(key) if old is _MISSING else mapping.__setitem__(key, old))
        mapping[key] = value

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        old = getattr(obj, name)
        self.undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, value)

    def append(self, items: list[Any], value: Any) -> None:
        self.undo.append(items.pop)
        items.append(value)

    def mark(self) -> int:
        return len(self.undo)

    def rollback(self, mark: int) -> None:
        while len(self.undo) > mark:
            self.undo.pop()()

    def forget(self) -> None:
        self.undo.clear()


@dataclass
class Model:
    """What the documented rules say the ledger holds; knows nothing of the implementation."""

    params: dict[str, int]
    overdraft: dict[str, bool]
    balances: dict[str, int]
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    escrows: dict[str, SimEscrow] = field(default_factory=dict)
    escrow_order: list[str] = field(default_factory=list)
    net_sales: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    journal: Journal = field(default_factory=Journal)
    new_keys: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- rules

    def creator_share_bps(self, creator: str) -> int:
        price = self.params["token.agr_price_micro_usd"]
        cents = self.net_sales[(creator, "USD")] + self.net_sales[(creator, "AGR")] * price // (
            AGR_UNIT * 10_000
        )
        share = self.params["sale.creator_share.bronze_bps"]
        for tier in ("silver", "gold", "platinum"):
            if cents >= self.params[f"creator_tier.{tier}_threshold_cents"]:
                share = self.params[f"sale.creator_share.{tier}_bps"]
        return share

    def split_legs(self, creator: str, asset: str, gross: int) -> list[tuple[str, int]]:
        """SPEC §4: each part floor(gross * bps / 10 000), the platform keeps the remainder."""
        share = self.creator_share_bps(creator)
        creator_part = gross * share // 10_000
        network = gross * self.params["sale.network_fee_bps"] // 10_000
        treasury = gross * self.params["sale.treasury_bps"] // 10_000
        validators = gross * self.params["sale.validator_pool_bps"] // 10_000
        platform = gross - creator_part - network - treasury - validators
        network_kind = AccountKind.BURN if asset == "AGR" else AccountKind.BUYBACK_RESERVE
        parts = [
            (label(AccountKind.CREATOR_PAYABLE, creator, asset), creator_part),
            (label(network_kind, None, asset), network),
            (label(AccountKind.TREASURY, None, asset), treasury),
            (label(AccountKind.VALIDATOR_POOL, None, asset), validators),
            (label(AccountKind.PLATFORM_REVENUE, None, asset), platform),
        ]
        return [(account, amount) for account, amount in parts if amount]

    @staticmethod
    def fingerprint(kind: str, reference: str, legs: list[tuple[str, int]]) -> str:
        body = [kind, reference, sorted(legs)]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()

    def post(
        self, *, kind: str, key: str, legs: list[tuple[str, int]], reference: str = ""
    ) -> KeyRecord | None:
        """transaction_post: the earlier posting for a replayed key (None when a new one is made)."""
        per_asset: dict[str, int] = defaultdict(int)
        for account, amount in legs:
            if amount == 0:
                raise Expected(UnbalancedTransaction)
            per_asset[account.rsplit(":", 1)[1]] += amount
        if len(legs) < 2 or any(per_asset.values()):
            raise Expected(UnbalancedTransaction)
        fingerprint = self.fingerprint(kind, reference, legs)
        existing = self.keys.get(key)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise Expected(IdempotencyConflict)
            return existing
        deltas: dict[str, int] = defaultdict(int)
        for account, amount in legs:
            deltas[account] += amount
        for account, delta in deltas.items():
            if self.balances[account] + delta < 0 and not self.overdraft[account]:
                raise Expected(InsufficientFunds)
        for account, delta in deltas.items():
            self.journal.set_item(self.balances, account, self.balances[account] + delta)
        self.journal.set_item(self.keys, key, KeyRecord(fingerprint, kind, list(legs)))
        self.journal.append(self.new_keys, key)
        return None

    def add_net_sales(self, creator: str, asset: str, delta: int) -> None:
        self.journal.set_item(self.net_sales, (creator, asset), self.net_sales[(creator, asset)] + delta)

    # ---------------------------------------------------------------- operations

    def top_up(self, *, user: str, asset: str, amount: int, rail: str, key: str, bonus: bool) -> Any:
        if amount <= 0:
            raise Expected(AmountInvalid)
        extra = amount * self.params["discount.prepaid_bonus_bps"] // 10_000 if bonus else 0
        legs = [(label(RAILS[rail], None, asset), -amount)]
        if extra:
            legs.append((label(AccountKind.PROMOTIONS, None, asset), -extra))
        legs.append((label(AccountKind.WALLET, user, asset), amount + extra))
        self.post(kind=TransactionKind.DEPOSIT, key=key, legs=legs)
        return ("tx", key)

    def hold(
        self, *, ref: str, source: str, creator: str, asset: str, amount: int, release_after: datetime
    ) -> Any:
        if amount <= 0:
            raise Expected(AmountInvalid)
        legs = [(source, -amount), (label(AccountKind.ESCROW, None, asset), amount)]
        replay = self.post(
            kind=TransactionKind.ESCROW_HOLD, key=f"escrow:{ref}:hold", legs=legs, reference=ref
        )
        if replay is not None:
            assert replay.escrow_ref is not None
            return ("escrow", replay.escrow_ref)
        escrow = SimEscrow(len(self.escrow_order), ref, asset, amount, creator, source, release_after)
        self.keys[f"escrow:{ref}:hold"].escrow_ref = ref
        self.journal.set_item(self.escrows, ref, escrow)
        self.journal.append(self.escrow_order, ref)
        return ("escrow", ref)

    def _release(self, escrow: SimEscrow, gross: int) -> None:
        legs = [(label(AccountKind.ESCROW, None, escrow.asset), -gross)]
        legs += self.split_legs(escrow.creator, escrow.asset, gross)
        replay = self.post(
            kind=TransactionKind.SALE,
            key=f"escrow:{escrow.reference}:release",
            legs=legs,
            reference=escrow.reference,
        )
        assert replay is None, "the model never releases an escrow twice"
        self.journal.set_attr(escrow, "released", gross)
        self.add_net_sales(escrow.creator, escrow.asset, gross)

    def release(self, *, ref: str) -> Any:
        escrow = self.escrows[ref]
        if escrow.state == "released":
            return ("escrow", ref)
        if escrow.state != "held":
            raise Expected(InvalidState)
        self._release(escrow, escrow.amount)
        self.journal.set_attr(escrow, "state", "released")
        return ("escrow", ref)

    def refund(self, *, ref: str, amount: int | None) -> Any:
        escrow = self.escrows[ref]
        refund = escrow.amount if amount is None else amount
        if escrow.state == "refunded" and refund == escrow.amount:
            return ("escrow", ref)
        if escrow.state != "held":
            raise Expected(InvalidState)
        if not 0 < refund <= escrow.amount:
            raise Expected(AmountInvalid)
        legs = [(label(AccountKind.ESCROW, None, escrow.asset), -refund), (escrow.source, refund)]
        self.post(
            kind=TransactionKind.REFUND, key=f"escrow:{ref}:refund", legs=legs, reference=escrow.reference
        )
        self.journal.set_attr(escrow, "refunded", refund)
        if refund < escrow.amount:
            self._release(escrow, escrow.amount - refund)
            self.journal.set_attr(escrow, "state", "partially_refunded")
        else:
            self.journal.set_attr(escrow, "state", "refunded")
        return ("escrow", ref)

    def freeze(self, *, ref: str, frozen: bool) -> Any:
        escrow = self.escrows[ref]
        if escrow.state != "held":
            raise Expected(InvalidState)
        self.journal.set_attr(escrow, "frozen", frozen)
        return ("escrow", ref)

    def release_due(self, *, now: datetime) -> Any:
        due = sorted(
            (
                escrow
                for escrow in self.escrows.values()
                if escrow.state == "held" and not escrow.frozen and escrow.release_after <= now
            ),
            key=lambda escrow: (escrow.release_after, escrow.index),
        )[:500]
        for escrow in due:
            self.release(ref=escrow.reference)
        return ("count", len(due))

    def clawback(self, *, ref: str, amount: int) -> Any:
        escrow = self.escrows[ref]
        if escrow.state not in ("released", "partially_refunded"):
            raise Expected(InvalidState)
        if not 0 < amount <= escrow.amount - escrow.refunded:
            raise Expected(AmountInvalid)
        legs = [
            (label(AccountKind.CREATOR_PAYABLE, escrow.creator, escrow.asset), -amount),
            (escrow.source, amount),
        ]
        replay = self.post(
            kind=TransactionKind.SALE_CLAWBACK, key=f"escrow:{ref}:clawback", legs=legs, reference=ref
        )
        if replay is None:
            self.add_net_sales(escrow.creator, escrow.asset, -amount)
        return ("tx", f"escrow:{ref}:clawback")

    def transfer(self, *, key: str, legs: list[tuple[str, int]]) -> Any:
        replay = self.post(kind=TransactionKind.TRANSFER, key=key, legs=legs)
        return ("posted", key, replay is None)


class Simulation:
    def __init__(self, seed: int, nodeid: str) -> None:
        self.seed = seed
        self.nodeid = nodeid
        self.rng = random.Random(seed)
        self.clock = EPOCH
        self.history: list[Op] = []
        self.keyed: list[int] = []  # indexes of operations that can be retried with their key
        self.counter = 0
        self.users = {name: UserFactory() for name in USERS}
        self.accounts: dict[str, LedgerAccount] = {}
        for asset in ASSETS:
            for name in USERS:
                kinds = [AccountKind.WALLET] + ([AccountKind.CREATOR_PAYABLE] if name in CREATORS else [])
                for kind in kinds:
                    account = user_account_get_or_create(user=self.users[name], kind=kind, asset=asset)
                    self.accounts[label(kind, name, asset)] = account
            for kind in SYSTEM_KINDS:
                self.accounts[label(kind, None, asset)] = system_account_get_or_create(kind=kind, asset=asset)
        self.labels = {account.pk: name for name, account in self.accounts.items()}
        self.model = Model(
            params=parameters_get(PARAMETER_KEYS),
            overdraft={name: kind_of(name) in OVERDRAFT_ACCOUNT_KINDS for name in self.accounts},
            balances=dict.fromkeys(self.accounts, 0),
        )
        self.baseline_transactions = LedgerTransaction.objects.count()

    # ---------------------------------------------------------------- workload

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"sim{self.seed}-{prefix}-{self.counter}"

    def amount(self, asset: str, *, large: bool = False) -> int:
        rng = self.rng
        if asset == "USD":
            choice = rng.random()
            if choice < 0.1:
                return rng.randint(1, 20)
            return rng.randint(100, 200_000 if large else 40_000)
        choice = rng.random()
        if choice < 0.1:
            return rng.randint(1, 10_000)  # dust: every part but the platform's floors to zero
        # Up to 200 AGR: past 2**63 base units, so the wide integer columns matter.
        return rng.randint(AGR_UNIT // 100, (200 if large else 40) * AGR_UNIT)

    def pick_escrow(self, *, held_bias: float = 0.7) -> str | None:
        escrows = self.model.escrows
        if not escrows:
            return None
        held = [ref for ref, escrow in escrows.items() if escrow.state == "held"]
        if held and self.rng.random() < held_bias:
            return self.rng.choice(held)
        return self.rng.choice(self.model.escrow_order)

    def next_op(self, index: int) -> Op:
        rng = self.rng
        self.clock += timedelta(seconds=rng.randint(0, 4 * 3600))
        crash = rng.random() < 0.08
        weights = {
            "top_up": 12,
            "hold": 22,
            "release": 7,
            "refund": 7,
            "partial_refund": 5,
            "bad_refund": 1,
            "freeze": 4,
            "release_due": 5,
            "clawback": 5,
            "transfer": 8,
            "retry": 10,
            "retry_changed": 5,
        }
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        if kind in ("retry", "retry_changed") and self.keyed:
            original = self.history[rng.choice(self.keyed)]
            args = dict(original.args)
            changed = kind == "retry_changed"
            if changed:
                self.change(original.name, args)
            return Op(index, original.name, args, crash=crash, retry_of=original.index, changed=changed)
        asset = rng.choice(ASSETS)
        if kind == "top_up" or (kind in ("retry", "retry_changed")):
            args = {
                "user": rng.choice(USERS),
                "asset": asset,
                "amount": self.amount(asset, large=True) if rng.random() > 0.02 else 0,
                "rail": "stripe" if asset == "USD" else "chain",
                "key": self.fresh("topup"),
                "bonus": rng.random() < 0.5,
            }
            if rng.random() < 0.1:
                args["rail"] = "chain" if args["rail"] == "stripe" else "stripe"
            return Op(index, "top_up", args, crash=crash)
        if kind == "hold":
            buyer = rng.choice(BUYERS)
            by_card = rng.random() < 0.1
            source = (
                label(RAILS["stripe" if asset == "USD" else "chain"], None, asset)
                if by_card
                else label(AccountKind.WALLET, buyer, asset)
            )
            balance = self.model.balances[source]
            if not by_card and balance and rng.random() < 0.6:
                amount = rng.randint(1, balance)  # affordable
            else:
                amount = self.amount(asset)  # often beyond the balance
            if rng.random() < 0.02:
                amount = rng.choice([0, -amount])
            args = {
                "ref": self.fresh("order"),
                "payer": buyer,
                "source": source,
                "creator": rng.choice(CREATORS),
                "asset": asset,
                "amount": amount,
                "release_after": self.clock + timedelta(seconds=rng.randint(3600, 5 * 86_400)),
            }
            return Op(index, "hold", args, crash=crash)
        if kind == "release_due":
            return Op(index, "release_due", {"now": self.clock}, crash=crash)
        if kind == "transfer":
            return self.transfer_op(index, asset, crash)
        ref = self.pick_escrow()
        if ref is None:
            return Op(index, "release_due", {"now": self.clock}, crash=crash)
        escrow = self.model.escrows[ref]
        if kind == "release":
            return Op(index, "release", {"ref": ref}, crash=crash)
        if kind == "refund":
            return Op(index, "refund", {"ref": ref, "amount": None}, crash=crash)
        if kind == "partial_refund":
            amount = rng.randint(1, escrow.amount - 1) if escrow.amount > 1 else 1
            return Op(index, "refund", {"ref": ref, "amount": amount}, crash=crash)
        if kind == "bad_refund":
            amount = rng.choice([0, escrow.amount + 1, -1])
            return Op(index, "refund", {"ref": ref, "amount": amount}, crash=crash)
        if kind == "freeze":
            return Op(index, "freeze", {"ref": ref, "frozen": not escrow.frozen}, crash=crash)
        # clawback: mostly on released escrows, sometimes beyond what was released or the payable
        released = [r for r, e in self.model.escrows.items() if e.state in ("released", "partially_refunded")]
        if released and rng.random() < 0.85:
            ref = rng.choice(released)
            escrow = self.model.escrows[ref]
        top = max(escrow.amount - escrow.refunded, 1)
        amount = rng.randint(1, top) if rng.random() < 0.9 else top + 1
        return Op(index, "clawback", {"ref": ref, "amount": amount}, crash=crash)

    def transfer_op(self, index: int, asset: str, crash: bool) -> Op:
        rng = self.rng
        payer, *payees = rng.sample(USERS, 3 if rng.random() < 0.3 else 2)
        balance = self.model.balances[label(AccountKind.WALLET, payer, asset)]
        total = rng.randint(1, balance) if balance and rng.random() < 0.7 else self.amount(asset)
        if len(payees) == 2 and total >= 2:
            first = rng.randint(1, total - 1)
            shares = [first, total - first]
        else:
            payees, shares = payees[:1], [total]
        legs = [(label(AccountKind.WALLET, payer, asset), -total)]
        legs += [
            (label(AccountKind.WALLET, who, asset), share) for who, share in zip(payees, shares, strict=True)
        ]
        if rng.random() < 0.05:
            legs[-1] = (legs[-1][0], legs[-1][1] + 1)  # unbalanced by one unit
        return Op(index, "transfer", {"key": self.fresh("transfer"), "legs": legs}, crash=crash)

    def change(self, name: str, args: dict[str, Any]) -> None:
        """Same key or reference, another payload: IdempotencyConflict once the first one committed."""
        rng = self.rng
        if name == "top_up":
            what = rng.choice(["amount", "bonus", "user"])
            if what == "amount":
                args["amount"] += 1
            elif what == "bonus":
                args["bonus"] = not args["bonus"]
            else:
                args["user"] = rng.choice([user for user in USERS if user != args["user"]])
        elif name == "hold":
            if rng.random() < 0.7:
                args["amount"] += rng.choice([1, -1]) if args["amount"] > 1 else 1
            else:
                payer = rng.choice([buyer for buyer in BUYERS if buyer != args["payer"]])
                args["payer"] = payer
                args["source"] = label(AccountKind.WALLET, payer, args["asset"])
        elif name == "transfer":
            legs = list(args["legs"])
            legs[0] = (legs[0][0], legs[0][1] - 1)
            legs[-1] = (legs[-1][0], legs[-1][1] + 1)
            args["legs"] = legs
        elif name == "clawback":
            args["amount"] += 1

    # ---------------------------------------------------------------- execution

    def call(self, op: Op) -> Any:
        args = op.args
        if op.name == "top_up":
            return wallet_top_up(
                user=self.users[args["user"]],
                asset=args["asset"],
                amount=args["amount"],
                rail=args["rail"],
                idempotency_key=args["key"],
                prepaid_bonus=args["bonus"],
            )
        if op.name == "hold":
            return escrow_hold(
                reference=args["ref"],
                creator=self.users[args["creator"]],
                source_account=self.accounts[args["source"]],
                amount=args["amount"],
                payer=self.users[args["payer"]],
                release_after=args["release_after"],
            )
        if op.name == "transfer":
            return transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(self.accounts[account], amount) for account, amount in args["legs"]],
                idempotency_key=args["key"],
            )
        if op.name == "release_due":
            return escrows_release_due(now=args["now"])
        escrow_id = self.model.escrows[args["ref"]].pk
        assert escrow_id is not None
        if op.name == "release":
            return escrow_release(escrow_id=escrow_id)
        if op.name == "refund":
            return escrow_refund(escrow_id=escrow_id, amount=args["amount"])
        if op.name == "freeze":
            return escrow_set_frozen(escrow_id=escrow_id, frozen=args["frozen"])
        if op.name == "clawback":
            return sale_clawback(escrow_id=escrow_id, amount=args["amount"])
        raise AssertionError(f"unknown operation {op.name}")

    def predict(self, op: Op) -> tuple[type[Exception] | None, Any]:
        model = self.model
        mark = model.journal.mark()
        args = dict(op.args)
        try:
            if op.name == "hold":
                args.pop("payer")
            expected = getattr(model, op.name)(**args)
        except Expected as failure:
            model.journal.rollback(mark)
            return failure.error, None
        return None, expected

    def fail(self, op: Op, message: str) -> AssertionError:
        recent = "\n".join(f"  #{earlier.index}: {earlier}" for earlier in self.history[-6:-1])
        return AssertionError(
            f"ledger simulation seed={self.seed} operation #{op.index} of {OPS}: {op}\n{message}\n"
            f"previous operations:\n{recent}\n"
            f"replay: pytest '{self.nodeid}' (or -k 'seed-{self.seed}')"
        )

    def step(self, op: Op) -> None:
        model = self.model
        model.new_keys.clear()
        model.journal.forget()
        error, expected = self.predict(op)
        try:
            if op.crash:
                with transaction.atomic():
                    result = self.call(op)
                    raise InjectedCrash
            result = self.call(op)
            outcome: type[Exception] | None = None
        except (InjectedCrash, AmountInvalid, IdempotencyConflict, InsufficientFunds, InvalidState) as exc:
            outcome, result = type(exc), None
        except UnbalancedTransaction:
            outcome, result = UnbalancedTransaction, None
        except Exception as exc:
            raise self.fail(op, f"unexpected {type(exc).__name__}: {exc} (model expected {error})") from exc

        wanted = error or (InjectedCrash if op.crash else None)
        if outcome is not wanted:
            raise self.fail(
                op, f"outcome {outcome.__name__ if outcome else 'success'}, model expected {wanted}"
            )
        if op.crash or error:
            model.journal.rollback(0)
        else:
            self.check_result(op, expected, result)
        model.journal.forget()
        if op.name in ("top_up", "hold", "transfer", "clawback") and op.retry_of is None:
            self.keyed.append(op.index)
        self.check_invariants(op)

    def check_result(self, op: Op, expected: Any, result: Any) -> None:
        model = self.model
        if expected[0] == "escrow":
            escrow = model.escrows[expected[1]]
            if escrow.pk is None:
                escrow.pk = result.pk
            if (result.pk, result.reference, result.state) != (escrow.pk, escrow.reference, escrow.state):
                raise self.fail(op, f"returned {result} (pk {result.pk}), model has {escrow}")
        elif expected[0] == "tx":
            record = model.keys[expected[1]]
            if record.tx_pk is None:
                record.tx_pk = result.pk
            if result.pk != record.tx_pk:
                raise self.fail(op, f"returned transaction {result.pk}, first posting was {record.tx_pk}")
        elif expected[0] == "posted":
            record = model.keys[expected[1]]
            if record.tx_pk is None:
                record.tx_pk = result.transaction.pk
            if (result.transaction.pk, result.created) != (record.tx_pk, expected[2]):
                raise self.fail(
                    op,
                    f"returned transaction {result.transaction.pk} created={result.created}, "
                    f"expected {record.tx_pk} created={expected[2]}",
                )
        elif expected[0] == "count" and result != expected[1]:
            raise self.fail(op, f"released {result} escrows, model expected {expected[1]}")

    def check_invariants(self, op: Op) -> None:
        model = self.model
        report = ledger_verify()
        if not report.ok:
            raise self.fail(op, f"ledger_verify failed: {report}")

        # Users' accounts: the cached column; the platform's: Σ entries (they keep no cache).
        platform = system_balances()
        balances = {
            self.labels[pk]: platform.get(pk, balance)
            for pk, balance in LedgerAccount.objects.values_list("pk", "balance")
        }
        if balances != model.balances:
            diff = {
                name: (balances.get(name), model.balances.get(name))
                for name in sorted(set(balances) | set(model.balances))
                if balances.get(name) != model.balances.get(name)
            }
            raise self.fail(op, f"balances differ from the model (database, model): {diff}")

        escrows = {
            row[0]: row[1:]
            for row in Escrow.objects.values_list(
                "reference", "pk", "state", "frozen", "refunded_amount", "amount"
            )
        }
        shadow = {
            ref: (escrow.pk, escrow.state, escrow.frozen, escrow.refunded, escrow.amount)
            for ref, escrow in model.escrows.items()
        }
        if escrows != shadow:
            diff = {
                ref: (escrows.get(ref), shadow.get(ref))
                for ref in sorted(set(escrows) | set(shadow))
                if escrows.get(ref) != shadow.get(ref)
            }
            raise self.fail(op, f"escrows differ from the model (database, model): {diff}")

        # Every posting the model expects is checked below when it is made, and postings are never
        # deleted (L5), so equal counts mean no posting the model does not know of (a crashed or
        # failed operation left nothing behind, a replay made nothing new).
        if report.transactions != self.baseline_transactions + len(model.keys):
            keys = set(LedgerTransaction.objects.values_list("idempotency_key", flat=True))
            raise self.fail(
                op,
                f"{report.transactions - self.baseline_transactions} transactions, the model has "
                f"{len(model.keys)}; unknown to the model: {sorted(keys - set(model.keys))[:20]}; "
                f"missing: {sorted(set(model.keys) - keys)[:20]}",
            )

        if model.new_keys:
            posted: dict[str, list[tuple[str, int]]] = defaultdict(list)
            tx_pks: dict[str, int] = {}
            rows = LedgerEntry.objects.filter(transaction__idempotency_key__in=model.new_keys).values_list(
                "transaction__idempotency_key", "transaction_id", "transaction__kind", "account_id", "amount"
            )
            for key, tx_pk, kind, account_id, amount in rows:
                posted[key].append((self.labels[account_id], amount))
                tx_pks[key] = tx_pk
                if kind != model.keys[key].kind:
                    raise self.fail(op, f"posting {key} is a {kind}, expected {model.keys[key].kind}")
            for key in model.new_keys:
                record = model.keys[key]
                if Counter(posted[key]) != Counter(record.legs):
                    raise self.fail(op, f"posting {key} has legs {posted[key]}, expected {record.legs}")
                if record.tx_pk is not None and record.tx_pk != tx_pks[key]:
                    raise self.fail(
                        op, f"posting {key} is transaction {tx_pks[key]}, returned {record.tx_pk}"
                    )
                record.tx_pk = tx_pks[key]
                if record.kind == TransactionKind.SALE:
                    (gross,) = [-amount for account, amount in record.legs if account.startswith("escrow:")]
                    parts = sum(
                        amount for account, amount in posted[key] if not account.startswith("escrow:")
                    )
                    if parts != gross or any(amount <= 0 for _, amount in record.legs[1:]):
                        raise self.fail(
                            op, f"split of {key} does not conserve: parts {parts} ≠ gross {gross}"
                        )

        # Escrow money is conserved: per asset, the escrow account holds exactly the held escrows,
        # and every escrow's amount is accounted for as held, released or refunded.
        for asset in ASSETS:
            held = sum(e.amount for e in model.escrows.values() if e.asset == asset and e.state == "held")
            if model.balances[label(AccountKind.ESCROW, None, asset)] != held:
                escrow_balance = model.balances[label(AccountKind.ESCROW, None, asset)]
                raise self.fail(op, f"escrow account {asset} holds {escrow_balance} ≠ held escrows {held}")
        for escrow in model.escrows.values():
            held = escrow.amount if escrow.state == "held" else 0
            if held + escrow.released + escrow.refunded != escrow.amount:
                raise self.fail(op, f"escrow {escrow.reference} does not conserve: {escrow}")

    def run(self, operations: int) -> None:
        for index in range(operations):
            op = self.next_op(index)
            self.history.append(op)
            self.step(op)


def kind_of(account_label: str) -> str:
    return account_label.split(":", 1)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed-{seed}" for seed in SEEDS])
def test_ledger_simulation(seed: int, request: pytest.FixtureRequest) -> None:
    simulation = Simulation(seed, request.node.nodeid)
    simulation.run(OPS)
    if OPS >= 200:
        # The workload reached the interesting states, so a green run means something.
        states = Counter(escrow.state for escrow in simulation.model.escrows.values())
        assert states["released"], states
        assert states["refunded"], states
        assert states["partially_refunded"], states
        assert len(simulation.model.keys) > OPS // 4
