// Keeps the projector display current: polls the status endpoint, swaps the QR when it rotates,
// and updates the live count. No framework, no inline script (the page's CSP forbids it).
(function () {
  "use strict";
  var root = document.getElementById("display");
  if (!root) { return; }
  var statusUrl = root.getAttribute("data-status-url");
  var refreshMs = parseInt(root.getAttribute("data-refresh-ms"), 10) || 3000;

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) { node.textContent = String(value); }
  }

  function apply(status) {
    setText("claimed", status.claimed);
    setText("cap", status.cap);
    setText("fallback", status.fallback);
    setText("pin", status.pin);
    root.setAttribute("data-state", status.state);
    var cover = document.getElementById("qr-cover");
    if (cover) {
      cover.textContent = status.state === "paused" ? "Paused \u2014 wait a moment"
        : status.state === "closed" ? "This session is closed" : "";
    }
    var state = document.getElementById("state");
    if (state) {
      state.setAttribute("data-state", status.state);
      state.textContent = status.state === "open" ? "" : status.state;
    }
    var qr = document.getElementById("qr");
    if (qr && status.qr && qr.getAttribute("data-step") !== String(status.step || 0)) {
      qr.setAttribute("data-step", String(status.step || 0));
      qr.src = status.qr;
    }
    refreshMs = status.refresh_ms || refreshMs;
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status) { apply(status); } })
      .catch(function () { /* offline for a moment: keep showing the last code */ })
      .then(function () { window.setTimeout(poll, refreshMs); });
  }

  window.setTimeout(poll, refreshMs);
})();
