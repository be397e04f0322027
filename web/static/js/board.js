/* 团队看板: tick a whole column, count the ticked cards, confirm bulk actions in the page
   (no window.confirm: the page asks and the user confirms with a second button). No inline
   script (CSP); every text is set with textContent. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var counter = document.getElementById("bulk-count");
  var ask = document.getElementById("bulk-confirm");
  var askText = document.getElementById("bulk-confirm-text");

  /** Ticked leads, each once (a lead can show twice: in its stage column and in 超期). */
  function picked() {
    var seen = {};
    Array.prototype.forEach.call(document.querySelectorAll('input.pick[form="bulk-form"]:checked'), function (box) {
      seen[box.value] = true;
    });
    return Object.keys(seen);
  }
  function tick(value, on) {
    document.querySelectorAll('input.pick[value="' + CSS.escape(value) + '"]').forEach(function (box) { box.checked = on; });
  }
  function reset() { form.removeAttribute("data-confirmed"); if (ask) { ask.classList.add("hidden"); } }
  function update() {
    if (counter) { counter.textContent = "已选 " + picked().length + " 条"; }
    reset();
  }

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.classList && t.classList.contains("pick-all")) {
      var column = t.getAttribute("data-column");
      document.querySelectorAll('input.pick[data-column="' + CSS.escape(column) + '"]').forEach(function (box) {
        tick(box.value, t.checked);
      });
    }
    if (t.classList && t.classList.contains("pick")) { tick(t.value, t.checked); }
    if (t.classList && (t.classList.contains("pick") || t.classList.contains("pick-all"))) { update(); }
    if (t.form === form) { reset(); }
  });

  form.addEventListener("submit", function (ev) {
    if (form.getAttribute("data-confirmed") === "1") { return; }
    ev.preventDefault();
    var n = picked().length;
    var action = form.querySelector('select[name="action"]');
    var label = action && action.selectedIndex > 0 ? action.options[action.selectedIndex].text : "";
    ask.classList.remove("hidden");
    var go = document.getElementById("bulk-confirm-go");
    if (n === 0) {
      askText.textContent = "请先勾选线索。";
      go.classList.add("hidden");
      return;
    }
    if (!label) {
      askText.textContent = "请选择批量操作。";
      go.classList.add("hidden");
      return;
    }
    askText.textContent = "确定对 " + n + " 条线索执行「" + label + "」？全部成功才会保存，任何一条不符合规则都不会改动。";
    go.classList.remove("hidden");
  });

  document.getElementById("bulk-confirm-go").addEventListener("click", function () {
    form.setAttribute("data-confirmed", "1");
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });
  document.getElementById("bulk-confirm-cancel").addEventListener("click", reset);
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
