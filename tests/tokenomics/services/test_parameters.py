"""The parameter registry: seeded from the catalog, cached reads, bounded and limited changes, history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from tokenomics.errors import ParameterChangeTooLarge, ParameterNotFound, ParameterOutOfBounds
from tokenomics.models import Parameter, ParameterChange
from tokenomics.parameter_catalog import CATALOG, CATALOG_BY_KEY, ParameterSpec
from tokenomics.selectors.parameters import parameter_cache_key, parameter_get, parameters_get
from tokenomics.services.parameters import parameter_set, parameters_set, parameters_sync

pytestmark = pytest.mark.django_db

# 100,000 cents, bounds 0..10**12: room on both sides, and 20% of it is a whole number.
KEY = "creator_tier.silver_threshold_cents"
START = 100_000
WINDOW = timedelta(days=90)  # governance.change_window_seconds


def history(key: str) -> list[ParameterChange]:
    return list(ParameterChange.objects.filter(parameter__key=key).order_by("changed_at", "id"))


def value(key: str) -> int:
    return Parameter.objects.get(key=key).value


# --------------------------------------------------------------------------- seeding


def test_every_catalog_key_exists_after_migrate_with_one_initial_history_row() -> None:
    parameters = {parameter.key: parameter for parameter in Parameter.objects.all()}

    assert set(parameters) == set(CATALOG_BY_KEY)
    assert len(CATALOG) == len(CATALOG_BY_KEY), "duplicate keys in the catalog"
    for spec in CATALOG:
        parameter = parameters[spec.key]
        assert (
            parameter.category,
            parameter.value,
            parameter.unit,
            parameter.min_value,
            parameter.max_value,
            parameter.description,
        ) == (spec.category, spec.default, spec.unit, spec.min_value, spec.max_value, spec.description)
        assert spec.min_value <= spec.default <= spec.max_value, spec.key
        changes = list(parameter.changes.all())
        assert len(changes) == 1, spec.key
        initial = changes[0]
        assert (initial.old_value, initial.new_value, initial.reason) == (
            None,
            spec.default,
            "Initial default",
        )
        assert (initial.changed_by_id, initial.proposal_ref, initial.emergency) == (None, "", False)


def test_spec_section_4_defaults_are_in_the_registry() -> None:
    assert parameters_get(
        [
            "sale.creator_share.bronze_bps",
            "sale.creator_share.silver_bps",
            "sale.creator_share.gold_bps",
            "sale.creator_share.platinum_bps",
            "sale.network_fee_bps",
            "sale.treasury_bps",
            "sale.validator_pool_bps",
            "escrow.refund_window_seconds",
            "governance.max_quarterly_change_bps",
        ]
    ) == {
        "sale.creator_share.bronze_bps": 8000,
        "sale.creator_share.silver_bps": 8200,
        "sale.creator_share.gold_bps": 8500,
        "sale.creator_share.platinum_bps": 8800,
        "sale.network_fee_bps": 200,
        "sale.treasury_bps": 300,
        "sale.validator_pool_bps": 50,
        "escrow.refund_window_seconds": 7 * 86_400,
        "governance.max_quarterly_change_bps": 2000,
    }


def test_parameters_sync_is_idempotent_and_keeps_governed_values(user) -> None:
    parameter_set(key=KEY, value=110_000, changed_by=user)
    before = (Parameter.objects.count(), ParameterChange.objects.count())

    assert parameters_sync() == 0
    assert parameters_sync() == 0

    assert (Parameter.objects.count(), ParameterChange.objects.count()) == before
    assert value(KEY) == 110_000
    assert [change.new_value for change in history(KEY)] == [START, 110_000]


def test_parameters_sync_creates_a_new_catalog_entry_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ParameterSpec("test.new_parameter", "test", 42, "count", 0, 100, "Added by a later release.")
    monkeypatch.setattr("tokenomics.services.parameters.CATALOG", (*CATALOG, spec))

    assert parameters_sync() == 1
    assert parameters_sync() == 0

    parameter = Parameter.objects.get(key="test.new_parameter")
    assert (parameter.value, parameter.min_value, parameter.max_value) == (42, 0, 100)
    assert [(c.old_value, c.new_value) for c in history("test.new_parameter")] == [(None, 42)]


# --------------------------------------------------------------------------- reads and the cache


def test_parameter_get_reads_the_database_once_then_the_cache(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        assert parameter_get(KEY) == START
    with django_assert_num_queries(0):
        assert parameter_get(KEY) == START
    with django_assert_num_queries(0):
        assert parameters_get([KEY, KEY]) == {KEY: START}
    assert cache.get(parameter_cache_key(KEY)) == START


def test_parameters_get_fetches_only_the_missing_keys_in_one_query(django_assert_num_queries) -> None:
    parameter_get("sale.treasury_bps")
    with django_assert_num_queries(1):
        values = parameters_get(["sale.treasury_bps", "sale.network_fee_bps", "sale.validator_pool_bps"])
    assert values == {"sale.treasury_bps": 300, "sale.network_fee_bps": 200, "sale.validator_pool_bps": 50}


def test_a_committed_change_is_seen_by_the_next_read(
    user, django_capture_on_commit_callbacks, django_assert_num_queries
) -> None:
    assert parameter_get(KEY) == START  # now cached

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        parameter_set(key=KEY, value=115_000, changed_by=user)

    assert len(callbacks) == 1
    # The commit writes the new value into the cache, so even the first read needs no query.
    with django_assert_num_queries(0):
        assert parameter_get(KEY) == 115_000


def test_the_cache_is_cleared_only_when_the_change_commits(user, django_capture_on_commit_callbacks) -> None:
    assert parameter_get(KEY) == START

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        parameter_set(key=KEY, value=115_000, changed_by=user)

    # Not committed yet: readers keep the old cached value.
    assert parameter_get(KEY) == START
    for callback in callbacks:
        callback()
    assert parameter_get(KEY) == 115_000


@pytest.mark.parametrize("key", ["no.such.key", "", "SALE.TREASURY_BPS"])
def test_unknown_key_is_not_found(key: str) -> None:
    with pytest.raises(ParameterNotFound):
        parameter_get(key)
    with pytest.raises(ParameterNotFound) as excinfo:
        parameters_get(["sale.treasury_bps", key])
    assert excinfo.value.detail == {"keys": [key]}
    with pytest.raises(ParameterNotFound):
        parameter_set(key=key, value=1)
    assert not ParameterChange.objects.filter(parameter__key=key).exists()


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize("new_value", [9_401, 4_999, -1, 10**30])
def test_values_outside_the_bounds_are_refused_even_in_an_emergency(user, new_value: int) -> None:
    key = "sale.creator_share.bronze_bps"  # bounds 5000..9400
    before = ParameterChange.objects.count()

    with pytest.raises(ParameterOutOfBounds) as excinfo:
        parameter_set(key=key, value=new_value, changed_by=user)
    assert excinfo.value.detail == {"key": key, "min": "5000", "max": "9400"}
    with pytest.raises(ParameterOutOfBounds):
        parameter_set(key=key, value=new_value, changed_by=user, emergency=True)

    assert value(key) == 8_000
    assert ParameterChange.objects.count() == before


def test_the_bounds_themselves_are_allowed_in_an_emergency(user) -> None:
    key = "payout.instant_fee_bps"  # 150, bounds 0..1000, in no relation with other parameters
    parameter_set(key=key, value=1_000, emergency=True)
    assert value(key) == 1_000
    parameter_set(key=key, value=0, emergency=True)
    assert value(key) == 0


def test_a_change_breaking_a_relation_is_refused_even_in_an_emergency() -> None:
    before = ParameterChange.objects.count()
    # Platinum 88% + network fee 10% + treasury 3% + validators 0.5% would be over 100%.
    with pytest.raises(ParameterOutOfBounds) as excinfo:
        parameter_set(key="sale.network_fee_bps", value=1_000, emergency=True)
    assert excinfo.value.detail["keys"] == ["sale.network_fee_bps"]
    # Silver's share below Bronze's breaks the tier order.
    with pytest.raises(ParameterOutOfBounds):
        parameter_set(key="sale.creator_share.silver_bps", value=7_900, emergency=True)
    assert value("sale.network_fee_bps") == 200
    assert value("sale.creator_share.silver_bps") == 8_200
    assert ParameterChange.objects.count() == before


@pytest.mark.parametrize("new_value", [1.0, 110_000.0, Decimal(110_000), "110000", True, None], ids=repr)
def test_non_integer_values_are_refused(new_value: object) -> None:
    before = ParameterChange.objects.count()
    with pytest.raises(ParameterOutOfBounds):
        parameter_set(key=KEY, value=new_value)  # type: ignore[arg-type]
    assert value(KEY) == START
    assert ParameterChange.objects.count() == before


# --------------------------------------------------------------------------- the 20% limit per window


@pytest.mark.parametrize("new_value", [120_000, 80_000, 100_001, 119_999])
def test_a_change_of_up_to_20_percent_is_allowed(new_value: int) -> None:
    parameter_set(key=KEY, value=new_value)
    assert value(KEY) == new_value


@pytest.mark.parametrize("new_value", [120_010, 79_990, 120_001, 79_999, 999_999, 0])
def test_a_change_of_more_than_20_percent_is_refused(new_value: int) -> None:
    before = ParameterChange.objects.count()

    with pytest.raises(ParameterChangeTooLarge) as excinfo:
        parameter_set(key=KEY, value=new_value)

    assert excinfo.value.detail["reference_value"] == str(START)
    assert excinfo.value.detail["max_change_bps"] == 2_000
    assert value(KEY) == START
    assert ParameterChange.objects.count() == before


def test_two_15_percent_steps_inside_the_window_are_refused_then_allowed_after_it() -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        parameter_set(key=KEY, value=115_000)

        # The reference is the value one window ago (100,000): +32.25% is too much.
        traveller.move_to(start + timedelta(days=30))
        with pytest.raises(ParameterChangeTooLarge) as excinfo:
            parameter_set(key=KEY, value=132_250)
        assert excinfo.value.detail["reference_value"] == "100000"

        traveller.move_to(start + WINDOW - timedelta(seconds=1))
        with pytest.raises(ParameterChangeTooLarge):
            parameter_set(key=KEY, value=132_250)
        assert value(KEY) == 115_000

        # A window after the first step, the reference is 115,000 and +15% of it is fine.
        traveller.move_to(start + WINDOW + timedelta(seconds=1))
        parameter_set(key=KEY, value=132_250)
    assert value(KEY) == 132_250
    assert [change.new_value for change in history(KEY)] == [START, 115_000, 132_250]


def test_stepping_back_inside_the_window_is_measured_from_the_old_value() -> None:
    parameter_set(key=KEY, value=120_000)
    # 120,000 -> 100,000 is -16.7% of the current value, and 0% of the reference: allowed.
    parameter_set(key=KEY, value=100_000)
    assert value(KEY) == 100_000


def test_emergency_changes_bypass_the_limit_but_are_recorded_as_such(user) -> None:
    parameter_set(key=KEY, value=250_000, changed_by=user, reason="exploit", emergency=True)

    assert value(KEY) == 250_000
    last = history(KEY)[-1]
    assert (last.old_value, last.new_value, last.emergency, last.reason) == (START, 250_000, True, "exploit")
    # The emergency value does not become the reference: a normal change is still measured from
    # the value one window ago.
    with pytest.raises(ParameterChangeTooLarge):
        parameter_set(key=KEY, value=260_000)


def test_the_limit_follows_the_governed_limit_parameter(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        parameter_set(key="governance.max_quarterly_change_bps", value=1_600)  # -20%: allowed
    with pytest.raises(ParameterChangeTooLarge):
        parameter_set(key=KEY, value=117_000)  # +17% > 16%
    parameter_set(key=KEY, value=116_000)
    assert value(KEY) == 116_000


# --------------------------------------------------------------------------- history


def test_history_records_who_why_and_what(user) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        parameter_set(
            key=KEY, value=110_000, changed_by=user, proposal_ref="proposal:7", reason="Quarterly review"
        )
        changed_at = timezone.now()

    changes = history(KEY)
    assert len(changes) == 2
    change = changes[-1]
    assert change.old_value == START
    assert change.new_value == 110_000
    assert change.changed_by_id == user.pk
    assert change.proposal_ref == "proposal:7"
    assert change.reason == "Quarterly review"
    assert change.emergency is False
    assert change.changed_at == changed_at
    assert Parameter.objects.get(key=KEY).updated_at == changed_at


@pytest.mark.parametrize(
    ("reason", "proposal_ref"), [("x" * 256, ""), ("", "proposal:" + "9" * 72)], ids=["reason", "ref"]
)
def test_a_reason_or_reference_longer_than_its_column_is_refused(reason: str, proposal_ref: str) -> None:
    before = ParameterChange.objects.count()
    with pytest.raises(ParameterOutOfBounds):
        parameter_set(key=KEY, value=101_000, reason=reason, proposal_ref=proposal_ref)
    assert value(KEY) == START
    assert ParameterChange.objects.count() == before


def test_a_reason_and_reference_of_exactly_the_column_length_are_kept() -> None:
    parameter_set(key=KEY, value=101_000, reason="x" * 255, proposal_ref="p" * 80)
    last = history(KEY)[-1]
    assert (last.reason, last.proposal_ref) == ("x" * 255, "p" * 80)


def test_every_value_ever_held_is_in_the_history(user) -> None:
    start = timezone.now()
    values = [START]
    with time_machine.travel(start, tick=False) as traveller:
        for step, new_value in enumerate([105_000, 110_000, 104_000, 120_000]):
            traveller.move_to(start + timedelta(minutes=step + 1))
            parameter_set(key=KEY, value=new_value, changed_by=user)
            values.append(new_value)

    changes = history(KEY)
    assert [change.new_value for change in changes] == values
    assert [change.old_value for change in changes] == [None, *values[:-1]]
    assert value(KEY) == values[-1]


def test_a_read_racing_a_change_does_not_cache_the_old_value(
    user, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """A reader that read the old value from the database just before a change committed must not
    put it back into the cache after the change committed (the selector's comment says the TTL only
    matters for values set by hand in SQL).

    Interleaving, made deterministic: the reader misses the cache and reads 100,000; the change to
    110,000 commits and caches its value; only then does the reader store what it read.
    """
    from tokenomics.selectors import parameters as selector

    real_cache = selector.cache
    raced = False

    class RacingCache:
        def __getattr__(self, name: str):
            return getattr(real_cache, name)

        def _race(self, keys) -> None:
            nonlocal raced
            if not raced and parameter_cache_key(KEY) in keys:
                raced = True
                # The governed change commits (running its on_commit callbacks) between the
                # reader's query and its cache write.
                with django_capture_on_commit_callbacks(execute=True):
                    parameter_set(key=KEY, value=110_000, changed_by=user)

        def set_many(self, data, *args, **kwargs):
            self._race(data)
            return real_cache.set_many(data, *args, **kwargs)

        def set(self, key, *args, **kwargs):
            self._race([key])
            return real_cache.set(key, *args, **kwargs)

        def add(self, key, *args, **kwargs):
            self._race([key])
            return real_cache.add(key, *args, **kwargs)

    monkeypatch.setattr(selector, "cache", RacingCache())
    assert parameter_get(KEY) == START  # the reader got the value of its moment: fine
    monkeypatch.setattr(selector, "cache", real_cache)
    assert raced
    assert value(KEY) == 110_000

    # Every later read must see the committed value, not the one the racing reader cached.
    assert parameter_get(KEY) == 110_000


def test_shares_that_must_sum_to_100_move_together_in_one_change(
    user, django_capture_on_commit_callbacks
) -> None:
    # One at a time, neither change is possible: each alone breaks "sum to exactly 100%".
    with pytest.raises(ParameterOutOfBounds):
        parameter_set(key="compute.network_ops_bps", value=1_400, changed_by=user)
    with django_capture_on_commit_callbacks(execute=True):
        parameters_set(
            changes={"compute.network_ops_bps": 1_400, "compute.treasury_bps": 600},
            changed_by=user,
            proposal_ref="proposal:7",
            reason="rebalance",
        )
    assert (parameter_get("compute.network_ops_bps"), parameter_get("compute.treasury_bps")) == (1_400, 600)
    rows = ParameterChange.objects.filter(proposal_ref="proposal:7")
    assert sorted(rows.values_list("parameter__key", "old_value", "new_value")) == [
        ("compute.network_ops_bps", 1_500, 1_400),
        ("compute.treasury_bps", 500, 600),
    ]


def test_a_group_change_is_all_or_nothing() -> None:
    before = ParameterChange.objects.count()
    # The second change is over the quarterly limit (+40%), so the first must not land either.
    with pytest.raises(ParameterChangeTooLarge):
        parameters_set(changes={"compute.network_ops_bps": 1_300, "compute.treasury_bps": 700})
    assert (value("compute.network_ops_bps"), value("compute.treasury_bps")) == (1_500, 500)
    assert ParameterChange.objects.count() == before
