// The live session page without reloading: polls live.json, updates the count, the state and the claim
// list (display names only). No framework, no inline script (the page's CSP forbids it). Without
// script the page still works: its Refresh link reloads it.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var statusUrl = root.getAttribute("data-status-url");
  var decideUrl = root.getAttribute("data-decide-url");
  var csrf = root.getAttribute("data-csrf");
  var refreshMs = parseInt(root.getAttribute("data-refresh-ms"), 10) || 3000;
  var shown = signature(null);
  var ACTIONS = { pending: [["approve", "Approve", "small"], ["reject", "Reject", "small secondary"]],
                  issued: [["revoke", "Revoke", "small secondary"]] };

  function signature(status) {
    if (!status) {
      var items = document.querySelectorAll("#claims li[data-status]");
      var parts = [];
      for (var i = 0; i < items.length; i++) { parts.push(items[i].getAttribute("data-status")); }
      return String(items.length) + ":" + parts.join(",");
    }
    return String(status.claims.length) + ":" + status.claims.map(function (c) { return c.status; }).join(",");
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node && value !== undefined && value !== null) { node.textContent = String(value); }
  }

  function claimItem(claim) {
    var li = document.createElement("li");
    li.setAttribute("data-status", claim.status);
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = claim.name;
    var status = document.createElement("span");
    status.className = "status";
    status.textContent = claim.status;
    li.appendChild(name);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(status);
    var actions = ACTIONS[claim.status];
    if (actions) {
      var form = document.createElement("form");
      form.method = "post";
      form.action = decideUrl + encodeURIComponent(claim.id);
      form.className = "inline claim-actions";
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrf;
      form.appendChild(token);
      actions.forEach(function (action) {
        var button = document.createElement("button");
        button.type = "submit";
        button.name = "decision";
        button.value = action[0];
        button.className = action[2];
        button.textContent = action[1];
        form.appendChild(button);
      });
      li.appendChild(form);
    }
    return li;
  }

  function apply(status) {
    setText("claimed", status.claimed);
    setText("cap", status.cap);
    setText("pending", status.pending);
    var state = status.ended && status.state !== "closed" ? "ended" : status.state;
    var node = document.getElementById("live-state");
    if (node && node.getAttribute("data-state") !== state) {
      // The buttons depend on the state: reload once so they match (no double submit possible).
      window.location.reload();
      return;
    }
    var next = signature(status);
    if (next === shown) { return; }
    shown = next;
    var list = document.getElementById("claims");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!status.claims.length) {
      var empty = document.createElement("li");
      empty.className = "empty hint";
      empty.textContent = "No claims yet.";
      list.appendChild(empty);
    }
    status.claims.forEach(function (claim) { list.appendChild(claimItem(claim)); });
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) { if (status) { apply(status); } })
      .catch(function () { /* offline for a moment: keep what is shown */ })
      .then(function () { window.setTimeout(poll, refreshMs); });
  }

  window.setTimeout(poll, refreshMs);
})();
