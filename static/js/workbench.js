/* Staff complaint pages. Conveniences only: every page works without this file.
 *
 * - The intake form's error summary takes the focus, so a screen reader announces it.
 * - The subcategory select offers only the subcategories of the chosen category.
 * - Opening an action's form moves the focus to its first field.
 */
(function () {
  "use strict";

  function limitSubcategories(category, subcategory) {
    var chosen = category.options[category.selectedIndex];
    var label = chosen && chosen.value ? chosen.text : null;
    var groups = subcategory.querySelectorAll("optgroup");
    groups.forEach(function (group) {
      var match = label !== null && group.label === label;
      group.hidden = !match;
      group.disabled = !match;
    });
    var selected = subcategory.options[subcategory.selectedIndex];
    if (selected && selected.parentElement && selected.parentElement.disabled) {
      subcategory.value = "";
    }
    subcategory.disabled = !Array.prototype.some.call(groups, function (g) {
      return !g.disabled;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("form-errors");
    if (summary) {
      summary.focus();
    }

    var category = document.getElementById("id_category");
    var subcategory = document.getElementById("id_subcategory");
    if (category && subcategory && subcategory.querySelector("optgroup")) {
      limitSubcategories(category, subcategory);
      category.addEventListener("change", function () {
        limitSubcategories(category, subcategory);
      });
    }

    document.querySelectorAll("details.action").forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (!details.open) {
          return;
        }
        var first = details.querySelector("input:not([type=hidden]), select, textarea");
        if (first) {
          first.focus();
        }
      });
    });
  });
})();
