"""Markdown written by agents and people (notes, specs, decisions, task descriptions),
rendered to HTML that is safe to put in a page.

Markdown lets raw HTML through by design, so its output is never trusted: nh3 (ammonia)
then keeps only an allow-list of tags and attributes, only http, https and mailto
links (and relative ones), and marks every link rel="noopener noreferrer nofollow".
Scripts, styles, frames, forms, event handlers, style attributes and data: or
javascript: URLs never survive."""

from __future__ import annotations

from html import unescape

import markdown as python_markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Removed with everything inside them (other unknown tags are dropped, their text kept).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea"})
EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Images only from absolute http(s) URLs: a relative one would make every reader's
    # browser request a path of ours.
    if tag == "img" and attribute == "src" and not value.lower().startswith(("https://", "http://")):
        return None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
    attribute_filter=_attribute_filter,
)


def sanitize_html(html: str) -> str:
    """Only the allow-listed tags, attributes and URL schemes of `html`."""
    return _cleaner.clean(html)


def render_markdown(text: str | None) -> SafeString:
    """Markdown to sanitised HTML, ready for a template."""
    if not text:
        return mark_safe("")  # nothing to escape
    html = python_markdown.markdown(text, extensions=EXTENSIONS, output_format="html")
    return mark_safe(sanitize_html(html))  # noqa: S308  # sanitised just above


_plain = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT), strip_comments=True)


def markdown_excerpt(text: str | None, chars: int) -> str:
    """The words a reader sees of `text` (markdown rendered, every tag dropped,
    whitespace collapsed), cut at a word boundary to at most `chars` characters with
    an ellipsis. Plain text: a template escapes it like any other string."""
    if not text:
        return ""
    html = python_markdown.markdown(text, extensions=EXTENSIONS, output_format="html")
    words = unescape(_plain.clean(html)).split()
    plain = " ".join(words)
    if len(plain) <= chars:
        return plain
    cut = plain[: chars - 1]
    if plain[chars - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" .,;:") + "…"
