"""Writes of the parameter registry: seeding from the catalog and governed changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tokenomics.errors import ParameterChangeTooLarge, ParameterNotFound, ParameterOutOfBounds
from tokenomics.models import Parameter, ParameterChange
from tokenomics.parameter_catalog import CATALOG, relation_violations
from tokenomics.selectors.parameters import CACHE_SECONDS, parameter_cache_key, parameters_get

MAX_CHANGE_KEY = "governance.max_quarterly_change_bps"
WINDOW_KEY = "governance.change_window_seconds"


def parameters_sync() -> int:
    """Create every catalog parameter missing from the database, with its first history row.

    Existing values are left alone (they may have been governed). Returns how many were created.
    Runs after every `migrate` (and after test flushes, which re-emit post_migrate).
    """
    existing = set(Parameter.objects.values_list("key", flat=True))
    now = timezone.now()
    created = 0
    with transaction.atomic():
        for spec in CATALOG:
            if spec.key in existing:
                continue
            parameter = Parameter.objects.create(
                key=spec.key,
                category=spec.category,
                value=spec.default,
                unit=spec.unit,
                min_value=spec.min_value,
                max_value=spec.max_value,
                description=spec.description,
            )
            ParameterChange.objects.create(
                parameter=parameter,
                old_value=None,
                new_value=spec.default,
                reason="Initial default",
                changed_at=now,
            )
            created += 1
    return created


def _value_at(parameter: Parameter, moment: datetime) -> int:
    """The value in effect at `moment` (the first value, if the parameter is younger than that)."""
    change = parameter.changes.filter(changed_at__lte=moment).order_by("-changed_at", "-id").first()
    if change is None:
        change = parameter.changes.order_by("changed_at", "id").first()
    value: int = change.new_value if change is not None else parameter.value
    return value


@dataclass(frozen=True)
class ParameterChangeCheck:
    """What a proposed change would do, checked now without writing (governance shows it and checks it
    when a proposal is submitted and again when it executes)."""

    key: str
    unit: str
    current: int
    proposed: int
    min_value: int
    max_value: int
    reference: int  # the value one change window ago, against which the quarterly limit is measured
    max_change_bps: int
    used_bps: int | None  # |proposed - reference| / |reference| in bps; None when the reference is 0
    beyond_limit: bool  # more than max_change_bps: only an emergency change may do it


def parameter_changes_check(changes: Mapping[str, int]) -> list[ParameterChangeCheck]:
    """Check `changes` as `parameters_set` would (unknown keys, bounds, relations between parameters)
    and measure each against the quarterly limit, without writing. Raises ParameterNotFound and
    ParameterOutOfBounds as `parameters_set` does; a change beyond the limit is reported, not raised."""
    if not changes:
        raise ParameterOutOfBounds("Name at least one parameter to change.")
    for key, value in changes.items():
        if type(value) is not int:
            raise ParameterOutOfBounds(
                "The value must be a whole number in the parameter's unit.", detail={"key": key}
            )
    limits = parameters_get([MAX_CHANGE_KEY, WINDOW_KEY])
    found = {p.key: p for p in Parameter.objects.filter(key__in=list(changes))}
    unknown = sorted(set(changes) - set(found))
    if unknown:
        raise ParameterNotFound(detail={"keys": unknown})
    proposed = dict(Parameter.objects.values_list("key", "value"))
    proposed.update(changes)
    broken = relation_violations(proposed)
    if broken:
        raise ParameterOutOfBounds(broken[0], detail={"keys": sorted(changes), "violations": broken})
    since = timezone.now() - timedelta(seconds=limits[WINDOW_KEY])
    checks = []
    for key, value in changes.items():
        parameter = found[key]
        if not parameter.min_value <= value <= parameter.max_value:
            raise ParameterOutOfBounds(
                detail={"key": key, "min": str(parameter.min_value), "max": str(parameter.max_value)}
            )
        reference = _value_at(parameter, since)
        moved = abs(value - reference) * 10_000
        checks.append(
            ParameterChangeCheck(
                key=key,
                unit=parameter.unit,
                current=parameter.value,
                proposed=value,
                min_value=parameter.min_value,
                max_value=parameter.max_value,
                reference=reference,
                max_change_bps=limits[MAX_CHANGE_KEY],
                used_bps=moved // abs(reference) if reference else None,
                beyond_limit=moved > abs(reference) * limits[MAX_CHANGE_KEY],
            )
        )
    return checks


def parameters_set(
    *,
    changes: Mapping[str, int],
    changed_by: User | None = None,
    proposal_ref: str = "",
    reason: str = "",
    emergency: bool = False,
) -> list[Parameter]:
    """Change several parameters together, all or none, recording who or which proposal did it.

    Together, because some parameters only move as a group (shares that must sum to 100%): the
    relations are checked on the combined result. Raises ParameterNotFound, ParameterOutOfBounds
    (outside a parameter's min/max, or breaking a relation between parameters), and
    ParameterChangeTooLarge when a value would move more than `governance.max_quarterly_change_bps`
    from what it was one change window ago, unless `emergency`. Caches the new values on commit.
    """
    if not changes:
        raise ParameterOutOfBounds("Name at least one parameter to change.")
    for key, value in changes.items():
        if type(value) is not int:
            raise ParameterOutOfBounds(
                "The value must be a whole number in the parameter's unit.", detail={"key": key}
            )
    if len(reason) > 255 or len(proposal_ref) > 80:
        raise ParameterOutOfBounds(
            "The reason is limited to 255 characters and the proposal reference to 80."
        )
    limits = parameters_get([MAX_CHANGE_KEY, WINDOW_KEY])
    with transaction.atomic():
        locked = {
            p.key: p
            for p in Parameter.objects.select_for_update().filter(key__in=list(changes)).order_by("pk")
        }
        unknown = sorted(set(changes) - set(locked))
        if unknown:
            raise ParameterNotFound(detail={"keys": unknown})
        for key, value in changes.items():
            parameter = locked[key]
            if not parameter.min_value <= value <= parameter.max_value:
                raise ParameterOutOfBounds(
                    detail={"key": key, "min": str(parameter.min_value), "max": str(parameter.max_value)}
                )
        proposed = dict(Parameter.objects.values_list("key", "value"))
        proposed.update(changes)
        broken = relation_violations(proposed)
        if broken:
            raise ParameterOutOfBounds(broken[0], detail={"keys": sorted(changes), "violations": broken})
        now = timezone.now()
        for key, value in changes.items():
            parameter = locked[key]
            if not emergency:
                reference = _value_at(parameter, now - timedelta(seconds=limits[WINDOW_KEY]))
                # |new - reference| <= reference * limit, in integers; a zero reference cannot move.
                if abs(value - reference) * 10_000 > abs(reference) * limits[MAX_CHANGE_KEY]:
                    raise ParameterChangeTooLarge(
                        detail={
                            "key": key,
                            "reference_value": str(reference),
                            "max_change_bps": limits[MAX_CHANGE_KEY],
                            "window_seconds": limits[WINDOW_KEY],
                        }
                    )
            ParameterChange.objects.create(
                parameter=parameter,
                old_value=parameter.value,
                new_value=value,
                changed_by=changed_by,
                proposal_ref=proposal_ref,
                reason=reason,
                emergency=emergency,
                changed_at=now,
            )
            parameter.value = value
            parameter.save(update_fields=["value", "updated_at"])
        new_values = {parameter_cache_key(key): value for key, value in changes.items()}
        # Set, not delete: a reader that read the old value before this commit uses cache.add,
        # which cannot overwrite what is set here.
        transaction.on_commit(lambda: cache.set_many(new_values, CACHE_SECONDS))
    return [locked[key] for key in changes]


def parameter_set(
    *,
    key: str,
    value: int,
    changed_by: User | None = None,
    proposal_ref: str = "",
    reason: str = "",
    emergency: bool = False,
) -> Parameter:
    """Change one parameter; see `parameters_set` for the rules and errors."""
    (parameter,) = parameters_set(
        changes={key: value},
        changed_by=changed_by,
        proposal_ref=proposal_ref,
        reason=reason,
        emergency=emergency,
    )
    return parameter
