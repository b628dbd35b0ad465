/* Learner Wallet web app: the little script the offline parts need. Everything else works without it.
 *
 * - registers the service worker (/sw.js) that keeps opened pages and badge images for offline use;
 * - a code typed (on /wallet/add) or a claim link opened (/c/<token>) with no network is kept in
 *   IndexedDB with the moment it was typed (scanned_at), and redeemed through POST /app/claims/redeem as
 *   soon as the network is back — on this page or the next one opened. The server judges every rule
 *   (the offline time limit too, wallet_protocol.claim_codes.OFFLINE_QUEUE_LIMIT_S); the learner is told
 *   the outcome. An item leaves the queue only when the server has answered it;
 * - signing out clears the caches and the queue, so nobody else's badges stay on a shared phone.
 */
(function () {
  "use strict";

  var DB_NAME = "learner-wallet";
  var body = document.body;
  var account = body ? body.getAttribute("data-account") || "" : "";

  /* --- The typed-code rule, repeated from wallet_protocol.claim_codes.normalise_fallback (a test checks
         that both agree on many inputs). Only for telling a typo at once, offline; the server decides. */
  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var CONFUSABLE = { O: "0", I: "1", L: "1" };
  var SEPARATORS = " \t\r\n-_.\u2010\u2011\u2012\u2013\u2014\u00a0";
  var FALLBACK_LENGTH = 9;

  function normaliseFallback(text) {
    if (typeof text !== "string" || Array.from(text).length > 64) return { error: "malformed" };
    var chars = [];
    var list = Array.from(text);
    for (var i = 0; i < list.length; i++) {
      var ch = list[i];
      if (SEPARATORS.indexOf(ch) >= 0) continue;
      if (ch.charCodeAt(0) > 127 || ch.length > 1) return { error: "malformed" };
      var upper = ch.toUpperCase();
      upper = CONFUSABLE[upper] || upper;
      if (ALPHABET.indexOf(upper) < 0) return { error: "malformed" };
      chars.push(upper);
    }
    if (chars.length !== FALLBACK_LENGTH) return { error: "malformed" };
    var sum = 0;
    for (var j = 0; j < chars.length; j++) sum = (sum + (j + 1) * ALPHABET.indexOf(chars[j])) % 37;
    if (sum !== 0) return { error: "bad_check" };
    return { code: chars.join("") };
  }

  function claimToken(text) {
    /* A pasted claim link of this wallet: /c/<token> on this origin (the server checks the token). */
    var url;
    try { url = new URL(text.trim()); } catch (e) { return { error: "malformed" }; }
    if (url.origin !== location.origin) return { error: "untrusted_host" };
    var match = /^\/c\/([^/]+)$/i.exec(url.pathname);
    return match && !url.search && !url.hash ? { code: match[1] } : { error: "malformed" };
  }

  window.LearnerWallet = { normaliseFallback: normaliseFallback, claimToken: claimToken };

  /* --- IndexedDB: the queue of claims and the outcomes still to tell ---------------------------- */

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("claims", { keyPath: "id", autoIncrement: true });
        db.createObjectStore("outcomes", { keyPath: "id", autoIncrement: true });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function tx(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  function all(store) { return tx(store, "readonly", function (s) { return s.getAll(); }); }
  function add(store, value) { return tx(store, "readwrite", function (s) { return s.add(value); }); }
  function remove(store, id) { return tx(store, "readwrite", function (s) { return s.delete(id); }); }

  /* --- Telling the learner ----------------------------------------------------------------------- */

  function say(text, kind) {
    var box = document.getElementById("queue-status");
    if (!box) return;
    var p = document.createElement("p");
    p.className = kind === "bad" ? "error" : "notice";
    p.textContent = text;
    box.appendChild(p);
  }

  function tellOutcomes() {
    return all("outcomes").then(function (items) {
      items.forEach(function (item) { say(item.text, item.kind); remove("outcomes", item.id); });
    });
  }

  function until(ms) {
    var hours = Number(body.getAttribute("data-queue-limit-hours")) || 0;
    var at = new Date(ms + hours * 3600 * 1000);
    return at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
  }

  function keep(code, pin, label) {
    var now = Date.now();
    var owner = account;
    try { owner = owner || localStorage.getItem("account") || ""; } catch (e) { /* private mode */ }
    return add("claims", { code: code, pin: pin || null, scanned_at: now, account: owner, label: label })
      .then(function () {
        say("No connection: we kept " + label + " on your phone and will claim it when you're back online " +
            "(before " + until(now) + ").");
      });
  }

  /* --- Redeeming what was kept ------------------------------------------------------------------- */

  var flushing = false;

  function flush() {
    if (flushing || !navigator.onLine || !account) return Promise.resolve();
    flushing = true;
    return all("claims").then(function (items) {
      var mine = items.filter(function (item) { return !item.account || item.account === account; });
      return mine.reduce(function (chain, item) { return chain.then(function () { return redeem(item); }); },
                         Promise.resolve());
    }).catch(function () {}).then(function () { flushing = false; });
  }

  function redeem(item) {
    var payload = { code: item.code, scanned_at: item.scanned_at };
    if (item.pin) payload.pin = item.pin;
    return fetch("/app/claims/redeem", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": body.getAttribute("data-csrf") || "" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        var status = response.status;
        if (status === 200 || status === 202) {
          var text = status === 202
            ? "Sent: the youth worker will approve " + (answer.badge || "your badge") + " soon."
            : (answer.repeat ? "You already have " : "Claimed: ") + (answer.badge || "your badge") + " is in your wallet.";
          return settle(item, text, "ok");
        }
        if (status === 401) { say("Sign in to claim the code you kept on this phone.", "bad"); return; }
        if (status === 429 || status >= 500 || (status === 403 && answer.code === "auth.forbidden")) return;
        var detail = answer.detail || "That code could not be claimed.";
        return settle(item, "The code you kept (" + item.label + ") was not claimed: " + detail, "bad");
      });
    }).catch(function () { /* no network after all: it stays queued */ });
  }

  function settle(item, text, kind) {
    return add("outcomes", { text: text, kind: kind }).then(function () { return remove("claims", item.id); })
      .then(tellOutcomes).then(function () {
        if (kind === "ok" && location.pathname === "/wallet") location.reload();
      });
  }

  /* --- Forms and pages --------------------------------------------------------------------------- */

  function onClaimSubmit(event) {
    if (navigator.onLine) return;
    event.preventDefault();
    var form = event.target;
    var text = form.elements.code.value;
    var parsed = text.indexOf("/") >= 0 ? claimToken(text) : normaliseFallback(text);
    if (parsed.error) {
      say(parsed.error === "bad_check" ? "A character looks mistyped; check the code."
        : parsed.error === "untrusted_host" ? "That link is for another website, not this wallet."
        : "A code has nine letters and digits, like K7Q-M3X-PDR.", "bad");
      return;
    }
    var label = text.indexOf("/") >= 0 ? "the claim link" : "code " + parsed.code.replace(/(...)(?=.)/g, "$1-");
    keep(parsed.code, form.elements.pin && form.elements.pin.value, label).then(function () { form.reset(); });
  }

  function offlineClaimPage() {
    var box = document.querySelector("[data-offline-claim]");
    var match = /^\/c\/([^/]+)$/i.exec(location.pathname);
    if (!box || !match) return;
    var message = box.querySelector("[data-offline-message]");
    if (message) message.textContent = "You opened a claim link with no connection.";
    keep(match[1], null, "this claim link");
  }

  function clearEverything() {
    var jobs = [];
    if (window.caches) jobs.push(caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) { return caches.delete(key); }));
    }));
    jobs.push(new Promise(function (resolve) {
      var request = indexedDB.deleteDatabase(DB_NAME);
      request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
    }));
    try { localStorage.clear(); } catch (e) { /* private mode */ }
    return Promise.all(jobs);
  }

  function onSignOut(event) {
    var form = event.target;
    if (form.getAttribute("data-cleared")) return;
    event.preventDefault();
    form.setAttribute("data-cleared", "1");
    clearEverything().catch(function () {}).then(function () { form.submit(); });
  }

  function showOnline() {
    var banner = document.getElementById("offline-banner");
    if (banner) banner.hidden = navigator.onLine;
  }

  function start() {
    showOnline();
    window.addEventListener("online", function () { showOnline(); flush(); });
    window.addEventListener("offline", showOnline);
    document.querySelectorAll("[data-claim-form]").forEach(function (form) {
      form.addEventListener("submit", onClaimSubmit);
    });
    document.querySelectorAll("form[data-sign-out]").forEach(function (form) {
      form.addEventListener("submit", onSignOut);
    });
    var before = "";
    try { before = localStorage.getItem("account") || ""; } catch (e) { /* private mode */ }
    if (before && before !== account && window.caches) {
      /* Signed out elsewhere (revoked, password changed): pages of that account must not stay here. */
      caches.keys().then(function (keys) { keys.forEach(function (key) { caches.delete(key); }); });
    }
    try { if (account) localStorage.setItem("account", account); else localStorage.removeItem("account"); } catch (e) {}
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    offlineClaimPage();
    tellOutcomes().then(flush);
  }

  if (body && window.indexedDB) start();
})();
