// Small glue around Chart.js (vendored at build time by `make`; no request leaves the server).

// The sentence shown instead of a chart with nothing to draw (null: draw it). A line needs two
// points; bars and a doughnut need one value that is not zero.
function spEmptyMessage(type, data) {
  var values = data.values || [];
  if (data.datasets) {
    values = [];
    data.datasets.forEach(function (set) { values = values.concat(set.data || []); });
  }
  var points = (data.labels || values).length;
  var drawn = values.filter(function (v) { return v !== null && v !== 0; }).length;
  if (points === 0 || drawn === 0) return "No data yet: the first fetch fills this chart.";
  if (type === "line" && points < 2) return "Not enough data yet: one snapshot so far.";
  return null;
}
function spChart(canvasId, dataId, type, label) {
  var canvas = document.getElementById(canvasId);
  var source = document.getElementById(dataId);
  if (!canvas || !source) return null;
  if (typeof Chart === "undefined") {
    canvas.insertAdjacentHTML("afterend", "<p class='muted'>Charts need the vendored Chart.js: run <code>make assets</code>.</p>");
    return null;
  }
  var data = JSON.parse(source.textContent);
  var empty = spEmptyMessage(type, data);
  if (empty) {
    // A line through one point or none is a blank axis: say why instead.
    var note = document.createElement("p");
    note.className = "empty-chart";
    note.setAttribute("data-testid", "empty-chart");
    note.textContent = canvas.getAttribute("data-chart-empty") || empty;
    canvas.replaceWith(note);
    return null;
  }
  var palette = ["#10b981", "#9ca3af", "#ef4444", "#4f46e5", "#f59e0b", "#0ea5e9", "#db2777", "#65a30d"];
  var fill = type === "doughnut" ? palette.slice(0, data.values.length) : "rgba(79,70,229,0.35)";
  var datasets = data.datasets || [{ label: label, data: data.values, borderColor: type === "doughnut" ? "#fff" : "#4f46e5", backgroundColor: fill, tension: 0.25, pointRadius: 0 }];
  return new Chart(canvas, {
    type: type,
    data: { labels: data.labels, datasets: datasets },
    options: type === "doughnut"
      ? { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "right" } } }
      : { animation: false, responsive: true, plugins: { legend: { display: datasets.length > 1 } }, scales: { y: { beginAtZero: type === "bar" } } }
  });
}

// Every <canvas data-chart-type> draws itself from the JSON in #<canvas id>-data. Started here,
// not from an inline <script> in the page: the Content-Security-Policy allows no inline script.
function spDrawCharts() {
  document.querySelectorAll("canvas[data-chart-type]").forEach(function (canvas) {
    spChart(canvas.id, canvas.id + "-data", canvas.dataset.chartType, canvas.dataset.chartLabel || "");
  });
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", spDrawCharts);
} else {
  spDrawCharts();
}
