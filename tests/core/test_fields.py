"""WideIntegerField and WideSum: exact wide integers through the active database (SQLite or PostgreSQL).

AGR amounts pass 2**63 at 9.2 AGR, so every money column must hold, sum and compare numbers far past
a 64-bit integer without going through a float. These tests write through the ORM, read back, and
also read the stored representation with raw SQL.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from core.fields import WideIntegerField, WideSum
from tokenomics.models import LedgerAccount, Parameter
from tokenomics.models.ledger import AccountKind

pytestmark = pytest.mark.django_db

BIG = 10**77  # 78 digits: the widest value a column holds
WIDEST = 10**78 - 1  # the largest 78-digit number
_keys = itertools.count()

ROUND_TRIP_VALUES = [
    0,
    1,
    -1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64 + 1,
    10**18 * 10**9,  # a billion AGR in base units
    BIG,
    -BIG,
    WIDEST,
    -WIDEST,
    2**255,  # a uint256's range fits in 78 digits
    2**256 - 1,
]


def _parameter(value: int) -> Parameter:
    return Parameter.objects.create(
        key=f"test.wide.{next(_keys)}",
        category="test",
        value=value,
        unit=Parameter.Unit.COUNT,
        min_value=-WIDEST,
        max_value=WIDEST,
        description="WideIntegerField test row",
    )


def _short(value: object) -> str:
    if isinstance(value, int) and abs(value) > 10**9:
        return f"{'-' if value < 0 else ''}{len(str(abs(value)))}digits_{str(abs(value))[-3:]}"
    return repr(value)


def _raw_value(pk: int) -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM tokenomics_parameter WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES, ids=_short)
def test_round_trip_is_exact_and_reads_back_as_int(value: int) -> None:
    parameter = _parameter(value)

    fresh = Parameter.objects.get(pk=parameter.pk)
    assert fresh.value == value
    assert type(fresh.value) is int
    # The min/max columns hold the widest 78-digit numbers, both signs.
    assert fresh.min_value == -WIDEST
    assert fresh.max_value == WIDEST
    # values_list goes through the same converters.
    assert Parameter.objects.filter(pk=parameter.pk).values_list("value", flat=True).get() == value
    # An exact lookup finds it by its full value.
    assert Parameter.objects.filter(value=value, pk=parameter.pk).exists()
    neighbour = value - 1 if value > 0 else value + 1
    assert not Parameter.objects.filter(value=neighbour, pk=parameter.pk).exists()


@pytest.mark.parametrize("value", [0, -1, 2**63, -(2**63) - 7, BIG, -BIG], ids=_short)
def test_stored_representation_is_exact(value: int) -> None:
    parameter = _parameter(value)

    raw = _raw_value(parameter.pk)
    if connection.vendor == "sqlite":
        assert raw == str(value)  # canonical decimal text, never a REAL
    else:
        assert isinstance(raw, Decimal)
        assert raw == Decimal(value)
        assert int(raw) == value


def test_update_through_the_orm_keeps_exactness() -> None:
    parameter = _parameter(0)
    parameter.value = 2**200 + 3
    parameter.save(update_fields=["value"])
    Parameter.objects.filter(pk=parameter.pk).update(min_value=-(2**200) - 3)

    parameter.refresh_from_db()
    assert parameter.value == 2**200 + 3
    assert parameter.min_value == -(2**200) - 3


def test_ledger_account_balance_round_trips_huge_and_negative_values(user) -> None:
    wallet = LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="AGR", balance=BIG)
    external = LedgerAccount.objects.create(
        kind=AccountKind.EXTERNAL_CHAIN, asset="AGR", overdraft_allowed=True, balance=-BIG
    )

    assert LedgerAccount.objects.get(pk=wallet.pk).balance == BIG
    assert LedgerAccount.objects.get(pk=external.pk).balance == -BIG


# --------------------------------------------------------------------------- rejected values


@pytest.mark.parametrize("value", [10**78, -(10**78), 10**78 + 5, 10**100], ids=_short)
def test_a_79_digit_value_is_rejected_before_reaching_the_database(value: int) -> None:
    before = Parameter.objects.count()
    # The save fails before any SQL; the savepoint keeps the test's transaction usable.
    with pytest.raises(ValidationError) as excinfo, transaction.atomic():
        _parameter(value)
    assert excinfo.value.code == "max_digits"
    assert Parameter.objects.count() == before


def test_a_79_digit_value_is_rejected_in_a_lookup_and_an_update() -> None:
    parameter = _parameter(1)
    with pytest.raises(ValidationError), transaction.atomic():
        Parameter.objects.filter(pk=parameter.pk).update(value=10**78)
    with pytest.raises(ValidationError), transaction.atomic():
        list(Parameter.objects.filter(value=-(10**78)))
    parameter.value = 10**78
    with pytest.raises(ValidationError), transaction.atomic():
        parameter.save()
    parameter.refresh_from_db()
    assert parameter.value == 1


@pytest.mark.postgres  # numeric(78,0) overflow is PostgreSQL's; SQLite stores text
def test_postgresql_column_itself_refuses_79_digits_written_raw() -> None:
    parameter = _parameter(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tokenomics_parameter SET value = %s WHERE id = %s", [Decimal(10**78), parameter.pk]
        )
    parameter.refresh_from_db()
    assert parameter.value == 1


@pytest.mark.parametrize("value", [1.5, 2.0, Decimal("2.5"), "1e5", "12abc", True, False], ids=repr)
def test_non_integers_are_rejected(value: object) -> None:
    with pytest.raises(ValidationError):
        WideIntegerField().get_prep_value(value)


@pytest.mark.parametrize(("value", "expected"), [(Decimal(10**40), 10**40), ("  -42 ", -42), (7, 7)])
def test_integral_decimals_and_digit_strings_are_accepted(value: object, expected: int) -> None:
    assert WideIntegerField().get_prep_value(value) == expected


# --------------------------------------------------------------------------- WideSum


def test_wide_sum_is_exact_past_2_63() -> None:
    values = [2**63, 2**63, 2**63 - 1, 10**40, -(10**39), 1, -1, 3]
    for value in values:
        _parameter(value)
    expected = sum(values)

    total = Parameter.objects.filter(category="test").aggregate(total=WideSum("value"))["total"]

    assert total == expected
    assert type(total) is int
    # A float sum would lose the low digits: prove the result is not what a double gives.
    assert total != int(float(2**63) * 3 + 1e40 - 1e39 + 3)


def test_wide_sum_near_the_78_digit_limit_is_exact() -> None:
    _parameter(WIDEST)
    _parameter(-WIDEST)
    _parameter(-1)
    _parameter(BIG)

    total = Parameter.objects.filter(category="test").aggregate(total=WideSum("value"))["total"]

    assert total == BIG - 1


def test_wide_sum_grouped_is_exact_per_group() -> None:
    for key, value in [("a", 2**70), ("a", 2**70), ("b", -(2**65)), ("b", 5)]:
        Parameter.objects.create(
            key=f"test.grouped.{next(_keys)}",
            category=f"test-{key}",
            value=value,
            unit=Parameter.Unit.COUNT,
            min_value=0,
            max_value=0,
            description="",
        )

    totals = dict(
        Parameter.objects.filter(category__startswith="test-")
        .values("category")
        .annotate(total=WideSum("value"))
        .values_list("category", "total")
    )

    assert totals == {"test-a": 2**71, "test-b": -(2**65) + 5}


def test_wide_sum_of_no_rows_is_zero() -> None:
    """The docstring promises 0 when there are no rows, for any query that matches nothing."""
    # A WHERE that Django knows is empty at compile time.
    assert Parameter.objects.filter(pk__in=[]).aggregate(total=WideSum("value"))["total"] == 0
    # A WHERE that only the database finds empty: SQL SUM over no rows is NULL.
    assert (
        Parameter.objects.filter(category="no-such-category").aggregate(total=WideSum("value"))["total"] == 0
    )


def test_wide_sum_of_rows_that_cancel_is_zero_not_null() -> None:
    _parameter(2**64)
    _parameter(-(2**64))

    total = Parameter.objects.filter(category="test").aggregate(total=WideSum("value"))["total"]

    assert total == 0
    assert Parameter.objects.filter(category="test").aggregate(total=WideSum("value"))["total"] is not None


# --------------------------------------------------------------------------- sign comparisons with 0


SIGN_VALUES = [0, 1, 9, 10, -1, -9, -10, 2**63, -(2**63), BIG, -BIG, WIDEST, -WIDEST, 123456789]


def test_sign_comparisons_with_zero_are_right_for_huge_and_negative_values() -> None:
    rows = {_parameter(value).pk: value for value in SIGN_VALUES}
    queryset = Parameter.objects.filter(pk__in=rows)

    def matching(**lookup: int) -> set[int]:
        return {rows[pk] for pk in queryset.filter(**lookup).values_list("pk", flat=True)}

    assert matching(value__gte=0) == {v for v in SIGN_VALUES if v >= 0}
    assert matching(value__gt=0) == {v for v in SIGN_VALUES if v > 0}
    assert matching(value__lt=0) == {v for v in SIGN_VALUES if v < 0}
    assert matching(value__lte=0) == {v for v in SIGN_VALUES if v <= 0}
    assert matching(value=0) == {0}
    assert {rows[pk] for pk in queryset.exclude(value=0).values_list("pk", flat=True)} == set(SIGN_VALUES) - {
        0
    }


def test_balance_gte_zero_on_ledger_accounts(user, other_user) -> None:
    accounts = {
        LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="AGR", balance=BIG).pk: BIG,
        LedgerAccount.objects.create(owner=user, kind=AccountKind.WALLET, asset="USD", balance=0).pk: 0,
        LedgerAccount.objects.create(
            owner=other_user, kind=AccountKind.WALLET, asset="AGR", balance=2**63
        ).pk: 2**63,
        LedgerAccount.objects.create(
            kind=AccountKind.EXTERNAL_CHAIN, asset="AGR", overdraft_allowed=True, balance=-BIG
        ).pk: -BIG,
        LedgerAccount.objects.create(
            kind=AccountKind.EXTERNAL_STRIPE, asset="USD", overdraft_allowed=True, balance=-1
        ).pk: -1,
        LedgerAccount.objects.create(
            kind=AccountKind.PROMOTIONS, asset="USD", overdraft_allowed=True, balance=-(2**63) - 1
        ).pk: -(2**63) - 1,
    }
    queryset = LedgerAccount.objects.filter(pk__in=accounts)

    non_negative = set(queryset.filter(balance__gte=0).values_list("pk", flat=True))
    negative = set(queryset.filter(balance__lt=0).values_list("pk", flat=True))
    positive = set(queryset.filter(balance__gt=0).values_list("pk", flat=True))

    assert non_negative == {pk for pk, balance in accounts.items() if balance >= 0}
    assert negative == {pk for pk, balance in accounts.items() if balance < 0}
    assert positive == {pk for pk, balance in accounts.items() if balance > 0}


def test_wide_sum_compares_with_zero_in_having() -> None:
    """`ledger_verify` finds unbalanced groups with `.exclude(total=0)` on a WideSum."""
    for category, value in [("z0", 2**70), ("z0", -(2**70)), ("neg", -(2**70)), ("pos", 2**70 + 1)]:
        Parameter.objects.create(
            key=f"test.having.{next(_keys)}",
            category=category,
            value=value,
            unit=Parameter.Unit.COUNT,
            min_value=0,
            max_value=0,
            description="",
        )
    grouped = (
        Parameter.objects.filter(category__in=["z0", "neg", "pos"])
        .values("category")
        .annotate(total=WideSum("value"))
        .order_by()
    )

    assert set(grouped.exclude(total=0).values_list("category", flat=True)) == {"neg", "pos"}
    assert set(grouped.filter(total=0).values_list("category", flat=True)) == {"z0"}
    assert set(grouped.filter(total__lt=0).values_list("category", flat=True)) == {"neg"}
    assert set(grouped.filter(total__gt=0).values_list("category", flat=True)) == {"pos"}


def _lookups(condition: object) -> list[tuple[str, object]]:
    """Every (field__lookup, value) leaf of a Q tree."""
    from django.db.models import Q

    if isinstance(condition, Q):
        return [leaf for child in condition.children for leaf in _lookups(child)]
    return [condition] if isinstance(condition, tuple) else []


def test_no_check_constraint_bounds_a_wide_integer_from_above() -> None:
    """SQLite (the demo's database) stores WideIntegerField as text, and text compares greater than
    any number there: `value < N` refuses every row, so the demo could never write one (this is how
    settling metered calls broke in `make demo` while PostgreSQL was fine). A column with an upper
    bound is small enough for a plain integer field."""
    from django.apps import apps

    offenders = []
    for model in apps.get_models():
        for constraint in getattr(model._meta, "constraints", []):
            condition = getattr(constraint, "condition", None)
            if condition is None:
                continue
            for key, _value in _lookups(condition):
                name, _, lookup = key.partition("__")
                field = next((f for f in model._meta.concrete_fields if f.name == name), None)
                if isinstance(field, WideIntegerField) and lookup in {"lt", "lte"}:
                    offenders.append(f"{model._meta.label}.{constraint.name}: {key}")
    assert offenders == []
