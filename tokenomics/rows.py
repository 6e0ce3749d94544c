"""Single-row reads and writes in plain SQL, for the money hot paths (holds, releases).

Each ORM query costs several times its round trip in Python (compiling the query, cloning
querysets; `benchmarks/ledger.py`), and a benchmark thread, like a web worker, is bound by that
Python time. These helpers build the same model instances the ORM would, with the same field
conversions both ways (`from_db_value`, the backend's converters, `get_db_prep_save`), from one
statement per model. Only for plain rows: no relations are followed or prefetched.

On PostgreSQL their statements, and the posting service's, run through `prepared_cursor()`: bound
on the server and prepared once per connection, so PostgreSQL parses and plans each of them once
instead of on every sale (about half of its CPU per release; `benchmarks/ledger_costs.py`).
Prepared statements live in the server session, so a connection pooler in front of PostgreSQL must
keep them (PgBouncer >= 1.21 with `max_prepared_statements`, or session pooling).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]
_readers: dict[tuple[type[models.Model], str], tuple[str, list[str], list[tuple[int, list[Converter]]]]] = {}


_NEVER_BY_COUNT = 2**31 - 1


class PreparedCursor(psycopg.Cursor[Any]):
    """A server-binding psycopg cursor that prepares every statement it executes."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = True, binary: bool | None = None
    ) -> PreparedCursor:
        super().execute(query, params, prepare=prepare, binary=binary)
        return self


def db() -> BaseDatabaseWrapper:
    """The default connection's wrapper, looked up once (each attribute of `django.db.connection`
    is a lookup in a context-local mapping, which adds up on a path that touches it dozens of times)."""
    return connections[DEFAULT_DB_ALIAS]


def prepared_cursor() -> CursorWrapper:
    """A cursor of the default connection whose statements PostgreSQL prepares once per connection
    (server-side binding: %s placeholders become $n; write a literal % as %%). Django's wrapping is
    kept (query logging, execute wrappers, error translation). Elsewhere, a plain cursor.

    Only for the fixed hot-path statements: each distinct text (and parameter types) is one
    prepared statement per connection (psycopg keeps the 100 most recent)."""
    connection = db()
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        session = connection.connection
        if session.prepare_threshold is None:
            # Django turns psycopg's preparing off (None); psycopg then ignores prepare=True too.
            # Its client-side cursors, which the ORM uses, never prepare whatever this says, and
            # PreparedCursor asks for each statement explicitly: the threshold itself is moot.
            session.prepare_threshold = _NEVER_BY_COUNT
        raw = PreparedCursor(session)
        # As DatabaseWrapper.create_cursor: the session's time zone, if the connection's differs.
        tzloader = session.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != tzloader.timezone:
            register_tzloader(connection.timezone, raw)
        # Django's wrapping, as DatabaseWrapper.cursor(): query logging, execute wrappers.
        connection.validate_thread_sharing()
        inner = cast(Any, raw)  # the stubs type the argument as Django's wrapper; it is a DB-API cursor
        if connection.queries_logged:
            return connection.make_debug_cursor(inner)
        return connection.make_cursor(inner)


def _quote(name: str | None) -> str:
    assert name is not None
    return db().ops.quote_name(name)


def _reader(model: type[models.Model]) -> tuple[str, list[str], list[tuple[int, list[Converter]]]]:
    """The SELECT list of `model`'s columns, their attnames and, per column, its converters (as
    the SQL compiler would apply them); computed once per model and database vendor."""
    connection = db()
    key = (model, connection.vendor)
    found = _readers.get(key)
    if found is None:
        fields = list(model._meta.concrete_fields)
        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(f"{table}.{_quote(f.column)}" for f in fields)
        converters = []
        for index, field in enumerate(fields):
            col = field.get_col(model._meta.db_table)
            chain = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
            if chain:
                converters.append((index, chain))
        found = _readers[key] = (columns, [f.attname for f in fields], converters)
    return found


def rows_select(model: type[M], where: str, params: Sequence[Any], *, lock: bool = False) -> list[M]:
    """Instances of `model` for `SELECT <its columns> FROM <its table> WHERE <where>` (a condition
    with %s placeholders, no user text), locked FOR UPDATE when `lock` (PostgreSQL; SQLite's
    IMMEDIATE transactions serialise writers instead)."""
    connection = db()
    columns, names, converters = _reader(model)
    sql = f"SELECT {columns} FROM {_quote(model._meta.db_table)} WHERE {where}"  # noqa: S608
    if lock and connection.vendor == "postgresql":
        sql += " FOR UPDATE"
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = list(row)
        for index, chain in converters:
            for converter in chain:
                values[index] = converter(values[index], None, connection)
        found.append(model.from_db(connection.alias, names, values))
    return found


def row_insert(
    instance: models.Model, *, computed: Mapping[str, tuple[str, Sequence[Any]]] | None = None
) -> None:
    """INSERT the unsaved `instance` (auto_now fields stamped, as `save()` does) and set its pk.
    `computed`: fields whose value is an SQL expression (with its own %s parameters) instead of the
    instance's, read back into the instance. No signals are sent: only for models that have no
    receivers."""
    connection = db()
    computed = computed or {}
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key or not isinstance(f, models.AutoField)]
    placeholders: list[str] = []
    values: list[Any] = []
    for f in fields:
        if f.name in computed:
            expression, params = computed[f.name]
            placeholders.append(expression)
            values.extend(params)
        else:
            placeholders.append("%s")
            values.append(f.get_db_prep_save(f.pre_save(instance, True), connection))
    pk = meta.pk
    assert pk is not None
    by_name = {f.name: f for f in fields}
    returned = [pk, *(by_name[name] for name in computed)]
    sql = (
        f"INSERT INTO {_quote(meta.db_table)} ({', '.join(_quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(placeholders)}) RETURNING {', '.join(_quote(f.column) for f in returned)}"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, values)
        new_pk, *new_values = cursor.fetchone()
    setattr(instance, pk.attname, new_pk)
    for name, value in zip(computed, new_values, strict=True):
        setattr(instance, name, value)
    instance._state.adding = False
    instance._state.db = connection.alias


def row_update(instance: models.Model, fields: Sequence[str]) -> None:
    """UPDATE these fields of the saved `instance` (its auto_now fields stamped, as
    `save(update_fields=...)` does). No signals are sent."""
    connection = db()
    meta = instance._meta
    chosen = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    chosen += [f for f in meta.concrete_fields if getattr(f, "auto_now", False) and f not in chosen]
    values = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in chosen]
    pk = meta.pk
    assert pk is not None
    sql = (
        f"UPDATE {_quote(meta.db_table)} SET "  # noqa: S608
        f"{', '.join(f'{_quote(f.column)} = %s' for f in chosen)} WHERE {_quote(pk.column)} = %s"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [*values, pk.get_db_prep_value(instance.pk, connection)])
