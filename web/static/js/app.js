/* 链招: small helpers shared by every page. No inline scripts anywhere (strict CSP). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /** POST JSON with the CSRF header; resolves to {status, body} (body parsed when JSON). */
  function postJSON(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken()
      },
      body: JSON.stringify(data || {})
    }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") >= 0) {
        return resp.json().then(function (body) { return { status: resp.status, body: body }; });
      }
      return { status: resp.status, body: { ok: false, error: "请求失败（" + resp.status + "），请刷新页面后重试。" } };
    }, function () {
      return { status: 0, body: { ok: false, error: "无法连接服务器，请检查网络后重试。" } };
    });
  }

  /** Create an element with text content (never HTML) and optional class. */
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  // Sector select narrows the chain select (filters on the graph and target pages).
  function wireSectorChain(sectorSel, chainSel) {
    if (!sectorSel || !chainSel) { return; }
    function apply() {
      var sector = sectorSel.value;
      var firstVisible = null;
      Array.prototype.forEach.call(chainSel.options, function (opt) {
        var s = opt.getAttribute("data-sector");
        var show = !sector || !s || s === sector;
        opt.hidden = !show;
        opt.disabled = !show;
        if (show && opt.value && firstVisible === null) { firstVisible = opt; }
      });
      // groups (one per 产业) of another sector are hidden with their options
      Array.prototype.forEach.call(chainSel.querySelectorAll("optgroup"), function (grp) {
        var s = grp.getAttribute("data-sector");
        grp.hidden = !!(sector && s && s !== sector);
      });
      var current = chainSel.options[chainSel.selectedIndex];
      if (current && current.disabled) {
        chainSel.value = chainSel.querySelector('option[value=""]') ? "" : (firstVisible ? firstVisible.value : "");
      }
    }
    sectorSel.addEventListener("change", apply);
    apply();
  }

  // Selects with data-autosubmit submit their form on change.
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-autosubmit") && t.form) { t.form.submit(); }
  });

  // Buttons with data-print open the browser's print dialog (print view of a list).
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-print")) { window.print(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    wireSectorChain(document.getElementById("filter-sector"), document.getElementById("filter-chain"));
  });

  window.LZ = { postJSON: postJSON, el: el, csrfToken: csrfToken };
})();
