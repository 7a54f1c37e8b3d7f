// Small glue around Chart.js (vendored at build time by `make`; no request leaves the server).
function spChart(canvasId, dataId, type, label) {
  var canvas = document.getElementById(canvasId);
  var source = document.getElementById(dataId);
  if (!canvas || !source) return null;
  if (typeof Chart === "undefined") {
    canvas.insertAdjacentHTML("afterend", "<p class='muted'>Charts need the vendored Chart.js: run <code>make assets</code>.</p>");
    return null;
  }
  var data = JSON.parse(source.textContent);
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
