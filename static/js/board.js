/* The project board, made immediate (progressive enhancement: without this file every
   card's "Move…" form still posts and the page reloads).

   - Drag a card to another column (HTML5 drag and drop), or focus a card, press
     ArrowLeft / ArrowRight to pick a column and Enter to move it (Escape cancels).
     Both post the card's own form (CSRF token included) and ask for JSON back.
   - Live: the activity feed's script announces every activity it hears as an
     "orchestra:activity" event; one about a task fetches the board again
     (?fragment=board, the same filters) and swaps it in, keeping the focused card.
   No build step, no library; HTML comes from the server, already escaped. */
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.fetch) { return; }
  var statusLine = document.getElementById("board-status");
  var errorLine = document.getElementById("board-message");
  var dragged = null;      // the card being dragged
  var picking = null;      // {card, index} while choosing a column by keyboard
  var stale = false;       // a refresh waits for the drag or the keyboard move to end
  var timer = null;
  var lastMoved = null;    // the id of the card a move focused, until focus goes elsewhere

  function announce(text) { if (statusLine) { statusLine.textContent = text; } }
  function showError(text) {
    if (!errorLine) { return; }
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }
  function columns() { return Array.prototype.slice.call(board.querySelectorAll(".column[data-status]")); }
  function columnOf(status) { return board.querySelector('.column[data-status="' + status + '"]'); }
  function cardOf(node) { return node && node.closest ? node.closest(".item[data-task]") : null; }
  function titleOf(card) { var link = card.querySelector("a"); return link ? link.textContent.trim() : "the task"; }
  function movable(card) { return card && card.querySelector("form.move-form"); }
  function busy() { return dragged !== null || picking !== null || board.querySelector("details.move[open]") !== null; }

  function clearTargets() {
    columns().forEach(function (column) { column.classList.remove("drop-target"); });
  }

  // --- Fetching the board again ---------------------------------------------------
  function refresh() {
    if (busy()) { stale = true; return; }
    stale = false;
    fetch(board.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        if (busy()) { stale = true; return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (!fresh) { return; }
        // Which card keeps focus is decided now, not when the fetch began: a person may
        // have focused another card meanwhile. The focused card, else (focus lost with a
        // swapped board or a card in flight) the card a move left focused.
        var active = document.activeElement;
        var focused = cardOf(active);
        var lost = !active || active === document.body;
        var focusId = focused && active === focused ? focused.id : (lost ? lastMoved : null);
        board.replaceChildren.apply(board, Array.prototype.slice.call(fresh.childNodes));
        var again = focusId && document.getElementById(focusId);
        if (again) { again.focus(); }
        board.dispatchEvent(new CustomEvent("board:refreshed", { bubbles: true }));
      })
      .catch(function () { /* the next change (or a reload) brings it */ });
  }
  // Focus moving anywhere else (a click, Tab) ends a moved card's claim on it.
  document.addEventListener("focusin", function (event) {
    if (lastMoved && event.target.id !== lastMoved) { lastMoved = null; }
  });
  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }
  function settle() { if (stale) { refreshSoon(); } }

  document.addEventListener("orchestra:activity", function (event) {
    if (event.detail && event.detail.target_type === "task") { refreshSoon(); }
  });

  // --- Moving a card ----------------------------------------------------------------
  function move(card, status) {
    var form = movable(card);
    if (!form || card.dataset.status === status) { return; }
    var column = columnOf(status);
    var title = titleOf(card);
    var data = new FormData(form);
    data.set("status", status);
    showError("");
    // Shown at once; the server's answer (and the refresh after it) has the last word.
    if (column) { column.appendChild(card); card.focus(); }
    lastMoved = card.id;
    announce("Moving " + title + "…");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (result.ok) {
          announce("Moved " + title + " to " + (column ? column.dataset.title : status) + ".");
        } else if (result.body.complete_url) {
          // Open subtasks: the completion page lists them and offers to close them too.
          window.location.assign(result.body.complete_url);
          return;
        } else {
          showError(title + " was not moved: " + (result.body.error || "refused"));
          announce(title + " was not moved.");
        }
        refresh();
      })
      .catch(function () {
        showError(title + " was not moved: the server could not be reached.");
        refresh();
      });
  }

  // Drag and drop (delegated: the board's contents are replaced by refreshes).
  board.addEventListener("dragstart", function (event) {
    var card = cardOf(event.target);
    if (!movable(card)) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.task);
  });
  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".column[data-status]");
    if (!dragged || !column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearTargets();
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column[data-status]");
    if (!dragged || !column) { return; }
    event.preventDefault();
    var card = dragged;
    endDrag();
    move(card, column.dataset.status);
  });
  function endDrag() {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearTargets();
  }
  board.addEventListener("dragend", function () { endDrag(); settle(); });

  // The keyboard: ArrowLeft / ArrowRight pick a column, Enter moves, Escape cancels.
  function pick(card, index) {
    var all = columns();
    index = Math.max(0, Math.min(all.length - 1, index));
    picking = { card: card, index: index };
    clearTargets();
    all[index].classList.add("drop-target");
    announce("Move " + titleOf(card) + " to " + all[index].dataset.title + ": press Enter, or Escape to cancel.");
  }
  function stopPicking() {
    picking = null;
    clearTargets();
  }
  board.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("item") || !movable(card)) { return; }
    var all = columns();
    var here = all.indexOf(card.closest(".column"));
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      var from = picking && picking.card === card ? picking.index : here;
      pick(card, from + (event.key === "ArrowRight" ? 1 : -1));
    } else if (event.key === "Enter" && picking && picking.card === card) {
      event.preventDefault();
      var target = all[picking.index].dataset.status;
      stopPicking();
      move(card, target);
    } else if (event.key === "Escape" && picking) {
      event.preventDefault();
      stopPicking();
      announce("Move cancelled.");
      settle();
    }
  });
  board.addEventListener("focusout", function (event) {
    if (picking && event.target === picking.card) { stopPicking(); settle(); }
  });
  // A "Move…" menu closed: a refresh held back meanwhile may run.
  board.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.move") && !event.target.open) { settle(); }
  }, true);
})();
