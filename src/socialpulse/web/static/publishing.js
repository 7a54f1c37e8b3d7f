// Publishing pages: the calendar (FullCalendar, vendored) and the composer's live counts and
// previews. No inline script (CSP): pages pass their data in data-* attributes.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // ------------------------------------------------------------------ calendar
  function startCalendar(el) {
    var errorBox = document.querySelector('[data-testid="calendar-error"]');
    if (typeof FullCalendar === "undefined") {
      el.insertAdjacentHTML("afterend", "<p class='muted'>The calendar needs the vendored FullCalendar: run <code>make assets</code>. The list below shows what is coming.</p>");
      return;
    }
    function showError(message) {
      if (!errorBox) return;
      errorBox.textContent = message;
      errorBox.hidden = !message;
    }
    var calendar = new FullCalendar.Calendar(el, {
      initialView: "dayGridMonth",
      // UTC-coerced: the feed's times are wall times in the workspace zone (data-zone), and
      // a dropped event's time is sent back the same way, without an offset.
      timeZone: "UTC",
      headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek" },
      // Text buttons: FullCalendar's icon spans are role="img" without a text alternative.
      buttonIcons: false,
      buttonText: { prev: "‹ Previous", next: "Next ›", today: "Today", month: "Month", week: "Week" },
      editable: el.dataset.editable === "true",
      eventDurationEditable: false,
      eventStartEditable: true,
      displayEventEnd: false,
      height: "auto",
      events: el.dataset.eventsUrl,
      eventDidMount: function (info) {
        var props = info.event.extendedProps;
        var label = info.event.title + " (" + props.status + ")" + (props.error ? ": " + props.error : "");
        info.el.setAttribute("title", label);
        info.el.setAttribute("aria-label", label);
        info.el.setAttribute("data-status", props.status);
        info.el.setAttribute("data-post-id", props.postId);
      },
      eventDrop: function (info) {
        var props = info.event.extendedProps;
        showError("");
        fetch(el.dataset.moveUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
          body: JSON.stringify({
            post_id: props.postId,
            occurrence_at: props.occurrenceAt,
            recurring: !!props.recurring,
            start: info.event.start.toISOString().replace(/\.\d+Z$/, "")
          })
        }).then(function (response) {
          // A refused CSRF token or an ended login is answered the dashboard's way: a
          // redirect to an HTML page, not JSON.
          var json = (response.headers.get("content-type") || "").indexOf("application/json") === 0;
          if (!json) throw new Error("the page expired or you were logged out; reload the page");
          return response.json().then(function (body) {
            if (!response.ok) {
              var detail = Array.isArray(body.detail) ? body.detail.map(function (d) { return d.msg; }).join("; ") : body.detail;
              throw new Error(body.error || detail || ("HTTP " + response.status));
            }
            return body;
          });
        }).then(function () {
          calendar.refetchEvents();
        }).catch(function (error) {
          info.revert();
          showError("Not moved: " + error.message);
        });
      }
    });
    calendar.render();
    window.spCalendar = calendar;
  }

  // ------------------------------------------------------------------ composer
  var segmenter = (typeof Intl !== "undefined" && Intl.Segmenter) ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

  function countOf(text, graphemes) {
    if (graphemes && segmenter) {
      var n = 0;
      for (var _ of segmenter.segment(text)) n++;  // eslint-disable-line no-unused-vars
      return n;
    }
    return Array.from(text).length;  // code points, as Python's len() counts
  }

  // As publishing.series.compose_text: hashtags not already in the text are appended.
  function composed(text, tags) {
    var present = {};
    text.split(/\s+/).forEach(function (w) { if (w.charAt(0) === "#") present[w.replace(/^#+/, "").toLowerCase()] = true; });
    var missing = tags.split(/[\s,]+/).map(function (t) { return t.replace(/^#+/, ""); })
      .filter(function (t) { return t && !present[t.toLowerCase()]; }).map(function (t) { return "#" + t; });
    if (!missing.length) return text;
    return text.trim() ? text.replace(/\s+$/, "") + "\n\n" + missing.join(" ") : missing.join(" ");
  }

  function startComposer(form) {
    var textArea = form.querySelector("[data-composer-text]");
    var tags = form.querySelector("[data-composer-tags]");
    function update() {
      document.querySelectorAll("[data-preview-account]").forEach(function (card) {
        var box = form.querySelector('input[data-account-id="' + card.dataset.previewAccount + '"]');
        card.hidden = !!box && !box.checked;
        var variant = card.querySelector("[data-variant]");
        var own = variant && variant.value.trim() ? variant.value : textArea.value;
        var full = composed(own, tags ? tags.value : "");
        card.querySelector("[data-preview-text]").textContent = full;
        var counter = card.querySelector("[data-counter]");
        var n = countOf(full, counter.dataset.graphemes === "true");
        counter.querySelector("[data-count]").textContent = n;
        var max = parseInt(counter.dataset.max, 10);
        counter.classList.toggle("over", !isNaN(max) && n > max);
      });
    }
    // The variants' textareas sit in the previews (form="composer"), outside the <form>.
    document.addEventListener("input", update);
    document.addEventListener("change", update);
    form.querySelectorAll("[data-use-slot]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        form.querySelector("#scheduled_at").value = button.dataset.useSlot;
        var zone = form.querySelector("#zone");
        if (zone && button.dataset.slotZone) zone.value = button.dataset.slotZone;
      });
    });
    update();
  }

  function start() {
    var el = document.getElementById("calendar");
    if (el) startCalendar(el);
    var form = document.getElementById("composer");
    if (form) startComposer(form);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
