// Loaded just before the vendored FullCalendar 6, which injects its CSS when it loads, including
// an @font-face for its icon font as a data: URL. The Content-Security-Policy has no
// `font-src data:`, so Chromium refuses and reports that font. The calendar uses text buttons
// (`buttonIcons: false`) and never needs it: that one rule is swapped for an empty one (the same
// count of rules, since FullCalendar inserts each at a computed index).
(function () {
  "use strict";
  if (typeof CSSStyleSheet === "undefined") return;
  var insertRule = CSSStyleSheet.prototype.insertRule;
  CSSStyleSheet.prototype.insertRule = function (rule, index) {
    var owner = this.ownerNode;
    if (owner && owner.hasAttribute && owner.hasAttribute("data-fullcalendar") &&
        /^\s*@font-face/.test(rule)) {
      rule = ".fc-no-icon-font{}";
    }
    return insertRule.call(this, rule, index);
  };
})();
