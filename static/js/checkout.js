// The order page (the same approach as top_up.js, which stays the top-up's own).
// Card: Stripe.js mounts its card element; "Pay" confirms the order's PaymentIntent with the card
// (confirmCardPayment), and the status block (htmx, every 2s) shows when Stripe has told Agora.
// AGR: the browser wallet (EIP-1193 `window.ethereum`) sends the ERC-20 transfer the server
// prepared, then the page submits the transaction hash to the order's verification form.
// Once the order is paid the status answer asks for a reload (HX-Refresh), which shows the license,
// subscription or credit the payment bought.
// Anywhere on the page: [data-copy] buttons copy the text of the element their value selects.
(function () {
  "use strict";

  var RETRY_REASONS = ["tx_not_found", "too_few_confirmations", "log_removed"];
  var RETRY_DELAY_MS = 3000;
  var RETRY_LIMIT = 40;
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

  async function fetchStatus(url) {
    var block = document.getElementById("order-status");
    if (!block) return;
    try {
      var response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (!response.ok) return;
      if (response.headers.get("HX-Refresh")) { window.location.reload(); return; }
      block.outerHTML = await response.text();
    } catch (e) { /* offline for a moment: the next poll tries again */ }
  }

  function pollWithoutHtmx() {
    var timer = setInterval(function () {
      var block = document.getElementById("order-status");
      var url = block && block.getAttribute("hx-get");
      if (!url) { clearInterval(timer); return; }  // paid or closed: the block stops polling
      fetchStatus(url);
    }, POLL_MS);
  }

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

  function refreshStatus(url) {
    if (!url) return;
    if (htmxUsable()) window.htmx.ajax("GET", url, { target: "#order-status", swap: "outerHTML" });
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
          show(status, "success", "Payment accepted. This page updates as soon as Stripe confirms it.");
          refreshStatus(box.dataset.statusUrl);
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

  // Submit the hash through the order's own form and put its answer in place; the answer carries
  // the refusal's reason (data-reason) or, once paid, a redirect to the order page.
  async function submitHash(txHash) {
    var form = document.getElementById("tx-form");
    form.elements.tx_hash.value = txHash;
    var response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
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
    if (box && htmxUsable()) window.htmx.process(box);
    return { done: false, reason: (box && box.dataset.reason) || "" };
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
    for (var attempt = 0; ; attempt++) {
      show(status, "info", "Transfer sent (" + txHash + "). Checking it on chain…");
      var answer = await submitHash(txHash);
      if (answer.done) return true;
      if (RETRY_REASONS.indexOf(answer.reason) === -1 || attempt >= RETRY_LIMIT) {
        show(status, "error", "The transfer was sent but not accepted yet; see below.");
        return false;
      }
      await sleep(RETRY_DELAY_MS);
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

  if (document.getElementById("order-status") && !htmxUsable()) pollWithoutHtmx();
  var box = document.getElementById("card-pay");
  if (box) bindCard(box);
  var agrButton = document.getElementById("pay-agr");
  if (agrButton) bindAgr(agrButton);
})();
