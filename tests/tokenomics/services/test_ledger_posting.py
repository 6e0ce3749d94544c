"""The posting service (`transaction_post`, `transaction_reverse`): balanced, exactly once, never overdrawn.

Figures: L1 (no unbalanced posting is accepted, ≥1,000 Hypothesis cases), L4 (idempotency: same key
same entries → one transaction; same key other entries → conflict and nothing written).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokenomics.factories import funded_wallet
from tokenomics.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    InvalidState,
    TokenomicsError,
    UnbalancedTransaction,
)
from tokenomics.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tokenomics.models.ledger import AccountKind, TransactionKind
from tokenomics.money import agr
from tokenomics.selectors.ledger import account_balance
from tokenomics.services.ledger import MAX_KEY_LENGTH, Leg, transaction_post, transaction_reverse
from tokenomics.services.ledger_accounts import system_account_get_or_create, user_account_get_or_create

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def key() -> str:
    return f"test-posting-{next(_keys)}"


@dataclass(frozen=True)
class Snapshot:
    transactions: int
    entries: int
    balances: dict[int, int]


def snapshot() -> Snapshot:
    return Snapshot(
        transactions=LedgerTransaction.objects.count(),
        entries=LedgerEntry.objects.count(),
        balances=dict(LedgerAccount.objects.values_list("pk", "balance")),
    )


def balance(account: LedgerAccount) -> int:
    return account_balance(account=account)


@pytest.fixture
def stripe() -> LedgerAccount:
    return system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")


@pytest.fixture
def chain() -> LedgerAccount:
    return system_account_get_or_create(kind=AccountKind.EXTERNAL_CHAIN, asset="AGR")


@pytest.fixture
def wallet(user) -> LedgerAccount:
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD")


@pytest.fixture
def agr_wallet(user) -> LedgerAccount:
    return user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="AGR")


# --------------------------------------------------------------------------- account getters


def test_account_getters_create_once_and_set_overdraft_by_kind(user) -> None:
    stripe = system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD")
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    wallet = user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD")

    assert system_account_get_or_create(kind=AccountKind.EXTERNAL_STRIPE, asset="USD").pk == stripe.pk
    assert user_account_get_or_create(user=user, kind=AccountKind.WALLET, asset="USD").pk == wallet.pk
    assert stripe.overdraft_allowed is True
    assert stripe.owner_id is None
    assert treasury.overdraft_allowed is False
    assert wallet.overdraft_allowed is False
    assert wallet.owner_id == user.pk
    assert [account_balance(account=a) for a in (stripe, treasury, wallet)] == [0, 0, 0]
    with pytest.raises(ValueError, match="not a user account kind"):
        user_account_get_or_create(user=user, kind=AccountKind.ESCROW, asset="USD")
    with pytest.raises(ValueError, match="is a user account kind"):
        system_account_get_or_create(kind=AccountKind.WALLET, asset="USD")


# --------------------------------------------------------------------------- balanced postings


def test_balanced_posting_creates_one_transaction_with_its_entries_and_moves_balances(
    user, stripe, wallet
) -> None:
    before = snapshot()

    posted = transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(stripe, -12_345), Leg(wallet, 12_345)],
        idempotency_key="deposit-1",
        memo="Top-up",
        reference="order:1",
        party=user,
    )

    assert posted.created is True
    tx = LedgerTransaction.objects.get()
    assert tx.pk == posted.transaction.pk
    assert (tx.kind, tx.idempotency_key, tx.memo, tx.reference, tx.party_id) == (
        "deposit",
        "deposit-1",
        "Top-up",
        "order:1",
        user.pk,
    )
    assert len(tx.fingerprint) == 64
    assert tx.reverses_id is None
    entries = sorted(tx.entries.values_list("account_id", "asset", "amount"))
    assert entries == sorted([(stripe.pk, "USD", -12_345), (wallet.pk, "USD", 12_345)])
    assert LedgerTransaction.objects.count() == before.transactions + 1
    assert LedgerEntry.objects.count() == before.entries + 2
    assert balance(stripe) == -12_345
    assert balance(wallet) == 12_345


def test_multi_asset_multi_leg_posting_with_repeated_account(user, stripe, chain, wallet, agr_wallet) -> None:
    big = agr(10**9) + 7  # a billion AGR: far past 2**63 base units
    funded_wallet(user=user, amount=1_000)

    posted = transaction_post(
        kind=TransactionKind.TRANSFER,
        legs=[
            Leg(chain, -big),
            Leg(agr_wallet, big),
            Leg(wallet, -300),
            Leg(wallet, -200),
            Leg(stripe, 500),
        ],
        idempotency_key=key(),
    )

    assert posted.created
    assert posted.transaction.entries.count() == 5
    assert balance(agr_wallet) == big
    assert balance(chain) == -big
    assert balance(wallet) == 500
    assert balance(stripe) == -1_000 + 500


def test_spending_a_wallet_to_exactly_zero_is_allowed(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=700)

    transaction_post(
        kind=TransactionKind.PAYOUT, legs=[Leg(wallet, -700), Leg(stripe, 700)], idempotency_key=key()
    )

    assert balance(wallet) == 0


# --------------------------------------------------------------------------- rejected postings


def _rejected(exc_type: type[Exception], **kwargs: object) -> Exception:
    before = snapshot()
    with pytest.raises(exc_type) as excinfo:
        transaction_post(**{"kind": TransactionKind.TRANSFER, "idempotency_key": key(), **kwargs})  # type: ignore[arg-type]
    assert snapshot() == before, "a rejected posting wrote something"
    return excinfo.value


def test_unbalanced_in_one_asset_is_rejected(stripe, wallet) -> None:
    error = _rejected(UnbalancedTransaction, legs=[Leg(stripe, -100), Leg(wallet, 99)])
    assert error.detail == {"imbalance": {"USD": "-1"}}


def test_balanced_across_assets_but_not_per_asset_is_rejected(stripe, wallet, chain, agr_wallet) -> None:
    # 100 USD cents out, 100 AGR base units in: the sum over all entries is 0, per asset it is not.
    error = _rejected(
        UnbalancedTransaction,
        legs=[Leg(stripe, -100), Leg(agr_wallet, 100)],
    )
    assert error.detail == {"imbalance": {"USD": "-100", "AGR": "100"}}
    _rejected(
        UnbalancedTransaction,
        legs=[Leg(stripe, -100), Leg(wallet, 50), Leg(chain, -50), Leg(agr_wallet, 100)],
    )


def test_single_leg_is_rejected(stripe) -> None:
    _rejected(UnbalancedTransaction, legs=[Leg(stripe, 100)])
    _rejected(UnbalancedTransaction, legs=[])


def test_zero_amount_is_rejected_even_when_the_rest_balances(stripe, wallet, chain) -> None:
    _rejected(UnbalancedTransaction, legs=[Leg(stripe, -100), Leg(wallet, 100), Leg(chain, 0)])
    _rejected(UnbalancedTransaction, legs=[Leg(stripe, 0), Leg(wallet, 0)])


@pytest.mark.parametrize(
    "amount", [100.0, Decimal(100), Decimal("100.00"), True, "100", None], ids=lambda value: repr(value)
)
def test_non_integer_amounts_are_rejected(stripe, wallet, amount: object) -> None:
    error = _rejected(UnbalancedTransaction, legs=[Leg(stripe, -100), Leg(wallet, amount)])  # type: ignore[arg-type]
    assert error.detail == {"amount": repr(amount)}


def test_bool_pair_that_would_sum_to_zero_is_rejected(stripe, wallet) -> None:
    _rejected(UnbalancedTransaction, legs=[Leg(stripe, -1), Leg(wallet, True)])  # type: ignore[arg-type]


def test_unsaved_account_is_rejected(stripe) -> None:
    unsaved = LedgerAccount(kind=AccountKind.TREASURY, asset="USD")
    _rejected(UnbalancedTransaction, legs=[Leg(stripe, -5), Leg(unsaved, 5)])


@pytest.mark.parametrize("bad_key", ["", "k" * (MAX_KEY_LENGTH + 1)], ids=["empty", "overlong"])
def test_empty_or_overlong_idempotency_key_is_rejected(stripe, wallet, bad_key: str) -> None:
    before = snapshot()
    with pytest.raises(UnbalancedTransaction, match="idempotency key"):
        transaction_post(
            kind=TransactionKind.DEPOSIT, legs=[Leg(stripe, -1), Leg(wallet, 1)], idempotency_key=bad_key
        )
    assert snapshot() == before


def test_a_key_of_exactly_the_maximum_length_is_accepted(stripe, wallet) -> None:
    posted = transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(stripe, -1), Leg(wallet, 1)],
        idempotency_key="k" * MAX_KEY_LENGTH,
    )
    assert posted.created
    assert LedgerTransaction.objects.get(pk=posted.transaction.pk).idempotency_key == "k" * MAX_KEY_LENGTH


def test_insufficient_funds_on_a_user_account_writes_nothing(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=1_000)

    error = _rejected(InsufficientFunds, legs=[Leg(wallet, -1_001), Leg(stripe, 1_001)])

    assert error.detail["available"] == "1000"
    assert error.detail["required"] == "1001"
    assert error.detail["asset"] == "USD"
    assert error.detail["account"] == AccountKind.WALLET
    assert balance(wallet) == 1_000


def test_insufficient_funds_counts_every_leg_on_the_account(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=1_000)

    error = _rejected(InsufficientFunds, legs=[Leg(wallet, -600), Leg(wallet, -600), Leg(stripe, 1_200)])

    assert error.detail["required"] == "1200"


def test_non_overdraft_system_accounts_cannot_go_negative(stripe) -> None:
    treasury = system_account_get_or_create(kind=AccountKind.TREASURY, asset="USD")
    _rejected(InsufficientFunds, legs=[Leg(treasury, -1), Leg(stripe, 1)])


@pytest.mark.parametrize("kind", [AccountKind.EXTERNAL_STRIPE, AccountKind.PROMOTIONS])
def test_overdraft_accounts_may_go_negative(wallet, kind: AccountKind) -> None:
    external = system_account_get_or_create(kind=kind, asset="USD")

    transaction_post(
        kind=TransactionKind.DEPOSIT, legs=[Leg(external, -5_000), Leg(wallet, 5_000)], idempotency_key=key()
    )

    assert balance(external) == -5_000
    assert balance(wallet) == 5_000


def test_insufficient_funds_uses_the_locked_balance_not_the_callers_stale_copy(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=100)
    stale = LedgerAccount.objects.get(pk=wallet.pk)
    transaction_post(
        kind=TransactionKind.PAYOUT, legs=[Leg(wallet, -100), Leg(stripe, 100)], idempotency_key=key()
    )
    assert stale.balance == 100  # the caller's copy still says 100

    _rejected(InsufficientFunds, legs=[Leg(stale, -100), Leg(stripe, 100)])


# --------------------------------------------------------------------------- idempotency (L4)


def test_same_key_same_entries_returns_the_first_transaction_and_moves_money_once(stripe, wallet) -> None:
    legs = [Leg(stripe, -2_500), Leg(wallet, 2_500)]
    first = transaction_post(kind=TransactionKind.DEPOSIT, legs=legs, idempotency_key="pay-1", reference="r")
    after_first = snapshot()

    replays = [
        transaction_post(kind=TransactionKind.DEPOSIT, legs=legs, idempotency_key="pay-1", reference="r"),
        # The order of the legs does not matter.
        transaction_post(
            kind=TransactionKind.DEPOSIT, legs=list(reversed(legs)), idempotency_key="pay-1", reference="r"
        ),
        # Nor does the memo.
        transaction_post(
            kind=TransactionKind.DEPOSIT, legs=legs, idempotency_key="pay-1", reference="r", memo="retry"
        ),
    ]

    assert first.created is True
    for replay in replays:
        assert replay.created is False
        assert replay.transaction.pk == first.transaction.pk
    assert snapshot() == after_first
    assert balance(wallet) == 2_500


@pytest.mark.parametrize(
    "change",
    ["amount", "account", "kind", "reference", "extra_leg"],
)
def test_same_key_different_posting_is_a_conflict_and_writes_nothing(
    user, stripe, wallet, chain, agr_wallet, change: str
) -> None:
    legs = [Leg(stripe, -2_500), Leg(wallet, 2_500)]
    transaction_post(kind=TransactionKind.DEPOSIT, legs=legs, idempotency_key="pay-2", reference="order:1")
    other_wallet = user_account_get_or_create(user=user, kind=AccountKind.CREATOR_PAYABLE, asset="USD")
    variants: dict[str, dict[str, object]] = {
        "amount": {"legs": [Leg(stripe, -2_501), Leg(wallet, 2_501)]},
        "account": {"legs": [Leg(stripe, -2_500), Leg(other_wallet, 2_500)]},
        "kind": {"kind": TransactionKind.TRANSFER},
        "reference": {"reference": "order:2"},
        "extra_leg": {"legs": [*legs, Leg(chain, -1), Leg(agr_wallet, 1)]},
    }
    call: dict[str, object] = {
        "kind": TransactionKind.DEPOSIT,
        "legs": legs,
        "idempotency_key": "pay-2",
        "reference": "order:1",
        **variants[change],
    }
    before = snapshot()

    with pytest.raises(IdempotencyConflict) as excinfo:
        transaction_post(**call)  # type: ignore[arg-type]

    assert excinfo.value.detail == {"idempotency_key": "pay-2"}
    assert snapshot() == before


def test_replay_is_returned_even_when_the_balance_would_now_be_short(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    legs = [Leg(wallet, -1_000), Leg(stripe, 1_000)]
    first = transaction_post(kind=TransactionKind.PAYOUT, legs=legs, idempotency_key="payout-1")

    replay = transaction_post(kind=TransactionKind.PAYOUT, legs=legs, idempotency_key="payout-1")

    assert replay.created is False
    assert replay.transaction.pk == first.transaction.pk
    assert balance(wallet) == 0


# --------------------------------------------------------------------------- reversal


def test_reversal_negates_every_entry_exactly(user, stripe, chain, agr_wallet) -> None:
    big = agr(123_456_789) + 1
    original = transaction_post(
        kind=TransactionKind.DEPOSIT,
        legs=[Leg(chain, -big), Leg(agr_wallet, big)],
        idempotency_key=key(),
        reference="order:9",
        party=user,
    ).transaction

    reversal = transaction_reverse(original=original)

    assert reversal.created is True
    tx = reversal.transaction
    assert tx.kind == TransactionKind.REVERSAL
    assert tx.reverses_id == original.pk
    assert tx.idempotency_key == f"reverse:{original.pk}"
    assert (tx.reference, tx.party_id) == ("order:9", user.pk)
    assert sorted(tx.entries.values_list("account_id", "amount")) == sorted(
        (account_id, -amount) for account_id, amount in original.entries.values_list("account_id", "amount")
    )
    assert balance(agr_wallet) == 0
    assert balance(chain) == 0
    assert original.reversed_by.pk == tx.pk


def test_reversal_happens_once_a_second_call_returns_the_first(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    original = LedgerTransaction.objects.get(kind=TransactionKind.DEPOSIT)

    first = transaction_reverse(original=original)
    after_first = snapshot()
    second = transaction_reverse(original=original, memo="clicked twice")

    assert first.created is True
    assert second.created is False
    assert second.transaction.pk == first.transaction.pk
    assert snapshot() == after_first
    assert balance(wallet) == 0


def test_a_second_reversal_under_another_key_is_refused(user, stripe) -> None:
    # A payout out of the wallet: reversing it credits the wallet, so funds never block a second try
    # and only the one-reversal-per-transaction rule can stop it.
    wallet = funded_wallet(user=user, amount=1_000)
    payout = transaction_post(
        kind=TransactionKind.PAYOUT, legs=[Leg(wallet, -400), Leg(stripe, 400)], idempotency_key=key()
    ).transaction
    transaction_reverse(original=payout)
    after_first = snapshot()

    with pytest.raises(InvalidState):
        transaction_reverse(original=payout, idempotency_key="another-reversal-key")

    assert snapshot() == after_first
    assert LedgerTransaction.objects.filter(reverses=payout).count() == 1
    assert balance(wallet) == 1_000


def test_reversal_is_blocked_when_the_money_was_spent(user, stripe) -> None:
    wallet = funded_wallet(user=user, amount=1_000)
    deposit = LedgerTransaction.objects.get(kind=TransactionKind.DEPOSIT)
    transaction_post(
        kind=TransactionKind.PAYOUT, legs=[Leg(wallet, -600), Leg(stripe, 600)], idempotency_key=key()
    )
    before = snapshot()

    with pytest.raises(InsufficientFunds) as excinfo:
        transaction_reverse(original=deposit)

    assert excinfo.value.detail["available"] == "400"
    assert excinfo.value.detail["required"] == "1000"
    assert snapshot() == before
    assert not LedgerTransaction.objects.filter(reverses=deposit).exists()


def test_reversal_inside_a_failing_outer_transaction_leaves_nothing(user) -> None:
    funded_wallet(user=user, amount=1_000)
    deposit = LedgerTransaction.objects.get(kind=TransactionKind.DEPOSIT)
    before = snapshot()

    def reverse_then_fail() -> None:
        with transaction.atomic():
            transaction_reverse(original=deposit)
            raise RuntimeError("the caller fails after posting")

    with pytest.raises(RuntimeError):
        reverse_then_fail()

    assert snapshot() == before


# --------------------------------------------------------------------------- L1 through the service

ACCOUNT_SPECS = [
    ("USD", AccountKind.EXTERNAL_STRIPE),
    ("USD", AccountKind.PROMOTIONS),
    ("USD", AccountKind.TREASURY),
    ("USD", AccountKind.WALLET),
    ("AGR", AccountKind.EXTERNAL_CHAIN),
    ("AGR", AccountKind.PROMOTIONS),
    ("AGR", AccountKind.BURN),
    ("AGR", AccountKind.WALLET),
]
BIG_AGR = 10**30  # a trillion AGR in base units


def _amount(asset: str) -> st.SearchStrategy[int]:
    bound = BIG_AGR if asset == "AGR" else 10**12
    return st.integers(min_value=-bound, max_value=bound).filter(bool)


@st.composite
def unbalanced_postings(draw: st.DrawFn) -> list[tuple[int, int]]:
    """(account index, amount) legs whose sums are not zero for at least one asset."""
    mode = draw(st.sampled_from(["random", "one_asset_off", "cancels_across_assets", "zero_leg"]))
    indexes = st.integers(min_value=0, max_value=len(ACCOUNT_SPECS) - 1)
    legs = [
        (index, draw(_amount(ACCOUNT_SPECS[index][0])))
        for index in draw(st.lists(indexes, min_size=1, max_size=8))
    ]
    if mode != "random":
        # Close every asset so the legs balance, then break them in the chosen way.
        sums: dict[str, int] = defaultdict(int)
        for index, amount in legs:
            sums[ACCOUNT_SPECS[index][0]] += amount
        for asset, total in sums.items():
            if total:
                closing = draw(
                    st.sampled_from([i for i, spec in enumerate(ACCOUNT_SPECS) if spec[0] == asset])
                )
                legs.append((closing, -total))
        off = draw(st.integers(min_value=1, max_value=BIG_AGR) | st.integers(min_value=1, max_value=3))
        off *= draw(st.sampled_from([1, -1]))
        usd = draw(st.sampled_from([i for i, spec in enumerate(ACCOUNT_SPECS) if spec[0] == "USD"]))
        agr_index = draw(st.sampled_from([i for i, spec in enumerate(ACCOUNT_SPECS) if spec[0] == "AGR"]))
        if mode == "one_asset_off":
            legs.append((draw(st.sampled_from([usd, agr_index])), off))
        elif mode == "cancels_across_assets":
            # Σ over every entry is 0, but USD is +off and AGR is -off.
            legs.extend([(usd, off), (agr_index, -off)])
        else:
            legs.append((usd, 0))
    legs = draw(st.permutations(legs))
    return legs


def _is_balanced(legs: list[tuple[int, int]]) -> bool:
    sums: dict[str, int] = defaultdict(int)
    for index, amount in legs:
        sums[ACCOUNT_SPECS[index][0]] += amount
    return len(legs) >= 2 and all(amount for _, amount in legs) and not any(sums.values())


def test_l1_a_thousand_generated_unbalanced_postings_are_all_rejected(user) -> None:
    accounts = [
        user_account_get_or_create(user=user, kind=kind, asset=asset)
        if kind == AccountKind.WALLET
        else system_account_get_or_create(kind=kind, asset=asset)
        for asset, kind in ACCOUNT_SPECS
    ]
    before = snapshot()
    tried: list[int] = []

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(legs=unbalanced_postings())
    def post(legs: list[tuple[int, int]]) -> None:
        assert not _is_balanced(legs)
        with pytest.raises(UnbalancedTransaction):
            transaction_post(
                kind=TransactionKind.TRANSFER,
                legs=[Leg(accounts[index], amount) for index, amount in legs],
                idempotency_key=f"l1-{len(tried)}",
            )
        tried.append(1)

    post()

    assert len(tried) >= 1000
    assert snapshot() == before
    assert LedgerTransaction.objects.count() == before.transactions


# --------------------------------------------------------------------------- the caller's account objects


class _Undo(Exception):
    pass


def test_the_entry_asset_comes_from_the_database_not_the_callers_copy(stripe, chain) -> None:
    """The posting service is the only guard on SQLite: it must check the entries against the
    account rows it locked, not against whatever `asset` the caller's in-memory object carries
    (a stale or hand-built instance). Here an AGR account is passed with `asset` set to USD."""
    mislabelled = LedgerAccount.objects.get(pk=chain.pk)
    mislabelled.asset = "USD"
    outcome: object = None
    try:
        with transaction.atomic():
            try:
                transaction_post(
                    kind=TransactionKind.TRANSFER,
                    legs=[Leg(stripe, -500), Leg(mislabelled, 500)],
                    idempotency_key=key(),
                )
            except TokenomicsError as error:  # UnbalancedTransaction, or any refusal of the service
                outcome = error
            else:
                outcome = sorted(LedgerEntry.objects.filter(account=chain).values_list("asset", "amount"))
            raise _Undo  # never leave a corrupt ledger behind for the autouse check
    except _Undo:
        pass

    # USD 500 moved out of Stripe and AGR 500 base units into the chain account is not balanced
    # per asset; the service must refuse it instead of writing a USD entry on an AGR account.
    assert isinstance(outcome, TokenomicsError), f"posted anyway; chain entries: {outcome}"
