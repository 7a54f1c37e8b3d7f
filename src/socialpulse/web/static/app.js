// Dashboard behaviour that used to be inline event handlers (onchange="..."), which the
// Content-Security-Policy (script-src 'self') refuses to run.

// <select data-autosubmit>: choosing an option submits its form (workspace switcher, role).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});

// <div data-poll="/path" data-poll-interval="1000">: its content is replaced by the path's
// HTML fragment until the fragment carries data-poll-done="/url" (then the page goes there)
// or data-poll-stop (a final state). Used by the creator report's live build progress.
function spPoll(container) {
  var url = container.getAttribute("data-poll");
  var interval = parseInt(container.getAttribute("data-poll-interval") || "1500", 10);
  var timer = window.setInterval(function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        container.innerHTML = html;
        var done = container.querySelector("[data-poll-done]");
        if (done) {
          window.clearInterval(timer);
          window.location.assign(done.getAttribute("data-poll-done"));
        } else if (container.querySelector("[data-poll-stop]")) {
          window.clearInterval(timer);
        }
      })
      .catch(function () { /* a dropped poll is retried at the next tick */ });
  }, interval);
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-poll]").forEach(spPoll);
});
