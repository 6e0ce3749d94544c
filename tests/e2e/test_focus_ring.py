"""A keyboard user can see where the focus is (issue 12, item 10): the ring was a 30%-opaque tint.

Measured in Chromium on the shipped stylesheet: every element reached with Tab on the log-in page
draws a solid outline at least 2px wide whose colour contrasts at least 3:1 with the page behind it
(WCAG 2.2, 1.4.11 non-text contrast).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

FOCUSED_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  // The colour behind the element: the first ancestor with an opaque background.
  let bg = 'rgb(255, 255, 255)';
  for (let node = el.parentElement; node; node = node.parentElement) {
    const c = getComputedStyle(node).backgroundColor;
    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; }
  }
  return {tag: el.tagName, name: el.getAttribute('name') || el.textContent.trim().slice(0, 30),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth), color: style.outlineColor, bg};
}"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", css)]
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0)


def _luminance(rgb: tuple[float, float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_element_reached_by_tab_shows_a_solid_high_contrast_ring(page: Page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    seen = []
    for _ in range(14):  # skip link, header links, the form's fields and button
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_STYLE)
        if focused["tag"] == "BODY":
            break
        seen.append(focused)
        color = _rgba(focused["color"])
        assert focused["style"] == "solid", focused
        assert focused["width"] >= 2, focused
        assert color[3] == 1.0, focused  # opaque: a translucent tint is what was too faint
        assert _contrast(color, _rgba(focused["bg"])) >= 3, focused
    tags = {f["tag"] for f in seen}
    assert {"A", "INPUT", "BUTTON"} <= tags, seen
