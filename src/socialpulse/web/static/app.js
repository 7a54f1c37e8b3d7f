// Dashboard behaviour that used to be inline event handlers (onchange="..."), which the
// Content-Security-Policy (script-src 'self') refuses to run.

// <select data-autosubmit>: choosing an option submits its form (workspace switcher, role).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});

// A signal that gives up on a request the server has not answered in 15 s: a hung request
// must not hold a page's state, or one of the browser's few connections to this host.
function spRequestSignal() {
  return window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(15000) : undefined;
}

// Calls tick(stop) every intervalMs; tick returns a promise, and a tick is skipped while the
// previous one is still out, so a slow server gets one poll at a time, not a growing queue.
function spEvery(intervalMs, tick) {
  var busy = false;
  var timer = window.setInterval(function () {
    if (busy) return;
    busy = true;
    tick(function () { window.clearInterval(timer); })
      .catch(function () { /* a dropped poll is retried at the next tick */ })
      .finally(function () { busy = false; });
  }, intervalMs);
}

// <div data-poll="/path" data-poll-interval="1000">: its content is replaced by the path's
// HTML fragment until the fragment carries data-poll-done="/url" (then the page goes there)
// or data-poll-stop (a final state). Used by the creator report's live build progress.
function spPoll(container) {
  var url = container.getAttribute("data-poll");
  var interval = parseInt(container.getAttribute("data-poll-interval") || "1500", 10);
  spEvery(interval, function (stop) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" }, signal: spRequestSignal() })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        container.innerHTML = html;
        spScrollables(container);
        var done = container.querySelector("[data-poll-done]");
        if (done) {
          stop();
          window.location.assign(done.getAttribute("data-poll-done"));
        } else if (container.querySelector("[data-poll-stop]")) {
          stop();
        }
      });
  });
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-poll]").forEach(spPoll);
});

// Phone layout (#17). The stylesheet keys the collapsed navigation on html.js, so without
// JavaScript the menu simply stays open (wrapping, the links scrolling inside their own box).
document.documentElement.classList.add("js");

// The topbar's "Menu" button (visible at 700 px and below) opens and closes the navigation.
document.addEventListener("click", function (event) {
  var toggle = event.target instanceof Element ? event.target.closest(".nav-toggle") : null;
  if (!toggle) return;
  var menu = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (menu) menu.classList.toggle("open", open);
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var toggle = document.querySelector(".nav-toggle[aria-expanded='true']");
  if (!toggle) return;
  toggle.click();
  toggle.focus();
});

// Wide tables scroll sideways inside their own box rather than widening the page. The box is a
// named region, and a tab stop only while it actually scrolls, so keyboard users can scroll it
// (arrow keys) without every table on a wide screen costing an extra Tab.
function spTableName(table, index) {
  var caption = table.querySelector("caption");
  if (caption && caption.textContent.trim()) return caption.textContent.trim();
  if (table.getAttribute("aria-label")) return table.getAttribute("aria-label");
  var labelledby = table.getAttribute("aria-labelledby");
  var label = labelledby ? document.getElementById(labelledby) : null;
  if (label && label.textContent.trim()) return label.textContent.trim();
  // The heading of the section the table sits in, as a sighted reader would name it.
  for (var node = table; node && node !== document.body; node = node.parentElement) {
    var heading = node.querySelector("h1, h2, h3");
    if (heading && heading.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING) {
      return heading.textContent.trim().replace(/\s+/g, " ");
    }
  }
  return "Table " + (index + 1);
}

function spScrollables(root) {
  var used = {};
  document.querySelectorAll(".table-scroll[aria-label]").forEach(function (box) {
    used[box.getAttribute("aria-label")] = true;
  });
  (root || document).querySelectorAll("main table").forEach(function (table, index) {
    var parent = table.parentElement;
    if (!parent || table.closest(".table-scroll, .heatmap-wrap, .fc")) return;
    var box = document.createElement("div");
    box.className = "table-scroll";
    box.setAttribute("role", "region");
    var name = spTableName(table, index);
    // Landmarks need distinct names: a second table under one heading gets a number.
    for (var n = 2, base = name; used[name]; n++) name = base + " (" + n + ")";
    used[name] = true;
    box.setAttribute("aria-label", name);
    parent.insertBefore(box, table);
    box.appendChild(table);
  });
  spScrollFocus();
}

function spScrollFocus() {
  document.querySelectorAll(".table-scroll, .heatmap-wrap").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
    else box.removeAttribute("tabindex");
  });
}

document.addEventListener("DOMContentLoaded", function () { spScrollables(document); });
// htmx swaps (the inbox) and polled fragments may bring new tables.
document.addEventListener("htmx:afterSettle", function (event) { spScrollables(event.target); });
var spResizeTimer = 0;
window.addEventListener("resize", function () {
  window.clearTimeout(spResizeTimer);
  spResizeTimer = window.setTimeout(spScrollFocus, 150);
});
