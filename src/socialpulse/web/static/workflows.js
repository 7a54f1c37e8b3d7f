// The workflow builder, on top of a form that works without it: rows can be added and removed,
// a row's operator and value controls follow its type at once, "Preview" fills the panel next
// to the rule in place, and "Unsaved changes" shows once the form changed after a save.
(function () {
  var form = document.querySelector("[data-wf-form]");
  if (!form) return;
  var nextIndex = { c: 0, a: 0 };

  function fromTemplate(selector, n) {
    var template = document.querySelector(selector);
    var html = template ? template.innerHTML.split("__n__").join(String(n)) : "";
    var holder = document.createElement("div");
    holder.innerHTML = html;
    return holder;
  }

  function wire(row) {
    var remove = row.querySelector("[data-wf-remove]");
    if (remove) remove.hidden = false;
  }

  function isBlank(row) {
    var type = row.querySelector("[data-wf-type]");
    return !type || !type.value;
  }

  document.querySelectorAll("[data-wf-list]").forEach(function (list) {
    var prefix = list.getAttribute("data-wf-list");
    var rows = Array.prototype.slice.call(list.querySelectorAll("[data-wf-row]"));
    rows.forEach(function (row) {
      nextIndex[prefix] = Math.max(nextIndex[prefix], parseInt(row.getAttribute("data-n"), 10) + 1);
      wire(row);
    });
    // Without JS a few empty rows are there to fill; with it, one is enough (and "Add").
    var blanks = rows.filter(isBlank);
    var keep = rows.length === blanks.length ? 1 : 0;
    blanks.slice(keep).forEach(function (row) { row.remove(); });
  });
  document.querySelectorAll("[data-wf-add]").forEach(function (button) { button.hidden = false; });

  function addRow(prefix) {
    var list = document.querySelector('[data-wf-list="' + prefix + '"]');
    var holder = fromTemplate('template[data-wf-blank="' + prefix + '"]', nextIndex[prefix]);
    nextIndex[prefix] += 1;
    var row = holder.firstElementChild;
    if (!row || !list) return;
    list.appendChild(row);
    wire(row);
    row.querySelector("[data-wf-type]").focus();
    changed();
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) return;
    var add = target.closest("[data-wf-add]");
    if (add) {
      addRow(add.getAttribute("data-wf-add"));
      return;
    }
    var remove = target.closest("[data-wf-remove]");
    if (remove) {
      var row = remove.closest("[data-wf-row]");
      var list = row.parentElement;
      row.remove();
      var first = list.querySelector("[data-wf-type]");
      if (first) first.focus();
      changed();
    }
  });

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-wf-type")) {
      var row = target.closest("[data-wf-row]");
      var prefix = row.getAttribute("data-prefix");
      var n = row.getAttribute("data-n");
      var selector = 'template[data-wf-template="' + prefix + '"][data-type="' + target.value + '"]';
      var holder = fromTemplate(selector, n);
      var controls = row.querySelector("[data-wf-controls]");
      controls.innerHTML = holder.innerHTML;
      var message = row.querySelector(".wf-row-message");
      if (message) message.remove();
      row.classList.remove("wf-row-error");
    }
    changed();
  });
  form.addEventListener("input", changed);

  // "Unsaved changes" only after a save: the page a save redirected to carries a flash.
  var state = document.querySelector("[data-wf-state]");
  var savedBefore = Boolean(document.querySelector(".flash-success")) && form.querySelector('[name="workflow_id"]').value !== "";
  function changed() {
    if (savedBefore && state && !state.querySelector("[data-wf-dirty]")) {
      state.innerHTML = '<strong class="wf-unsaved" data-wf-dirty>Unsaved changes</strong>';
    }
  }

  // Preview in place: the same POST as without JS; the answer's preview panel replaces ours.
  var panel = document.querySelector("[data-wf-preview-panel]");
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (!panel || !submitter || !submitter.hasAttribute("data-wf-preview") || !window.fetch) return;
    event.preventDefault();
    var body = new FormData(form);
    body.append("intent", "preview");
    panel.setAttribute("aria-busy", "true");
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var errors = page.querySelector('[data-testid="workflow-errors"]');
        if (errors) {
          // Row messages live in the form: post it the plain way (a preview changes nothing).
          submitPlain();
          return;
        }
        var fresh = page.querySelector("[data-wf-preview-panel]");
        if (fresh) panel.innerHTML = fresh.innerHTML;
        panel.removeAttribute("aria-busy");
      })
      .catch(submitPlain);
  });

  function submitPlain() {
    var intent = document.createElement("input");
    intent.type = "hidden";
    intent.name = "intent";
    intent.value = "preview";
    form.appendChild(intent);
    form.submit();
  }
})();
