// <button data-copy="element-id">: copies that element's text, and says so in the nearest
// [data-copy-status] (an aria-live region, so a screen reader hears "Copied" too). The button
// stays hidden without a clipboard (plain HTTP other than localhost): the text is selectable.
(function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector("[data-copy-status]");
      if (!source) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { if (status) status.textContent = "Copied"; },
        function () { if (status) status.textContent = "Could not copy: select the text and copy it"; }
      );
    });
  });
})();
