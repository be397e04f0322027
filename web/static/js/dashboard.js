/* 领导驾驶舱: the print button (no inline handlers under the CSP). */
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (t) { ev.preventDefault(); window.print(); }
  });
})();
