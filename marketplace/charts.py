"""Moved to `core.charts` (the transparency page in tokenomics draws charts too, and tokenomics may
not import marketplace); this name stays for code written against it. Import from core.charts."""

from __future__ import annotations

from core.charts import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, Axis, Chart, Series, nice_step, value_axis

__all__ = ["HEIGHT", "MARGIN_BOTTOM", "MARGIN_TOP", "Axis", "Chart", "Series", "nice_step", "value_axis"]
