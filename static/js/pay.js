// What every pay step shares (the top-up and the order page): the status block that follows a
// payment, the Stripe.js card form, and the EIP-1193 AGR transfer. Each page script adds only what
// it does with the answer. Exposed as window.AgoraPay.
(function () {
  "use strict";

  var POLL_MS = 2000;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      return "";
    }
  }

  function show(status, kind, text) {
    if (!status) return;
    status.className = "alert alert-" + kind;
    status.textContent = text;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // A page script that declares a global `Element` (localstripe's Stripe.js stand-in does) hides
  // the DOM's Element from htmx, which then processes nothing: the status is polled here instead.
  function htmxUsable() {
    try { return Boolean(window.htmx) && Element === window.Element; } catch (e) { return Boolean(window.htmx); }
  }

  // ------------------------------------------------------------------ status

  async function fetchStatus(blockId, url) {
    var block = document.getElementById(blockId);
    if (!block) return;
    try {
      var response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (!response.ok) return;
      if (response.headers.get("HX-Refresh")) { window.location.reload(); return; }
      block.outerHTML = await response.text();
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }

  // Without htmx, poll the block's own hx-get until it stops carrying one (paid or closed).
  function pollWithoutHtmx(blockId) {
    var timer = setInterval(function () {
      var block = document.getElementById(blockId);
      var url = block && block.getAttribute("hx-get");
      if (!url) { clearInterval(timer); return; }
      fetchStatus(blockId, url);
    }, POLL_MS);
  }

  function refreshStatus(blockId, url) {
    if (!url) return;
    if (htmxUsable()) window.htmx.ajax("GET", url, { target: "#" + blockId, swap: "outerHTML" });
    else fetchStatus(blockId, url);
  }

  // ------------------------------------------------------------------ card

  // Mount the card element in #card-element and confirm box.dataset.clientSecret with it when
  // #pay-card is clicked; `onAccepted` runs once Stripe has the payment (succeeded or processing).
  function bindCard(box, acceptedText, onAccepted) {
    var button = document.getElementById("pay-card");
    var status = document.getElementById("pay-status");
    if (typeof window.Stripe !== "function") {
      show(status, "error", "The card form could not be loaded. Check your connection and reload the page.");
      return;
    }
    var stripe = window.Stripe(box.dataset.publishableKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    card.on("change", function (event) {
      if (event && event.error) show(status, "error", event.error.message);
      else if (status.classList.contains("alert-error")) { status.className = ""; status.textContent = ""; }
    });
    button.disabled = false;
    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "info", "Confirming your payment with Stripe…");
      try {
        var result = await stripe.confirmCardPayment(box.dataset.clientSecret, { payment_method: { card: card } });
        if (result.error) {
          show(status, "error", result.error.message || "Your card was not charged. Check the details and try again.");
          button.disabled = false;
          return;
        }
        var state = result.paymentIntent && result.paymentIntent.status;
        if (state === "succeeded" || state === "processing") {
          show(status, "success", acceptedText);
          if (onAccepted) onAccepted();
        } else {
          show(status, "error", "The payment is not complete (" + state + "). Try again.");
          button.disabled = false;
        }
      } catch (error) {
        show(status, "error", (error && error.message) || String(error));
        button.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ AGR

  // Ask the browser wallet for an account on the button's chain and send the ERC-20 transfer the
  // server prepared (data-token, data-transfer-data); returns the transaction hash.
  async function sendAgrTransfer(button, status) {
    if (!window.ethereum) {
      throw new Error("No Ethereum wallet was found in this browser. Install one (for example MetaMask) and reload the page.");
    }
    var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) throw new Error("The wallet shared no account.");
    var expected = parseInt(button.dataset.chainId, 10);
    var actual = parseInt(await window.ethereum.request({ method: "eth_chainId" }), 16);
    if (actual !== expected) {
      throw new Error("Your wallet is on chain " + actual + ". Switch it to chain " + expected + " and try again.");
    }
    show(status, "info", "Approve the AGR transfer in your wallet…");
    return window.ethereum.request({
      method: "eth_sendTransaction",
      params: [{ from: accounts[0], to: button.dataset.token, data: button.dataset.transferData, value: "0x0" }],
    });
  }

  window.AgoraPay = {
    // Verification answers worth asking again after a pause (the transfer is still settling).
    RETRY_REASONS: ["tx_not_found", "too_few_confirmations", "log_removed"],
    RETRY_DELAY_MS: 3000,
    RETRY_LIMIT: 40,
    csrfToken: csrfToken,
    show: show,
    sleep: sleep,
    htmxUsable: htmxUsable,
    pollWithoutHtmx: pollWithoutHtmx,
    refreshStatus: refreshStatus,
    bindCard: bindCard,
    sendAgrTransfer: sendAgrTransfer,
  };
})();
