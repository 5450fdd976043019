/* Live preview for the markdown editors (templates/web/dashboard/_editor.html).
 *
 * The server renders and sanitises the text (orchestra/markdown.py), exactly as the
 * saved page will show it: this file only sends the text and shows the answer. Without
 * JavaScript the editor's Preview button does the same with a plain form post.
 * Loaded as a file from our own origin (the CSP allows no inline handlers). */
(function () {
  "use strict";
  var DELAY_MS = 300;

  function enhance(form) {
    var source = form.querySelector("textarea[data-markdown]");
    var pane = document.getElementById(form.dataset.previewTarget);
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!source || !pane || !token || !window.fetch) { return; }
    var timer = null, sent = 0, shown = 0;

    function render() {
      var ticket = ++sent;
      var body = new URLSearchParams();
      body.set("content", source.value);
      fetch(form.dataset.previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value }
      }).then(function (response) {
        if (!response.ok) { throw new Error("preview " + response.status); }
        return response.text();
      }).then(function (html) {
        if (ticket < shown) { return; }  // an older answer arriving late
        shown = ticket;
        pane.innerHTML = html || '<p class="muted">Nothing to preview yet.</p>';
        pane.hidden = false;
        pane.classList.remove("stale");
      }).catch(function () {
        pane.classList.add("stale");
      });
    }

    source.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, DELAY_MS);
    });
    // With JavaScript, Preview refreshes the pane in place instead of posting the form.
    var button = form.querySelector("button[name=action][value=preview]");
    if (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        clearTimeout(timer);
        render();
      });
    }
    form.classList.add("live-preview");
    render();
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-preview-url]"), enhance);
})();
