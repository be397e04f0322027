/* 我的线索: one shared "记跟进" form opened for the row clicked (without JS the link opens the
   lead page's form). No inline script (CSP); names are set with textContent. */
(function () {
  "use strict";
  var form = document.getElementById("quick-log");
  if (!form) { return; }
  var name = document.getElementById("quick-log-name");
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest(".quick-log-open") : null;
    if (!link) { return; }
    ev.preventDefault();
    form.setAttribute("action", link.getAttribute("data-action"));
    name.textContent = link.getAttribute("data-name");
    form.classList.remove("hidden");
    form.scrollIntoView({ block: "nearest" });
    var outcome = form.querySelector('input[name="outcome"]');
    if (outcome) { outcome.focus(); }
  });
  document.getElementById("quick-log-cancel").addEventListener("click", function () {
    form.classList.add("hidden");
  });
})();
