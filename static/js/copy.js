// "Copy" buttons: <button data-copy-target="element-id">. A listener on the document (not an
// inline onclick, which the Content-Security-Policy refuses) so buttons swapped in by htmx work too.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-target]");
  if (!button || !navigator.clipboard) return;
  var source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  navigator.clipboard.writeText(source.textContent).then(function () {
    button.textContent = "Copied";
  });
});
