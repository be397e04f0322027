/* The import progress page: polls the job's progress (rows read / total) and reloads the page
   when the job has finished. Plain JS, served by the app (no CDN: 政务内网). */
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-testid=progress-bar]");
  var text = box.querySelector("[data-testid=progress-text]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.finished) { window.location.reload(); return; }
        if (p.total) { bar.max = p.total; bar.value = p.done; }
        text.textContent = (p.cancel_requested ? "正在取消…" : p.phase) +
          (p.total ? "：已处理 " + p.done + " / " + p.total + " 行" : "");
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
