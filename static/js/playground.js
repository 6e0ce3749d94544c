// The playground's 8×8 drawing pad (compute/playground.html): click or drag to ink a cell, Shift to
// erase; the hidden input holds the 8×8 JSON array the form sends. No inline handlers (CSP), no
// libraries; listeners are delegated from the document once, so htmx may load the partial again.
(function () {
  "use strict";
  if (window.agoraPlayground) return;
  window.agoraPlayground = true;

  var INK_MAX = 16;
  var INK_STEP = 8;
  var drawing = null; // {erase: bool} while the pointer is down on a pad

  function padOf(cell) { return cell.closest("[data-draw-pad]"); }

  function paint(cell, value) {
    cell.dataset.ink = String(value);
    cell.style.setProperty("--pad-ink", String(value / INK_MAX));
    var row = Number(cell.dataset.row) + 1;
    var col = Number(cell.dataset.col) + 1;
    cell.setAttribute("aria-label", "Row " + row + ", column " + col + ": ink " + value);
  }

  function sync(pad) {
    var grid = [[], [], [], [], [], [], [], []];
    pad.querySelectorAll(".pad-cell").forEach(function (cell) {
      grid[Number(cell.dataset.row)][Number(cell.dataset.col)] = Number(cell.dataset.ink) || 0;
    });
    var input = document.getElementById(pad.dataset.drawPad);
    if (input) input.value = JSON.stringify(grid);
  }

  function ink(cell, erase) {
    var value = Number(cell.dataset.ink) || 0;
    paint(cell, erase ? 0 : Math.min(INK_MAX, value + INK_STEP));
    sync(padOf(cell));
  }

  function init(root) {
    root.querySelectorAll(".pad-cell").forEach(function (cell) { paint(cell, Number(cell.dataset.ink) || 0); });
  }

  document.addEventListener("pointerdown", function (event) {
    var cell = event.target.closest && event.target.closest(".pad-cell");
    if (!cell) return;
    event.preventDefault();
    drawing = { erase: event.shiftKey || event.button === 2 };
    ink(cell, drawing.erase);
  });
  document.addEventListener("pointerover", function (event) {
    if (!drawing) return;
    var cell = event.target.closest && event.target.closest(".pad-cell");
    if (cell) ink(cell, drawing.erase);
  });
  document.addEventListener("pointerup", function () { drawing = null; });
  document.addEventListener("keydown", function (event) {
    var cell = event.target.closest && event.target.closest(".pad-cell");
    if (!cell || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    ink(cell, event.shiftKey);
  });
  document.addEventListener("click", function (event) {
    var clear = event.target.closest && event.target.closest("[data-pad-clear]");
    if (!clear) return;
    var pad = document.querySelector('[data-draw-pad="' + clear.dataset.padClear + '"]');
    if (!pad) return;
    pad.querySelectorAll(".pad-cell").forEach(function (cell) { paint(cell, 0); });
    sync(pad);
  });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
  init(document);
})();
