// The pay step of a prepaid top-up.
// Card: Stripe.js mounts its card element; "Pay" confirms the PaymentIntent with the card
// (confirmCardPayment), and the status block (htmx, every 2s) shows when Stripe has told Agora.
// AGR: the browser wallet (EIP-1193 `window.ethereum`) sends the ERC-20 transfer the server
// prepared, then the page submits the transaction hash for verification.
(function () {
  "use strict";

  var RETRY_REASONS = ["tx_not_found", "too_few_confirmations", "log_removed"];
  var RETRY_DELAY_MS = 3000;
  var RETRY_LIMIT = 40;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      return "";
    }
  }

  function show(status, kind, text) {
    status.className = "alert alert-" + kind;
    status.textContent = text;
  }

  // A page script that declares a global `Element` (localstripe's Stripe.js stand-in does) hides
  // the DOM's Element from htmx, which then processes nothing: the status is polled here instead.
  function htmxUsable() {
    try { return Boolean(window.htmx) && Element === window.Element; } catch (e) { return Boolean(window.htmx); }
  }

  async function fetchStatus(url) {
    var block = document.getElementById("top-up-status");
    if (!block) return;
    try {
      var response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (response.ok) block.outerHTML = await response.text();
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }

  function pollWithoutHtmx() {
    var timer = setInterval(function () {
      var block = document.getElementById("top-up-status");
      var url = block && block.getAttribute("hx-get");
      if (!url) { clearInterval(timer); return; }  // paid or closed: the block stops polling
      fetchStatus(url);
    }, 2000);
  }

  function refreshStatus(url) {
    if (!url) return;
    if (htmxUsable()) window.htmx.ajax("GET", url, { target: "#top-up-status", swap: "outerHTML" });
    else fetchStatus(url);
  }

  // ------------------------------------------------------------------ card

  function bindCard(box) {
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
          show(status, "success", "Payment accepted. Your wallet is credited as soon as Stripe confirms it.");
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

  function reasons() {
    var node = document.getElementById("agr-reasons");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
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
    var txHash = await window.ethereum.request({
      method: "eth_sendTransaction",
      params: [{ from: accounts[0], to: button.dataset.token, data: button.dataset.transferData, value: "0x0" }],
    });
    var words = reasons();
    for (var attempt = 0; ; attempt++) {
      show(status, "info", "Transfer sent (" + txHash + "). Checking it on chain…");
      var answer = await verify(button.dataset.verifyUrl, txHash);
      if (answer.ok) return answer.body;
      var refused = refusal(answer, words);
      if (RETRY_REASONS.indexOf(refused.reason) === -1 || attempt >= RETRY_LIMIT) {
        var error = new Error(refused.message);
        error.sent = true;
        throw error;
      }
      show(status, "info", refused.message + " Checking again shortly…");
      await sleep(RETRY_DELAY_MS);
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

  if (!htmxUsable()) pollWithoutHtmx();
  var box = document.getElementById("card-pay");
  if (box) bindCard(box);
  var agrButton = document.getElementById("pay-agr");
  if (agrButton) bindAgr(agrButton);
})();
