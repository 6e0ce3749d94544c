// The one pay step of every payment (an order, a top-up), driving templates/tokenomics/_pay_panel.html:
// - the status block ([data-pay-status], polled by htmx every 2 s, or here without htmx) follows
//   the payment; an order's answers HX-Refresh once paid, so the page shows what it bought;
// - card: Stripe.js mounts its card element; "Pay" saves the card (SetupIntent), asks the server
//   to charge it, and lets Stripe.js run 3-D Secure when the bank asks;
// - AGR: the browser wallet (EIP-1193 `window.ethereum`) sends the ERC-20 transfer the server
//   prepared, then the transaction hash goes to the payment's JSON verification endpoint
//   (data-verify-url), asked again while the transfer is still settling; a refusal shows the words
//   of its reason code (#agr-reasons, from tokenomics.errors.REASON_TEXT).
// Exposed as window.AgoraPay for the pages' tests.
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

  // Verification answers worth asking again after a pause (the transfer is still settling).
  var RETRY_REASONS = ["tx_not_found", "too_few_confirmations", "log_removed"];
  var RETRY_DELAY_MS = 3000;
  var RETRY_LIMIT = 40;
  // What a verified payment's owner may still be waiting for (a top-up paid in part).
  var NOT_YET = ["awaiting_payment", "processing", "failed"];

  function reasonWords() {
    var node = document.getElementById("agr-reasons");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  async function verify(url, txHash) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
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
    var txHash = await sendAgrTransfer(button, status);
    var words = reasonWords();
    for (var attempt = 0; ; attempt++) {
      show(status, "info", "Transfer sent (" + txHash + "). Checking it on chain…");
      var answer = await verify(button.dataset.verifyUrl, txHash);
      if (answer.ok) return answer.body;
      var refused = refusal(answer, words);
      if (RETRY_REASONS.indexOf(refused.reason) === -1 || attempt >= RETRY_LIMIT) throw new Error(refused.message);
      show(status, "info", refused.message + " Checking again shortly…");
      await sleep(RETRY_DELAY_MS);
    }
  }

  function bindAgr(button, blockId) {
    var status = document.getElementById("pay-status");
    button.addEventListener("click", async function () {
      button.disabled = true;
      show(status, "info", "Waiting for your wallet… approve the connection.");
      try {
        var paid = await payWithWallet(button, status);
        if (paid.redirect) {  // an order: its page shows what the payment bought
          show(status, "success", "Payment received and verified on chain.");
          stopPolling(blockId);
          window.location.assign(paid.redirect);
          return;
        }
        if (NOT_YET.indexOf(paid.status) === -1) {
          show(status, "success", "Payment received and verified on chain.");
        } else {
          show(status, "warning", "Transfer verified, but the payment is not complete yet (" + paid.status + ").");
          button.disabled = false;
        }
      } catch (error) {
        show(status, "error", (error && error.message) || String(error));
        button.disabled = false;
      }
      refreshStatus(blockId, button.dataset.statusUrl);
    });
  }

  // Leaving the page: a poll answered now would reload it a second time, and the second load
  // would no longer show the flash message the redirect carries.
  function stopPolling(blockId) {
    var block = blockId && document.getElementById(blockId);
    if (!block) return;
    var copy = block.cloneNode(true);  // a clone carries no htmx trigger
    copy.removeAttribute("hx-get");
    copy.removeAttribute("hx-trigger");
    block.replaceWith(copy);
  }

  function init() {
    var block = document.querySelector("[data-pay-status]");
    var blockId = block ? block.id : "";
    if (blockId && !htmxUsable()) pollWithoutHtmx(blockId);
    var box = document.getElementById("card-pay");
    if (box) {
      bindCard(box, box.dataset.acceptedText, function () {
        if (box.dataset.reloadOnAccept) window.location.reload();
        else refreshStatus(blockId, box.dataset.statusUrl);
      });
    }
    var agrButton = document.getElementById("pay-agr");
    if (agrButton) bindAgr(agrButton, blockId);
  }

  window.AgoraPay = {
    RETRY_REASONS: RETRY_REASONS,
    csrfToken: csrfToken,
    show: show,
    refreshStatus: refreshStatus,
  };
  init();
})();
