"""Model cards: Markdown renders to HTML that keeps its structure and loses anything executable."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from marketplace.markdown import render_model_card, sanitize_html


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def tags(html: str) -> list[str]:
    return [tag for tag, _ in elements(html)]


def test_markdown_structure_is_kept():
    html = render_model_card(
        "# Llama tiny\n\n## Usage\n\nSome *emphasis*, **strong** and `code`.\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n---\n\n"
        "```python\nprint('hi')\n```\n"
    )
    assert tags(html) == [
        "h1", "h2", "p", "em", "strong", "code", "ul", "li", "li", "ol", "li", "li",
        "blockquote", "p", "hr", "pre", "code",
    ]  # fmt: skip
    assert "<h1>Llama tiny</h1>" in html
    assert "print(&#39;hi&#39;)" in html or "print('hi')" in html


def test_tables_render_with_alignment_only():
    html = render_model_card("| task | score |\n|:-----|------:|\n| MMLU | 71.2 |\n")
    assert tags(html) == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]
    styles = {attrs.get("style") for tag, attrs in elements(html) if tag in {"th", "td"}}
    assert styles == {"text-align:left", "text-align:right"}


def test_links_get_nofollow_noopener_and_keep_safe_schemes():
    html = render_model_card(
        "[site](https://example.com/a) [plain](http://example.com) [mail](mailto:a@b.co)"
    )
    links = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert [link["href"] for link in links] == [
        "https://example.com/a",
        "http://example.com",
        "mailto:a@b.co",
    ]
    assert {link["rel"] for link in links} == {"nofollow noopener"}


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
        "[x](/relative/path)",
    ],
)
def test_unsafe_and_relative_links_lose_their_href(source):
    html = render_model_card(source)
    for tag, attrs in elements(html):
        assert "href" not in attrs, (tag, attrs)
    assert "href=" not in html


def test_images_only_from_http_or_https():
    html = render_model_card(
        "![ok](https://img.example.com/a.png) ![mail](mailto:a@b.co) ![data](data:image/png;base64,AAAA)"
    )
    sources = [attrs.get("src") for tag, attrs in elements(html) if tag == "img"]
    assert sources == ["https://img.example.com/a.png", None, None]


def test_raw_html_is_not_rendered_as_html():
    html = render_model_card(
        '<script>alert(1)</script>\n\n<div onclick="steal()">x</div>\n\n'
        'Inline <b onmouseover="x()">bold</b> and <iframe src="https://evil.example"></iframe>\n'
    )
    assert {"script", "div", "b", "iframe"}.isdisjoint(tags(html))
    for _, attrs in elements(html):
        assert not any(name.startswith("on") for name in attrs)
    # The creator's text is still there, as text.
    assert "&lt;script&gt;" in html


def test_the_sanitiser_alone_strips_script_handlers_and_javascript_urls():
    # Defence in depth: even HTML that did not come from markdown-it is cleaned.
    html = sanitize_html(
        '<p onclick="x()">hi<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)" onmouseover="y()">a</a>'
        '<img src="https://ok.example/i.png" onerror="z()">'
        '<img src="javascript:alert(1)">'
        "<style>p{}</style><form><input name=q></form><iframe></iframe>"
    )
    found = elements(html)
    assert [tag for tag, _ in found] == ["p", "a", "img", "img"]
    for _, attrs in found:
        assert not any(name.startswith("on") for name in attrs)
    assert "alert" not in html
    assert found[1][1] == {"rel": "nofollow noopener"}
    assert found[2][1] == {"src": "https://ok.example/i.png"}
    assert found[3][1] == {}


def test_empty_card_renders_empty():
    assert render_model_card("") == ""
    assert render_model_card("   \n ") == ""
