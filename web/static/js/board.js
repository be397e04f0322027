/* 团队看板: tick a whole column, count the ticked cards, confirm bulk actions. No inline script (CSP). */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var counter = document.getElementById("bulk-count");

  function picked() { return document.querySelectorAll('input.pick[form="bulk-form"]:checked'); }
  function update() { if (counter) { counter.textContent = "已选 " + picked().length + " 条"; } }

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.classList && t.classList.contains("pick-all")) {
      var column = t.getAttribute("data-column");
      document.querySelectorAll('input.pick[data-column="' + CSS.escape(column) + '"]').forEach(function (box) {
        box.checked = t.checked;
      });
    }
    if (t.classList && (t.classList.contains("pick") || t.classList.contains("pick-all"))) { update(); }
  });

  form.addEventListener("submit", function (ev) {
    var n = picked().length;
    var action = form.querySelector('select[name="action"]');
    var label = action && action.selectedIndex > 0 ? action.options[action.selectedIndex].text : "";
    if (n === 0) { ev.preventDefault(); window.alert("请先勾选线索。"); return; }
    if (!window.confirm("确定对 " + n + " 条线索执行「" + label + "」？")) { ev.preventDefault(); }
  });
  update();
})();

/* One shared assign form, opened for the card clicked (without JS the link opens the lead page's
   assign form). The company name is set with textContent. */
(function () {
  "use strict";
  var panel = document.getElementById("assign-panel");
  if (!panel) { return; }
  var reason = panel.querySelector('input[name="reason"]');
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest(".assign-open") : null;
    if (!link) { return; }
    ev.preventDefault();
    panel.querySelector('input[name="lead_id"]').value = link.getAttribute("data-lead");
    panel.querySelector('input[name="version"]').value = link.getAttribute("data-version");
    document.getElementById("assign-name").textContent = link.getAttribute("data-name");
    var owner = link.getAttribute("data-owner");
    Array.prototype.forEach.call(panel.querySelectorAll('select[name="assignee_id"] option'), function (opt) {
      opt.disabled = !!owner && opt.value === owner;
    });
    reason.required = !!owner;
    reason.placeholder = owner ? "改派原因（必填）" : "分派说明（可选）";
    panel.classList.remove("hidden");
    panel.scrollIntoView({ block: "nearest" });
    panel.querySelector("select").focus();
  });
  document.getElementById("assign-cancel").addEventListener("click", function () {
    panel.classList.add("hidden");
  });
})();
