/* Chain-gap graph: vis-network (served by the app) plus a tooltip and side panel built with
 * textContent only. Node and company names are imported data: they are never parsed as HTML. */
(function () {
  "use strict";
  var el = window.LZ.el;

  function pct(v) { return Math.round((Number(v) || 0) * 100) + "%"; }
  function statusClass(s) { return s === "缺链" ? "missing" : (s === "弱链" ? "weak" : (s === "强链" ? "strong" : "neutral")); }
  function badge(text, cls) { return el("span", text, "badge " + cls); }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function figures(rows) {
    var dl = el("dl", null, "figures");
    rows.forEach(function (r) { dl.appendChild(el("dt", r[0])); dl.appendChild(el("dd", r[1])); });
    return dl;
  }

  function formatWan(v) {
    v = Number(v) || 0;
    return v >= 10000 ? (v / 10000).toFixed(1) + "亿元" : Math.round(v) + "万元";
  }

  /* The stages run left to right and the dots of a stage top to bottom; vis-network then scales
   * the drawing to fit. A tall chain in a wide canvas would leave most of the width empty, so the
   * distance between stages grows until the drawing has the canvas's proportions. */
  function widenLevels(options, nodeList, container) {
    var hier = options.layout && options.layout.hierarchical;
    if (!hier || !container.clientWidth || !container.clientHeight) { return; }
    var perLevel = {};
    nodeList.forEach(function (n) { perLevel[n.level] = (perLevel[n.level] || 0) + 1; });
    var levels = Object.keys(perLevel).length;
    if (levels < 2) { return; }
    var tallest = Math.max.apply(null, Object.keys(perLevel).map(function (k) { return perLevel[k]; }));
    var height = Math.max(tallest, 4) * (hier.nodeSpacing || 80);
    // vis never zooms in past 1:1 when fitting, so a short chain needs at least the canvas width
    var width = Math.max(height * container.clientWidth / container.clientHeight, container.clientWidth - 40);
    var labelRoom = 220;  // the widest labels stick out left and right of the outer stages
    hier.levelSeparation = Math.max(hier.levelSeparation || 300, Math.round((width - labelRoom) / (levels - 1)));
  }

  function init() {
    var dataBlock = document.getElementById("graph-data");
    var container = document.getElementById("chain-graph");
    if (!dataBlock || !container || !window.vis) { return; }
    var data = JSON.parse(dataBlock.textContent);
    var tooltip = document.getElementById("graph-tooltip");
    var panel = document.getElementById("node-panel");
    var byId = {};
    data.nodes.forEach(function (n) { byId[n.id] = n; });

    var nodes = new window.vis.DataSet(data.nodes);
    var edges = new window.vis.DataSet(data.edges);
    var options = data.options || {};
    options.configure = { enabled: false };
    widenLevels(options, data.nodes, container);
    var network = new window.vis.Network(container, { nodes: nodes, edges: edges }, options);
    // Fit the whole chain into the canvas once laid out, and again when the window changes size.
    network.once("stabilizationIterationsDone", function () { network.fit(); });
    network.once("afterDrawing", function () { network.fit(); });
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { network.fit(); }, 150);
    });

    function showTooltip(id, pointer) {
      var n = byId[id];
      if (!n) { return; }
      clear(tooltip);
      var title = el("div", null, "tt-title");
      title.appendChild(el("span", n.label));
      title.appendChild(document.createTextNode(" "));
      title.appendChild(badge(n.status, statusClass(n.status)));
      tooltip.appendChild(title);
      [["链位", n.stage], ["本地企业", n.local_firms + " 家"], ["本地营收（多环节均摊）", formatWan(n.local_output)],
       ["优质企业", n.qualified_firms + " 家"], ["外地企业", n.outside_firms + " 家"],
       ["关键度", pct(n.criticality)]].forEach(function (r) {
        tooltip.appendChild(el("div", r[0] + "：" + r[1], "tt-row"));
      });
      tooltip.appendChild(el("div", n.reason, "tt-row muted"));
      if (n.why) tooltip.appendChild(el("div", "关键：" + n.why, "tt-row muted"));
      if (n.targets && n.targets.length) {
        tooltip.appendChild(el("div", "推荐目标：" + n.targets.join("、"), "tt-row tt-targets"));
      }
      tooltip.style.left = Math.min(pointer.x + 14, container.clientWidth - 290) + "px";
      tooltip.style.top = (pointer.y + 50) + "px";
      tooltip.classList.remove("hidden");
    }

    network.on("hoverNode", function (p) { showTooltip(p.node, p.pointer.DOM); });
    network.on("blurNode", function () { tooltip.classList.add("hidden"); });
    network.on("dragStart", function () { tooltip.classList.add("hidden"); });
    network.on("click", function (p) {
      if (p.nodes && p.nodes.length) { openNode(p.nodes[0]); }
    });

    function panelUrl(id) {
      var url = panel.getAttribute("data-panel-url").replace("__NODE__", encodeURIComponent(id));
      var zone = panel.getAttribute("data-zone");
      return zone ? url + "?zone=" + encodeURIComponent(zone) : url;
    }

    function openNode(id) {
      tooltip.classList.add("hidden");
      clear(panel);
      panel.appendChild(el("p", "正在加载……", "muted"));
      fetch(panelUrl(id), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
        .then(function (res) {
          if (res.status !== 200) { throw new Error(res.body && res.body.error); }
          renderPanel(res.body);
        })
        .catch(function (err) {
          clear(panel);
          panel.appendChild(el("p", (err && err.message) || "加载失败，请重试。", "panel-msg err"));
        });
    }

    function renderPanel(d) {
      clear(panel);
      var n = d.node;
      var h = el("h2", null);
      h.appendChild(el("span", n.name, "node-name"));
      h.appendChild(document.createTextNode(" "));
      h.appendChild(badge(n.status, statusClass(n.status)));
      panel.appendChild(h);
      panel.appendChild(el("p", n.reason, "small"));
      if (n.why) panel.appendChild(el("p", "为何关键：" + n.why, "small"));
      panel.appendChild(figures([
        ["链位", n.stage], ["重要度", n.importance + " / 5"], ["关键度", pct(n.criticality)],
        ["下游依赖", pct(n.downstream_share)], ["本地企业", n.local_firms + " 家"],
        ["本地营收（多环节均摊）", n.local_output], ["优质企业", n.qualified_firms + " 家"], ["外地企业", n.outside_firms + " 家"]
      ]));

      panel.appendChild(el("h3", d.zone ? "本地企业（" + d.zone + "）" : "本地企业"));
      if (d.local_firms.length) {
        var ul = el("ul", null, "firms");
        d.local_firms.forEach(function (c) {
          var li = el("li");
          var a = el("a", c.name);
          a.href = c.url;
          li.appendChild(a);
          var extra = [c.zone, c.revenue].filter(Boolean).join("，");
          if (extra) { li.appendChild(el("span", "（" + extra + "）", "muted small")); }
          ul.appendChild(li);
        });
        panel.appendChild(ul);
        if (d.local_firms_total > d.local_firms.length) {
          panel.appendChild(el("p", "共 " + d.local_firms_total + " 家，仅列出前 " + d.local_firms.length + " 家。", "muted small"));
        }
      } else {
        panel.appendChild(el("p", "本地暂无企业。", "muted"));
      }

      panel.appendChild(el("h3", "推荐补链目标"));
      if (!d.targets.length) {
        panel.appendChild(el("p", n.status === "强链" ? "强链环节不推荐补链目标。" : "暂无可推荐的外地企业。", "muted"));
      } else {
        var ol = el("ol", null, "targets");
        d.targets.forEach(function (t) { ol.appendChild(targetItem(t)); });
        panel.appendChild(ol);
        var more = el("a", "查看该环节全部补链目标 →");
        more.href = d.targets_url;
        panel.appendChild(more);
      }

      function targetItem(t) {
        var li = el("li", null, "target");
        li.setAttribute("data-testid", "panel-target");
        var head = el("div");
        var a = el("a", t.company_name, "target-name");
        a.href = t.url;
        head.appendChild(a);
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("span", t.score.toFixed(1) + " 分", "score"));
        li.appendChild(head);
        if (t.place) { li.appendChild(el("div", t.place, "muted small")); }
        li.appendChild(el("div", t.reason, "target-reason"));
        var f = el("div", null, "factors");
        t.factors.forEach(function (x) {
          f.appendChild(el("span", x.label));
          var m = document.createElement("meter");
          m.min = 0; m.max = 1; m.value = x.value;
          f.appendChild(m);
          f.appendChild(el("span", pct(x.value)));
        });
        li.appendChild(f);
        if (t.held) {  // already registered as a lead (首报首谈): say who holds it
          var held = el("div", t.held, "held-lead small");
          held.setAttribute("data-testid", "held-lead");
          li.appendChild(held);
          return li;
        }
        if (!d.lead_url) { return li; }  // the role may not create leads
        var btn = el("button", "转为线索", "button small primary");
        btn.type = "button";
        var msg = el("div", null, "panel-msg");
        btn.addEventListener("click", function () {
          btn.disabled = true;
          window.LZ.postJSON(d.lead_url, { company_id: t.company_id, node_id: t.node_id }).then(function (res) {
            clear(msg);
            if (res.body && res.body.ok) {
              msg.className = "panel-msg ok";
              msg.appendChild(el("span", res.body.message));
              if (res.body.lead_url) {
                msg.appendChild(document.createTextNode(" "));
                var link = el("a", "打开线索");
                link.href = res.body.lead_url;
                msg.appendChild(link);
              }
            } else {
              msg.className = "panel-msg err";
              msg.textContent = (res.body && res.body.error) || "创建线索失败。";
              btn.disabled = false;
            }
          });
        });
        li.appendChild(btn);
        li.appendChild(msg);
        return li;
      }
    }

    // The gap table's node names open the same panel (keyboard users, screen readers).
    document.addEventListener("click", function (ev) {
      var id = ev.target.getAttribute && ev.target.getAttribute("data-open-node");
      if (!id) { return; }
      network.selectNodes([id]);
      openNode(id);
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
    });

    network.once("afterDrawing", function () { container.setAttribute("data-ready", "1"); });
    window.LZGraph = { network: network, openNode: openNode };
  }

  document.addEventListener("DOMContentLoaded", init);
})();
