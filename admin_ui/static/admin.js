// The admin's only script. The pages work without it; it adds two conveniences:
// a status panel marked data-poll refreshes itself while an account is Connecting (and
// reloads the page when that ends, since the tabs change too),
// and buttons marked data-confirm ask before they submit.
(function () {
  "use strict";
  var POLL_MS = 3000;
  function poll(panel) {
    var body = panel.querySelector(".status-body");
    fetch(panel.getAttribute("data-poll"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var probe = document.createElement("div");
        probe.innerHTML = html;
        if (probe.querySelector(".badge-connecting")) {
          body.innerHTML = html;
          setTimeout(function () { poll(panel); }, POLL_MS);
        } else {
          window.location.reload();  // Connected (or an error): the tabs below change too
        }
      })
      .catch(function () { setTimeout(function () { poll(panel); }, POLL_MS * 5); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(function (panel) { setTimeout(function () { poll(panel); }, POLL_MS); });
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
