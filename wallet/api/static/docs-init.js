// Starts Swagger UI for /docs. Kept out of the page so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var overrides = JSON.parse(container.dataset.config || "{}");
  Object.keys(overrides).forEach(function (name) { config[name] = overrides[name]; });
  window.addEventListener("load", function () { window.ui = SwaggerUIBundle(config); });
})();
