"""The creator's running sales totals (`CreatorSales`): counted by every release and clawback under
the row's lock, so each sale is split at a tier that counts every sale committed before it."""

from __future__ import annotations

import json
from typing import Any, cast

from django.db.models import DateTimeField
from django.utils import timezone

from tokenomics.errors import ParameterNotFound
from tokenomics.models import Asset, CreatorSales, Parameter
from tokenomics.rows import db, prepared_cursor, row_update, rows_select
from tokenomics.selectors.parameters import parameters_get
from tokenomics.selectors.rates import SALE_RATE_PARAMETERS, sale_rates_at
from tokenomics.splits import SaleRates


def creator_sales_lock(creator_id: int) -> CreatorSales:
    """The creator's running sales totals, locked: releases and clawbacks of one creator queue here
    (and only here), so each is split at a tier that counts every sale committed before it."""
    found = rows_select(CreatorSales, "creator_id = %s", [creator_id], lock=True)
    if not found:
        # ON CONFLICT DO NOTHING: a concurrent first sale of the same creator may insert it too.
        CreatorSales.objects.bulk_create([CreatorSales(creator_id=creator_id)], ignore_conflicts=True)
        found = rows_select(CreatorSales, "creator_id = %s", [creator_id], lock=True)
    return found[0]


def creator_sales_add(totals: CreatorSales, *, asset: str, amount: int) -> None:
    """Count `amount` (negative for a clawback) into the locked totals."""
    field = sales_field(asset)
    setattr(totals, field, getattr(totals, field) + amount)
    row_update(totals, [field])


def sales_field(asset: str) -> str:
    return "net_usd" if asset == Asset.USD else "net_agr"


_CREATOR_SALES_TABLE = CreatorSales._meta.db_table
_SALES_UPDATED_AT = cast("DateTimeField[Any, Any]", CreatorSales._meta.get_field("updated_at"))
_SALES_AMOUNT = CreatorSales._meta.get_field("net_usd")  # net_agr: the same type


def creator_sales_count(creator_id: int, *, asset: str, amount: int) -> tuple[CreatorSales, dict[str, int]]:
    """`creator_sales_lock` and `creator_sales_add(amount)` in one statement (an UPDATE locks the
    row as FOR UPDATE does, and counts on its newest version): returns the totals as they were
    before `amount`, which the sale being released is split at, and the registry's
    `SALE_RATE_PARAMETERS` read by the same statement (exact; no cache round trip). The caller's
    transaction undoes the count if the sale is not posted."""
    field = sales_field(asset)
    connection = db()
    if connection.vendor != "postgresql":  # SQLite: the same, in three steps
        totals = creator_sales_lock(creator_id)
        before = CreatorSales(creator_id=creator_id, net_usd=totals.net_usd, net_agr=totals.net_agr)
        before._state.adding = False
        creator_sales_add(totals, asset=asset, amount=amount)
        return before, parameters_get(SALE_RATE_PARAMETERS)
    stamp = _SALES_UPDATED_AT.get_db_prep_value(timezone.now(), connection)
    delta = _SALES_AMOUNT.get_db_prep_value(amount, connection)
    # Only table and column names of ours are interpolated (hence the noqa).
    sql = (
        f"UPDATE {_CREATOR_SALES_TABLE} SET {field} = {field} + %s, updated_at = %s "  # noqa: S608
        "WHERE creator_id = %s RETURNING net_usd, net_agr, "
        f"(SELECT json_object_agg(key, value)::text FROM {Parameter._meta.db_table} WHERE key = ANY(%s))"
    )
    keys = list(SALE_RATE_PARAMETERS)
    for _ in range(2):
        with prepared_cursor() as cursor:
            cursor.execute(sql, [delta, stamp, creator_id, keys])
            row = cursor.fetchone()
        if row is not None:
            totals = CreatorSales(creator_id=creator_id, net_usd=int(row[0]), net_agr=int(row[1]))
            setattr(totals, field, getattr(totals, field) - amount)
            totals._state.adding = False
            values = {key: int(value) for key, value in json.loads(row[2] or "{}").items()}
            unknown = sorted(set(keys) - set(values))
            if unknown:
                raise ParameterNotFound(detail={"keys": unknown})
            return totals, values
        # The creator's first sale: ON CONFLICT DO NOTHING, a concurrent first sale may insert it too.
        CreatorSales.objects.bulk_create([CreatorSales(creator_id=creator_id)], ignore_conflicts=True)
    raise CreatorSales.DoesNotExist(f"no sales totals for creator {creator_id}")  # pragma: no cover


def sale_rates_of(totals: CreatorSales) -> SaleRates:
    return sale_rates_at(net_usd=totals.net_usd, net_agr=totals.net_agr)
