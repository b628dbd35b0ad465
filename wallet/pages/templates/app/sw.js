/* Learner Wallet service worker (scope "/"): what a learner opened stays viewable with no network.
 *
 * - pages (navigations): network first; a good answer is kept (unless it says Cache-Control: no-store);
 *   with no network the kept copy is shown, else the offline page. A claim link (/c/<token>) opened with
 *   no network always gets the offline page, whose script keeps the claim on the phone;
 * - badge images: cache first (an image at a URL does not change);
 * - the app's own script, style and icons: cache first, dropped when the version changes;
 * - nothing else (the API, forms, downloads) is touched.
 * Signing out clears every cache (the page's script and the server's Clear-Site-Data header).
 */
"use strict";
var VERSION = "{{ version }}";
var PAGES = "pages-v" + VERSION;
var IMAGES = "images-v" + VERSION;
var SHELL = "shell-v" + VERSION;
var SHELL_FILES = ["/app/offline", "/assets/app/app.css", "/assets/app/app.js", "/assets/app/icon-192.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return [PAGES, IMAGES, SHELL].indexOf(key) < 0; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected &&
    !/no-store/.test(response.headers.get("Cache-Control") || "");
}

function page(request) {
  var url = new URL(request.url);
  var claimLink = /^\/c\/[^/]+$/i.test(url.pathname);
  return fetch(request).then(function (response) {
    if (keepable(response) && !claimLink) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    var kept = claimLink ? Promise.resolve(undefined) : caches.match(request, { ignoreVary: true });
    return kept.then(function (hit) {
      return hit || caches.match("/app/offline").then(function (offline) {
        return offline || new Response("You're offline.", { status: 503, headers: { "Content-Type": "text/plain" } });
      });
    });
  });
}

function cacheFirst(request, name) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (keepable(response)) {
        var copy = response.clone();
        caches.open(name).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.destination === "image") { event.respondWith(cacheFirst(request, IMAGES)); return; }
  if (url.pathname.indexOf("/api/") === 0) return;
  if (request.mode === "navigate") { event.respondWith(page(request)); return; }
  if (url.pathname.indexOf("/assets/") === 0) { event.respondWith(cacheFirst(request, SHELL)); }
});
