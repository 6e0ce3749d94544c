"""Exact wide integers for money and other big numbers (AGR base units pass 2**63 at 9.2 AGR).

`WideIntegerField` holds any integer of up to 78 digits (a uint256 fits) and always reads back as a
Python `int`:
- PostgreSQL stores it as `numeric(78,0)`, so SUM and comparisons run in SQL, exactly.
- SQLite (the embedded demo database) stores it as TEXT, because SQLite's NUMERIC affinity would turn
  anything past 2**63 into a lossy float. Consequences kept in mind by callers:
  - sum these columns with `WideSum`, which runs an exact Python aggregate registered on every
    SQLite connection (see `core.apps`), never with plain `Sum`;
  - never filter or order by these columns with `<`/`>` in SQL: TEXT compares lexicographically.
    Comparing with 0 still tells the sign (a canonical "-…" sorts below "0", digits do not), which
    the CHECK constraints rely on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

MAX_DIGITS = 78


class WideIntegerField(models.Field):  # type: ignore[type-arg]
    description = "Exact integer of up to 78 digits"

    def get_internal_type(self) -> str:
        return "WideIntegerField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return f"numeric({MAX_DIGITS},0)"

    def cast_db_type(self, connection: BaseDatabaseWrapper) -> str:
        return self.db_type(connection)

    def to_python(self, value: Any) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        try:
            if isinstance(value, Decimal):
                if value != value.to_integral_value():
                    raise ValueError
                return int(value)
            return int(str(value).strip())
        except (TypeError, ValueError) as exc:
            raise ValidationError("Enter a whole number.", code="invalid") from exc

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> int | None:
        if value is None:
            return None
        return int(value)

    def get_prep_value(self, value: Any) -> Any:  # an int, None, or an expression
        value = super().get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        number = self.to_python(value)
        if number is not None and len(str(abs(number))) > MAX_DIGITS:
            raise ValidationError(f"At most {MAX_DIGITS} digits.", code="max_digits")
        return number

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        if connection.vendor == "sqlite":
            return str(value)  # canonical decimal text: exact, and its sign compares right with 0
        return Decimal(value)

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        defaults: dict[str, Any] = {"form_class": forms.IntegerField}
        defaults.update(kwargs)
        return super().formfield(**defaults)


class WideSum(models.Aggregate):
    """SUM over a WideIntegerField that stays exact on both databases; 0 when there are no rows."""

    function = "SUM"
    name = "WideSum"
    output_field = WideIntegerField()
    allows_default = True

    def __init__(self, *expressions: Any, **extra: Any) -> None:
        # SQL's SUM of no rows is NULL; a balance of nothing is 0.
        extra.setdefault("default", 0)
        super().__init__(*expressions, **extra)

    def as_sqlite(self, compiler: Any, connection: BaseDatabaseWrapper, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="agora_wide_sum", **extra)


class SqliteWideSum:
    """The Python aggregate behind `agora_wide_sum` on SQLite: exact integer sum, returned as text."""

    def __init__(self) -> None:
        self.total = 0
        self.rows = 0

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += int(value)
            self.rows += 1

    def finalize(self) -> str | None:
        return str(self.total) if self.rows else None
