"""Markdown previews for the note and spec editors, rendered by the server with the same
sanitiser as every page (orchestra.markdown): what the preview shows is what the page
will show, and no script of the browser ever turns markdown into HTML.

Two ways in: the editor's Preview button (a plain form post that re-renders the editor
with the preview, for browsers without JavaScript) and `markdown_preview`, which
static/js/editor.js calls as the person types."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboard.context import writer_required
from dashboard.workplace.forms import PreviewForm
from orchestra.markdown import render_markdown


def preview_of(form: Any) -> SafeString | None:
    """The rendered content of an editor form whose Preview button was pressed."""
    if not form.wants_preview() or not form.is_valid():
        return None
    return render_markdown(form.cleaned_data["content"])


@never_cache
@require_POST
@writer_required
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The sanitised HTML of `content` (a fragment, for editor.js); CSRF-checked like
    every post. Too long a text is a 400 before anything is rendered."""
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("The text is too long to preview.", content_type="text/plain; charset=utf-8")
    html = render_markdown(form.cleaned_data["content"])
    response = HttpResponse(html or "", content_type="text/html; charset=utf-8")
    response["X-Robots-Tag"] = "noindex"
    return response
