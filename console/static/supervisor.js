/* Supervisor pages: print buttons, and confirming a full export. No inline scripts (CSP). */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-print]");
    if (button) { ev.preventDefault(); window.print(); }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.hasAttribute && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    }
  });
}());
