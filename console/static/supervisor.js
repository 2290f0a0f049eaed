/* Supervisor pages: print buttons. No inline scripts (CSP). Forms with data-confirm are
   confirmed by console.js, which every page loads. */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-print]");
    if (button) { ev.preventDefault(); window.print(); }
  });
}());
