// Sign-In with Ethereum through the browser wallet (EIP-1193 `window.ethereum`).
// The server builds the exact EIP-4361 text for the wallet's address; the wallet signs it with
// personal_sign; the server checks every field, the single-use nonce and the signature.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      return "";
    }
  }

  function utf8Hex(text) {
    return "0x" + Array.from(new TextEncoder().encode(text), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  async function readJson(response) {
    var body = {};
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      var message = body && body.error ? body.error.message : "The server refused the request (" + response.status + ").";
      throw new Error(message);
    }
    return body;
  }

  async function signIn(options) {
    if (!window.ethereum) {
      throw new Error("No Ethereum wallet was found in this browser. Install one (for example MetaMask) and reload the page.");
    }
    var accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) throw new Error("The wallet shared no account.");
    var address = accounts[0];
    var chainId = parseInt(await window.ethereum.request({ method: "eth_chainId" }), 16);
    var challengeUrl = options.nonceUrl + "?address=" + encodeURIComponent(address) + "&chain_id=" + chainId;
    var challenge = await readJson(await fetch(challengeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } }));
    var signature = await window.ethereum.request({ method: "personal_sign", params: [utf8Hex(challenge.message), address] });
    return readJson(await fetch(options.submitUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ message: challenge.message, signature: signature }),
    }));
  }

  function bind(button) {
    var status = document.getElementById(button.dataset.status);
    button.addEventListener("click", async function () {
      button.disabled = true;
      status.className = "alert alert-info";
      status.textContent = "Waiting for your wallet… approve the connection, then sign the message.";
      try {
        var result = await signIn({ nonceUrl: button.dataset.nonceUrl, submitUrl: button.dataset.submitUrl });
        status.className = "alert alert-success";
        status.textContent = result.pending
          ? "Signature accepted. Enter your two-factor code on the next page."
          : button.dataset.successText || "Done.";
        if (result.redirect) window.location.assign(result.redirect);
        if (button.dataset.refreshUrl && window.htmx) {
          window.htmx.ajax("GET", button.dataset.refreshUrl, { target: button.dataset.refreshTarget, swap: "outerHTML" });
        }
      } catch (error) {
        status.className = "alert alert-error";
        status.textContent = (error && error.message) || String(error);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("[data-siwe]").forEach(bind);
})();
