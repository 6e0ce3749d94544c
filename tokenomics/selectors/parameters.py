"""Reads of the parameter registry; every economic number in code comes through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from tokenomics.errors import ParameterNotFound
from tokenomics.models import Parameter, ParameterChange

# Changes write the new value on commit, so the TTL only bounds the life of a value set by hand in SQL.
CACHE_SECONDS = 300


def parameter_cache_key(key: str) -> str:
    return f"param:{key}"


def parameters_get(keys: Iterable[str]) -> dict[str, int]:
    """Current values of these parameters (one cache round trip when warm).

    Raises ParameterNotFound if any key is unknown.
    """
    wanted = list(dict.fromkeys(keys))
    cached = cache.get_many([parameter_cache_key(key) for key in wanted])
    values = {key: cached[parameter_cache_key(key)] for key in wanted if parameter_cache_key(key) in cached}
    missing = [key for key in wanted if key not in values]
    if missing:
        found = dict(Parameter.objects.filter(key__in=missing).values_list("key", "value"))
        unknown = sorted(set(missing) - set(found))
        if unknown:
            raise ParameterNotFound(detail={"keys": unknown})
        for key, value in found.items():
            # add, not set: if a change committed after our read, its value is already there.
            cache.add(parameter_cache_key(key), value, CACHE_SECONDS)
        values.update(found)
    return values


def parameter_get(key: str) -> int:
    """The current value of one parameter, in its unit; ParameterNotFound if unknown."""
    return parameters_get([key])[key]


def parameter_list(*, category: str | None = None) -> QuerySet[Parameter]:
    """Every parameter with its history (newest change first)."""
    queryset = Parameter.objects.prefetch_related(
        Prefetch(
            "changes",
            queryset=ParameterChange.objects.select_related("changed_by").order_by("-changed_at", "-id"),
        )
    ).order_by("category", "key")
    if category:
        queryset = queryset.filter(category=category)
    return queryset


def parameter_categories() -> list[str]:
    return list(Parameter.objects.order_by("category").values_list("category", flat=True).distinct())
