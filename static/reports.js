// Report pages: draw the Plotly charts whose figures the page carries in data-figure
// attributes (no inline script: the CSP forbids it), save charts as PNG/SVG (each save is
// recorded in the audit log), sort tables, and reload once a computing report is ready.
(function () {
  "use strict";

  function download(chartId, format) {
    var plot = document.querySelector('.plot[data-chart="' + chartId + '"]');
    if (!plot || !window.Plotly) { return; }
    var root = document.querySelector(".report");
    var url = root && root.getAttribute("data-download-url");
    var save = function () {
      window.Plotly.downloadImage(plot, { format: format, filename: chartId, width: 1000, height: plot.offsetHeight || 500, scale: 1 });
    };
    if (!url) { save(); return; }  // the offline file: nothing to record
    var token = document.querySelector('meta[name="csrf-token"]');
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.content : "" },
      body: JSON.stringify({ chart: chartId, format: format, page: root.getAttribute("data-page"), query: window.location.search })
    }).then(function (response) {
      if (response.ok) { save(); }
    });
  }

  function draw(plot) {
    var figure = JSON.parse(plot.getAttribute("data-figure"));
    var id = plot.getAttribute("data-chart");
    var config = {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["toImage", "sendDataToCloud", "select2d", "lasso2d"],
      modeBarButtonsToAdd: [
        { name: "PNG", title: "PNG", icon: window.Plotly.Icons.camera, click: function () { download(id, "png"); } },
        { name: "SVG", title: "SVG", icon: window.Plotly.Icons.disk, click: function () { download(id, "svg"); } }
      ]
    };
    return window.Plotly.newPlot(plot, figure.data, figure.layout, config).then(function () {
      plot.setAttribute("data-drawn", "1");
    });
  }

  function sortTable(button) {
    var th = button.closest("th");
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = button.getAttribute("data-sort") === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index], y = b.cells[index];
      var vx = numeric ? parseFloat(x.getAttribute("data-value")) : x.textContent.trim();
      var vy = numeric ? parseFloat(y.getAttribute("data-value")) : y.textContent.trim();
      var order = numeric ? vx - vy : String(vx).localeCompare(String(vy));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function poll(notice) {
    var url = notice.getAttribute("data-poll");
    var wait = Math.max(1, parseInt(notice.getAttribute("data-retry"), 10) || 2);
    if (!url) {
      window.setTimeout(function () { window.location.reload(); }, wait * 1000);
      return;
    }
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.status === 200) {
          // an older report shown while this one is computed ("stale") is not it
          return response.json().then(function (report) {
            if (report.stale) { poll(notice); } else { window.location.reload(); }
          });
        }
        var after = parseInt(response.headers.get("Retry-After"), 10);
        if (after > 0) { notice.setAttribute("data-retry", String(after)); }
        poll(notice);
      }).catch(function () { poll(notice); });
    }, wait * 1000);
  }

  function start() {
    var plots = document.querySelectorAll(".plot[data-figure]");
    var drawing = [];
    plots.forEach(function (plot) { drawing.push(draw(plot)); });
    Promise.all(drawing).then(function () { document.body.setAttribute("data-charts-drawn", String(plots.length)); });
    document.querySelectorAll("button[data-download]").forEach(function (button) {
      button.addEventListener("click", function () { download(button.getAttribute("data-chart"), button.getAttribute("data-download")); });
    });
    document.querySelectorAll("table.sortable th button[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () { sortTable(button); });
    });
    var notice = document.getElementById("pending");
    if (notice) { poll(notice); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
