// The listing manage page: a progress bar for uploads sent through htmx.
//
// A form marked data-upload-progress shows its [data-upload-bar] while htmx sends it, filled from
// the request body's upload progress (xhr.upload, not the response's download progress, which htmx
// reports under the same htmx:xhr:progress name). The submit button is disabled by hx-disabled-elt;
// the section the server answers with replaces the form, bar and all.
(function () {
  "use strict";

  function uploadForm(elt) {
    return elt && elt.closest ? elt.closest("form[data-upload-progress]") : null;
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    var form = uploadForm(event.detail.elt);
    var xhr = event.detail.xhr;
    if (!form || !xhr || !xhr.upload) return;
    var box = form.querySelector("[data-upload-bar]");
    if (!box) return;
    var bar = box.querySelector("progress");
    var label = box.querySelector("[data-upload-label]");
    bar.value = 0;
    label.textContent = "Uploading…";
    box.hidden = false;
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable || !progress.total) return;
      var percent = Math.floor((progress.loaded * 100) / progress.total);
      bar.value = percent;
      label.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Uploaded; checking and encrypting…";
    });
  });

  // A failed request (network error, server error) leaves the form in place: say so and let the
  // creator try again instead of leaving a frozen bar.
  ["htmx:sendError", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var form = uploadForm(event.detail.elt);
      var box = form && form.querySelector("[data-upload-bar]");
      if (!box) return;
      box.querySelector("[data-upload-label]").textContent = "The upload failed. Check your connection and try again.";
    });
  });
})();
