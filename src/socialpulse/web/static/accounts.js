// Account pages: "Fetch now" followed in place, removals followed on the accounts list, and
// the add form's busy state. Without JS the forms still post and redirect back.
(function () {
  "use strict";
  var POLL_MS = 2000;
  // spEvery (one poll at a time) and spRequestSignal (no request left hanging) come from
  // app.js, which every page loads first.

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: spRequestSignal() })
      .then(function (response) { return response.ok ? response.json() : null; });
  }

  // Swap the page's live sections for fresh ones, without reloading the page.
  function refreshSections() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" }, signal: spRequestSignal() })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-section]").forEach(function (section) {
          var name = section.getAttribute("data-live-section");
          var next = fresh.querySelector('[data-live-section="' + name + '"]');
          if (next) section.replaceWith(document.importNode(next, true));
        });
      });
  }

  function showProgress(progress) {
    var bar = document.querySelector("[data-progress-bar]");
    var box = document.querySelector("[data-progress-box]");
    var text = document.querySelector("[data-progress-text]");
    var last = document.querySelector("[data-last-fetched]");
    if (bar) { bar.max = progress.steps; bar.value = progress.step; bar.textContent = progress.step + " of " + progress.steps; }
    if (box) box.hidden = !progress.active;
    if (text) text.textContent = progress.run_id ? "Fetch #" + progress.run_id + ": " + progress.label : progress.label;
    if (last) last.textContent = progress.last_fetched;
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    button.textContent = busy ? "Fetching…" : "Fetch now";
  }

  function follow(form, button) {
    var url = form.getAttribute("data-status-url");
    spEvery(POLL_MS, function (stop) {
      return getJSON(url).then(function (progress) {
        if (!progress) return;
        showProgress(progress);
        if (!progress.active) {
          stop();
          // The fetch is over, so another may start now; the figures follow when they load.
          setBusy(button, false);
          return refreshSections();
        }
      });
    });
  }

  function initFetch(form) {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    if (button.disabled) follow(form, button); // a fetch was already under way on load
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) return;
      setBusy(button, true);
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new FormData(form)
      }).then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      }).then(function (progress) {
        showProgress(progress);
        if (progress.active) follow(form, button); else setBusy(button, false);
      }).catch(function () {
        // Let the server say what went wrong: an ordinary submit shows its message.
        form.submit();
      });
    });
  }

  function followRemovals() {
    var rows = document.querySelectorAll("[data-removal]");
    if (!rows.length) return;
    spEvery(POLL_MS, function (stop) {
      return getJSON("/accounts/removal-status").then(function (status) {
        if (!status) return;
        var left = 0;
        rows.forEach(function (row) {
          var id = row.getAttribute("data-removal");
          var bar = row.querySelector("progress");
          var text = row.querySelector("[data-removal-text]");
          if (!(id in status)) {
            if (bar) { bar.value = bar.max; }
            if (text) text.textContent = "Removed";
            return;
          }
          left += 1;
          var done = status[id];
          if (done && bar && text) {
            bar.max = done.total; bar.value = done.deleted;
            text.textContent = done.deleted.toLocaleString() + " of " + done.total.toLocaleString() + " rows deleted";
          }
        });
        if (!left) stop();
      });
    });
  }

  // A form that takes a while (adding an account asks the platform): spinner, button disabled.
  function initBusyForm(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      var spinner = form.querySelector("[data-busy-spinner]");
      var status = form.querySelector("[data-busy-status]");
      if (button) {
        // Disabled after this tick: disabling it now would leave it out of the submission.
        window.setTimeout(function () { button.disabled = true; }, 0);
        if (button.getAttribute("data-busy-label")) button.textContent = button.getAttribute("data-busy-label");
      }
      if (spinner) spinner.hidden = false;
      if (status) status.textContent = "Checking the account with its platform…";
    });
  }

  function init() {
    document.querySelectorAll("form[data-fetch-form]").forEach(initFetch);
    document.querySelectorAll("form[data-busy-form]").forEach(initBusyForm);
    followRemovals();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
