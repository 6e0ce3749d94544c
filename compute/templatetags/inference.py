"""Template filters of compute's pages."""

from __future__ import annotations

from django import template

register = template.Library()

MICRO_PER_USD = 1_000_000


@register.filter
def micro_usd(amount: object) -> str:
    """Micro-USD (10^-6 USD, a call's price) for display, exact: "$0.0012", "$1.50", "-$0.000004".
    At least two decimals, at most six, trailing zeros trimmed; integer arithmetic only."""
    if isinstance(amount, bool) or not isinstance(amount, int | str):
        return ""
    try:
        value = int(amount)
    except ValueError:
        return ""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), MICRO_PER_USD)
    decimals = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole:,}.{decimals}"


@register.filter
def percent_of(part: object, whole: object) -> int:
    """`part` as a whole percentage of `whole` (0-100) for bar widths; 0 when `whole` is 0."""
    try:
        p, w = float(str(part)), float(str(whole))
    except ValueError:
        return 0
    if w <= 0:
        return 0
    return max(0, min(100, round(p * 100 / w)))


@register.filter
def bps_multiplier(bps: object, style: str = "") -> str:
    """Basis points for display, exact: 12500 -> "1.25" (a multiplier), or with "percent"
    1000 -> "10%", 1250 -> "12.5%". Integer arithmetic only; "" for what is not an integer."""
    if isinstance(bps, bool) or not isinstance(bps, int):
        return ""
    sign = "-" if bps < 0 else ""
    if style == "percent":
        whole, fraction = divmod(abs(bps), 100)
        decimals = f"{fraction:02d}".rstrip("0")
        return f"{sign}{whole}{'.' + decimals if decimals else ''}%"
    whole, fraction = divmod(abs(bps), 10_000)
    decimals = f"{fraction:04d}".rstrip("0").ljust(1, "0")
    return f"{sign}{whole}.{decimals}"
