// The one script of the badge pages: a "Copy link" button. Without it the link stays readable and selectable.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById("copy-status");
  if (!field) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () { if (status) status.textContent = "Copied. Paste it into a message or an e-mail."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the link stays selected to copy by hand */ }
    }
  });
});
