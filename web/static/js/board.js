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
