"""Model cards: Markdown as the creator wrote it, rendered to HTML that is safe to show anyone.

Two layers, so a gap in one is caught by the other: markdown-it-py renders CommonMark (plus
tables) with raw HTML switched off, so `<script>` in the source comes out as text; nh3 (ammonia)
then keeps only an allow-list of tags and attributes, and only absolute http(s)/mailto links and
http(s) images.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "ul",
        "ol",
        "li",
        "code",
        "pre",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "a",
        "em",
        "strong",
        "blockquote",
        "hr",
        "img",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
    # markdown-it writes a table column's alignment as style="text-align:…"; only that property stays.
    "th": frozenset({"style"}),
    "td": frozenset({"style"}),
}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
# Content that is dropped together with its tag, not kept as text.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})


def _url_allowed(tag: str, attribute: str, value: str) -> str | None:
    """Keep a link or image URL only with an allowed scheme (relative URLs are denied below)."""
    if (tag, attribute) == ("a", "href"):
        schemes = LINK_SCHEMES
    elif (tag, attribute) == ("img", "src"):
        schemes = IMAGE_SCHEMES
    else:
        return value
    return value if urlsplit(value.strip()).scheme.lower() in schemes else None


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_url_allowed,
    link_rel="nofollow noopener",
    url_schemes=LINK_SCHEMES,
    url_relative="deny",
    filter_style_properties=frozenset({"text-align"}),
)


def sanitize_html(html: str) -> str:
    """`html` with everything outside the allow-list removed. No side effects."""
    return _cleaner.clean(html)


def render_model_card(text: str) -> str:
    """Sanitised HTML for a model card written in Markdown; "" for an empty card. No side effects."""
    if not text.strip():
        return ""
    return sanitize_html(_markdown.render(text))


def render_markdown(text: str) -> str:
    """Sanitised HTML for any user-written Markdown (a proposal's body, a comment); "" if empty."""
    return render_model_card(text)
