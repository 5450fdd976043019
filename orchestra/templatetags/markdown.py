"""`{% load markdown %}` then `{{ text|markdown }}`: agents' markdown, sanitised."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from orchestra.markdown import markdown_excerpt, render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    return render_markdown(text)


@register.filter(name="excerpt")
def excerpt_filter(text: str | None, chars: int = 160) -> str:
    """`{{ note.excerpt|excerpt:240 }}`: rendered markdown's words, trimmed (plain text)."""
    return markdown_excerpt(text, int(chars))
