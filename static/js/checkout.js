// The order page, on the shared pay step of pay.js (window.AgoraPay).
// Card: Stripe.js mounts its card element; "Pay" confirms the order's PaymentIntent with the card
// (confirmCardPayment), and the status block (htmx, every 2s) shows when Stripe has told Agora.
// AGR: the browser wallet (EIP-1193 `window.ethereum`) sends the ERC-20 transfer the server
// prepared, then the page submits the transaction hash to the order's verification form.
// Once the order is paid the status answer asks for a reload (HX-Refresh), which shows the license,
// subscription or credit the payment bought.
// Anywhere on the page: [data-copy] buttons copy the text of the element their value selects.
(function () {
  "use strict";

  var pay = window.AgoraPay;
  var show = pay.show;
  var STATUS = "order-status";

  function refreshStatus(url) { pay.refreshStatus(STATUS, url); }

  // Leaving the page (a redirect after a verified payment): a poll answered now would reload
  // the page a second time, and the second load would no longer show the flash message.
  function stopPolling() {
    var block = document.getElementById("order-status");
    if (!block) return;
    var copy = block.cloneNode(true);  // a clone carries no htmx trigger
    copy.removeAttribute("hx-get");
    copy.removeAttribute("hx-trigger");
    block.replaceWith(copy);
  }

  // ------------------------------------------------------------------ AGR

  // Submit the hash through the order's own form and put its answer in place; the answer carries
  // the refusal's reason (data-reason) or, once paid, a redirect to the order page.
  async function submitHash(txHash) {
    var form = document.getElementById("tx-form");
    form.elements.tx_hash.value = txHash;
    var response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": pay.csrfToken() },
      body: new FormData(form),
    });
    var target = response.headers.get("HX-Redirect");
    if (target) {
      stopPolling();
      window.location.assign(target);
      return { done: true, reason: "" };
    }
    var box = document.getElementById("agr-verify");
    box.outerHTML = await response.text();
    box = document.getElementById("agr-verify");
    if (box && pay.htmxUsable()) window.htmx.process(box);
    return { done: false, reason: (box && box.dataset.reason) || "" };
  }

  async function payWithWallet(button, status) {
    var txHash = await pay.sendAgrTransfer(button, status);
    for (var attempt = 0; ; attempt++) {
      show(status, "info", "Transfer sent (" + txHash + "). Checking it on chain…");
      var answer = await submitHash(txHash);
      if (answer.done) return true;
      if (pay.RETRY_REASONS.indexOf(answer.reason) === -1 || attempt >= pay.RETRY_LIMIT) {
        show(status, "error", "The transfer was sent but not accepted yet; see below.");
        return false;
      }
      await pay.sleep(pay.RETRY_DELAY_MS);
    }
  }

  function bindAgr(button) {
    var status = document.getElementById("pay-status");
    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "info", "Waiting for your wallet… approve the connection.");
      var paid = false;
      try {
        paid = await payWithWallet(button, status);
        if (paid) show(status, "success", "Payment received and verified on chain.");
        else button.disabled = false;
      } catch (error) {
        show(status, "error", (error && error.message) || String(error));
        button.disabled = false;
      } finally {
        if (!paid) refreshStatus(button.dataset.statusUrl);  // paid: the page is being replaced
      }
    });
  }

  // ------------------------------------------------------------------ copy

  document.addEventListener("click", async function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch (e) {
      // No clipboard access (an insecure origin): select the text so the person can copy it.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Press Ctrl+C";
    }
  });

  if (document.getElementById(STATUS) && !pay.htmxUsable()) pay.pollWithoutHtmx(STATUS);
  var box = document.getElementById("card-pay");
  if (box) {
    pay.bindCard(box, "Payment accepted. This page updates as soon as Stripe confirms it.", function () {
      refreshStatus(box.dataset.statusUrl);
    });
  }
  var agrButton = document.getElementById("pay-agr");
  if (agrButton) bindAgr(agrButton);
})();
