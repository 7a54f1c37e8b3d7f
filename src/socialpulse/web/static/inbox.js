// The inbox and reply queue pages: htmx settings under the Content-Security-Policy, the CSRF
// header on htmx requests, one tab stop per comment (roving focus), keyboard shortcuts (as in
// Front or Chatwoot), select-all, and confirmation dialogs. Every form also works without this
// file: the server asks for confirmation on a page of its own and redirects back.
(function () {
  "use strict";

  if (window.htmx) {
    // No eval (hx-on, js: values) under script-src 'self', no injected indicator styles.
    window.htmx.config.allowEval = false;
    window.htmx.config.allowScriptTags = false;
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.selfRequestsOnly = true;
    window.htmx.config.historyEnabled = false;
  }

  var csrf = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) event.detail.headers["X-CSRF-Token"] = csrf.getAttribute("content");
  });

  // --- confirmation -----------------------------------------------------------------------

  var dialog = document.getElementById("confirm-dialog");

  function ask(question, then) {
    if (!dialog || typeof dialog.showModal !== "function") {
      then();  // no <dialog>: the server's own confirmation page asks instead
      return;
    }
    dialog.querySelector("#confirm-dialog-text").textContent = question;
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "yes") then();
    });
    dialog.showModal();
  }

  function confirmField(form) {
    var field = form.querySelector('input[name="confirmed"]');
    if (field) field.value = "1";
  }

  // Plain forms (the queue's cancel): ask, then submit with confirmed=1.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (form.hasAttribute("hx-post")) return;  // htmx asks through htmx:confirm below
    var field = form.querySelector('input[name="confirmed"]');
    if (field && field.value === "1") return;
    event.preventDefault();
    ask(form.getAttribute("data-confirm"), function () {
      confirmField(form);
      form.submit();
    });
  });

  // htmx forms (the inbox's hide): ask before the request is sent.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-confirm]") : null;
    if (!form) return;
    event.preventDefault();
    ask(form.getAttribute("data-confirm"), function () {
      confirmField(form);
      event.detail.issueRequest(true);
    });
  });

  // --- rows: one tab stop each, j/k/r/e/x ----------------------------------------------------

  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-inbox-row]"));
  }

  // The controls of the rows other than the active one leave the tab order, so the page has
  // one stop per comment instead of hundreds; the active row's controls come back.
  function activate(row, focus) {
    rows().forEach(function (other) {
      var on = other === row;
      other.tabIndex = on ? 0 : -1;
      other.classList.toggle("inbox-active", on);
      other.querySelectorAll(FOCUSABLE).forEach(function (control) {
        if (control === other) return;
        if (on) {
          if (control.hasAttribute("data-sp-tab")) {
            var was = control.getAttribute("data-sp-tab");
            if (was === "") control.removeAttribute("tabindex");
            else control.setAttribute("tabindex", was);
            control.removeAttribute("data-sp-tab");
          }
        } else if (!control.hasAttribute("data-sp-tab")) {
          control.setAttribute("data-sp-tab", control.getAttribute("tabindex") || "");
          control.setAttribute("tabindex", "-1");
        }
      });
    });
    if (row && focus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function activeRow() {
    return document.querySelector("[data-inbox-row].inbox-active") || rows()[0] || null;
  }

  function typing(target) {
    if (!(target instanceof HTMLElement)) return false;
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest ? event.target.closest("[data-inbox-row]") : null;
    if (row && !row.classList.contains("inbox-active")) activate(row, false);
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target) || (dialog && dialog.open)) return;
    var list = rows();
    if (!list.length) return;
    var row = activeRow();
    var at = list.indexOf(row);
    var inRow = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("[data-inbox-row]") : null;
    switch (event.key) {
      case "j":
        // From outside the list, j / k first go to the active comment itself.
        activate(inRow ? list[Math.min(at + 1, list.length - 1)] : row, true);
        break;
      case "k":
        activate(inRow ? list[Math.max(at - 1, 0)] : row, true);
        break;
      case "r": {
        var reply = row.querySelector("details[data-reply]");
        if (!reply) return;
        activate(row, false);
        reply.open = true;
        var box = reply.querySelector("textarea");
        if (box) box.focus();
        break;
      }
      case "e": {
        var done = row.querySelector("button[data-done]");
        if (!done) return;
        done.click();
        break;
      }
      case "x": {
        var box2 = row.querySelector("input[data-select]");
        if (!box2) return;
        box2.checked = !box2.checked;
        countSelected();
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  });

  // After htmx swaps a row in, that row stays the active one, focused where it was.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.elt;
    var row = null;
    if (target && target.id) row = document.getElementById(target.id);
    if (!row || !row.hasAttribute("data-inbox-row")) {
      var id = event.detail && event.detail.target && event.detail.target.id;
      row = id ? document.getElementById(id) : null;
    }
    if (row && row.hasAttribute("data-inbox-row")) {
      var focused = document.activeElement;
      var inRow = focused && focused.closest ? focused.closest("[data-inbox-row]") : null;
      // A reply or status change settles late: if the reader has moved on to another comment
      // meanwhile, it stays theirs instead of jumping back to the row that was swapped.
      if (inRow && inRow !== row) return;
      activate(row, false);
      // Focus went with the swapped-out row; unless the reader has moved on inside it already.
      if (!row.contains(focused)) row.focus({ preventScroll: true });
    } else {
      activate(rows()[0] || null, false);
      countSelected();
    }
  });

  // --- select all -------------------------------------------------------------------------

  var all = document.querySelector("[data-select-all]");
  var counter = document.getElementById("selected-count");

  function countSelected() {
    if (!counter) return;
    var boxes = document.querySelectorAll("input[data-select]");
    var checked = document.querySelectorAll("input[data-select]:checked").length;
    counter.textContent = checked ? checked + " selected" : "";
    if (all) all.checked = boxes.length > 0 && checked === boxes.length;
  }

  if (all) {
    all.closest("label").hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[data-select]").forEach(function (box) {
        box.checked = all.checked;
      });
      countSelected();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.hasAttribute("data-select")) {
      countSelected();
    }
  });

  activate(activeRow(), false);
})();
