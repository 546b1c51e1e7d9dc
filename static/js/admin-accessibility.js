// Accessibility fixes for widgets the Django admin ships, found by axe-core in the browser tests: the
// autocomplete boxes (select2) had no accessible name, and the two-box picker's filter icon carried an
// aria-label a plain <span> may not have. Any admin page can load this (ModelAdmin.Media).
(function () {
  "use strict";

  function labelText(label) {
    return label.textContent.replace(/[:：]\s*$/, "").trim();
  }

  function nameSelect2(select) {
    var label = document.querySelector('label[for="' + select.id + '"]');
    var container = select.nextElementSibling;
    if (!label || !container || !container.classList.contains("select2")) return;
    if (!label.id) label.id = select.id + "-label";
    var box = container.querySelector(".select2-selection");
    if (box) {
      var ids = (box.getAttribute("aria-labelledby") || "").split(" ").filter(Boolean);
      if (ids.indexOf(label.id) < 0) box.setAttribute("aria-labelledby", [label.id].concat(ids).join(" "));
    }
    // A single box shows its choice in a read-only "textbox": its name is the label and the choice.
    container.querySelectorAll('.select2-selection__rendered[role="textbox"]').forEach(function (shown) {
      shown.setAttribute("aria-labelledby", shown.id ? label.id + " " + shown.id : label.id);
    });
    container.querySelectorAll(".select2-search__field").forEach(function (input) {
      input.setAttribute("aria-label", labelText(label));
    });
    // "Remove all" sits directly in the list of chosen items; each item keeps its own remove button.
    container.querySelectorAll(".select2-selection__clear").forEach(function (clear) {
      clear.setAttribute("aria-hidden", "true");
    });
  }

  function fixAll() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      nameSelect2(select);
      var container = select.nextElementSibling;
      if (container && !container.dataset.a11yWatched) {
        container.dataset.a11yWatched = "1";  // select2 redraws the chosen items on every change
        new MutationObserver(function () { nameSelect2(select); }).observe(container, {childList: true, subtree: true});
      }
    });
    document.querySelectorAll(".selector .search-label-icon[aria-label]").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  // select2 starts on DOMContentLoaded and the picker on load; both have run by then.
  window.addEventListener("load", function () { setTimeout(fixAll, 0); });
})();
