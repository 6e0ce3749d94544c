// "Copy" buttons: <button data-copy-target="element-id"> or <button data-copy="#css-selector">. A
// listener on the document (not an inline onclick, which the Content-Security-Policy refuses) so
// buttons swapped in by htmx work too. Without clipboard access (an insecure origin) the text is
// selected so the person can copy it.
document.addEventListener("click", async function (event) {
  var button = event.target.closest && event.target.closest("[data-copy-target], [data-copy]");
  if (!button) return;
  var source = button.dataset.copyTarget
    ? document.getElementById(button.dataset.copyTarget)
    : document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch (e) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Press Ctrl+C";
  }
});
