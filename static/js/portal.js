/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // 订阅: typing in the label search narrows the groups at once (the form still searches on the server).
  document.querySelectorAll("input[data-filter-labels]").forEach(function (input) {
    var root = document.querySelector(input.getAttribute("data-filter-labels"));
    if (!root) return;
    var none = root.querySelector("[data-no-match]");
    function apply() {
      var query = input.value.trim();
      var any = false;
      root.querySelectorAll("details.label-group").forEach(function (group) {
        var category = group.querySelector("summary").textContent;
        var shown = 0;
        group.querySelectorAll("label").forEach(function (label) {
          var match = !query || label.textContent.indexOf(query) >= 0 || category.indexOf(query) >= 0;
          label.hidden = !match;
          if (match) shown += 1;
        });
        group.hidden = shown === 0;
        if (query) group.open = shown > 0;
        any = any || shown > 0;
      });
      if (none) none.hidden = any;
    }
    input.addEventListener("input", apply);
    input.form.addEventListener("submit", function (event) {
      event.preventDefault(); // already applied while typing; no reload needed
      apply();
    });
  });
})();
