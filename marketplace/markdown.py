"""Model cards in Markdown: the renderer and sanitiser live in core.markdown (governance renders
proposal bodies with them too, and may not import marketplace)."""

from __future__ import annotations

from core.markdown import render_model_card, sanitize_html

__all__ = ["render_model_card", "sanitize_html"]
