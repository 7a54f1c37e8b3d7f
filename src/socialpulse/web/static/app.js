// Dashboard behaviour that used to be inline event handlers (onchange="..."), which the
// Content-Security-Policy (script-src 'self') refuses to run.

// <select data-autosubmit>: choosing an option submits its form (workspace switcher, role).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
