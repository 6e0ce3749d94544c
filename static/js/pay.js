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

  // POST form fields to one of our own JSON endpoints; throws with the API error's message.
  async function postJson(url, fields) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields || {}),
    });
    var data = {};
    try { data = await response.json(); } catch (e) { /* not JSON: the status says enough */ }
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || "The server answered " + response.status + ". Try again.");
    }
    return data;
  }

  function stripeMessage(error) {
    var text = (error && error.message) || "";
    // localstripe's stand-in answers a malformed card with a bare "Bad request".
    if (!text || text === "Bad request") {
      return "The card details are incomplete or not valid. Check the number, expiry and CVC.";
    }
    return text;
  }

  // Mount the card element in #card-element; "Pay" (#pay-card) then
  //   1. saves the card: a SetupIntent from box.dataset.setupUrl, confirmed by Stripe.js
  //      (confirmCardSetup, which runs 3-D Secure when the card asks for it),
  //   2. asks the server to charge the payment with it (box.dataset.confirmUrl), and
  //   3. if the bank wants authentication for the charge, lets Stripe.js run it
  //      (confirmCardPayment with the intent's secret and no card data).
  // The same calls work with Stripe.js and with localstripe's stand-in (whose confirmCardPayment
  // cannot attach a card). `onAccepted` runs once the payment succeeded or is processing.
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

    function failed(text) {
      show(status, "error", text);
      button.disabled = false;
    }

    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "info", "Checking your card with Stripe…");
      try {
        var setup = await postJson(box.dataset.setupUrl);
        var saved = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
        if (saved.error || !saved.setupIntent) { failed(stripeMessage(saved.error)); return; }
        show(status, "info", "Charging your card…");
        var answer = await postJson(box.dataset.confirmUrl, { setup_intent: saved.setupIntent.id });
        if (answer.outcome === "declined") { failed(answer.message); return; }
        if (answer.outcome === "requires_action") {
          show(status, "info", "Your bank asks you to confirm this payment…");
          var confirmed = await stripe.confirmCardPayment(answer.client_secret);
          var state = confirmed.paymentIntent && confirmed.paymentIntent.status;
          if (confirmed.error || (state !== "succeeded" && state !== "processing")) {
            failed(confirmed.error ? stripeMessage(confirmed.error) : "The payment was not authenticated. Nothing was charged; try again.");
            return;
          }
        }
        show(status, "success", acceptedText);
        if (onAccepted) onAccepted();
      } catch (error) {
        failed((error && error.message) || String(error));
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
