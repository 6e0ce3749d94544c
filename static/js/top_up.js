// The pay step of a prepaid top-up.
// Card: Stripe.js mounts its card element; "Pay" confirms the PaymentIntent with the card
// (confirmCardPayment), and the status block (htmx, every 2s) shows when Stripe has told Agora.
// AGR: the browser wallet (EIP-1193 `window.ethereum`) sends the ERC-20 transfer the server
// prepared, then the page submits the transaction hash for verification.
(function () {
  "use strict";

  var pay = window.AgoraPay;
  var show = pay.show;
  var STATUS = "top-up-status";

  function refreshStatus(url) { pay.refreshStatus(STATUS, url); }

  // ------------------------------------------------------------------ AGR

  function reasons() {
    var node = document.getElementById("agr-reasons");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  async function verify(url, txHash) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": pay.csrfToken() },
      body: JSON.stringify({ tx_hash: txHash }),
    });
    var body = {};
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    return { ok: response.ok, status: response.status, body: body };
  }

  function refusal(answer, words) {
    var error = (answer.body && answer.body.error) || {};
    var message = error.message || "The server refused the payment (" + answer.status + ").";
    var reason = error.detail && error.detail.reason;
    if (reason && words[reason]) message += " Reason: " + words[reason] + ".";
    return { message: message, reason: reason };
  }

  async function payWithWallet(button, status) {
    var txHash = await pay.sendAgrTransfer(button, status);
    var words = reasons();
    for (var attempt = 0; ; attempt++) {
      show(status, "info", "Transfer sent (" + txHash + "). Checking it on chain…");
      var answer = await verify(button.dataset.verifyUrl, txHash);
      if (answer.ok) return answer.body;
      var refused = refusal(answer, words);
      if (pay.RETRY_REASONS.indexOf(refused.reason) === -1 || attempt >= pay.RETRY_LIMIT) {
        var error = new Error(refused.message);
        error.sent = true;
        throw error;
      }
      show(status, "info", refused.message + " Checking again shortly…");
      await pay.sleep(pay.RETRY_DELAY_MS);
    }
  }

  function bindAgr(button) {
    var status = document.getElementById("pay-status");
    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "info", "Waiting for your wallet… approve the connection.");
      try {
        var payment = await payWithWallet(button, status);
        if (payment.status === "succeeded") {
          show(status, "success", "Payment received and verified on chain.");
        } else {
          show(status, "warning", "Transfer verified, but the top-up is not paid in full yet (" + payment.status + ").");
          button.disabled = false;
        }
      } catch (error) {
        show(status, "error", (error && error.message) || String(error));
        button.disabled = false;
      } finally {
        refreshStatus(button.dataset.statusUrl);
      }
    });
  }

  if (!pay.htmxUsable()) pay.pollWithoutHtmx(STATUS);
  var box = document.getElementById("card-pay");
  if (box) pay.bindCard(box, "Payment accepted. Your wallet is credited as soon as Stripe confirms it.");
  var agrButton = document.getElementById("pay-agr");
  if (agrButton) bindAgr(agrButton);
})();
