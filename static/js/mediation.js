/* Mediation pages. Conveniences only: every page works without this file.
 *
 * - A form's error summary takes the focus, so a screen reader announces it.
 * - The unit select of a direct application offers only the units of the chosen insurer.
 * - Opening a step's form moves the focus to its first field.
 */
(function () {
  "use strict";

  function limitUnits(insurer, unit) {
    var chosen = insurer.value;
    Array.prototype.forEach.call(unit.options, function (option) {
      if (!option.value) {
        return;
      }
      var match = !chosen || option.getAttribute("data-insurer") === chosen;
      option.hidden = !match;
      option.disabled = !match;
    });
    var selected = unit.options[unit.selectedIndex];
    if (selected && selected.disabled) {
      unit.value = "";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("form-errors");
    if (summary) {
      summary.focus();
    }

    document.querySelectorAll("select[data-filter-by]").forEach(function (unit) {
      var insurer = document.getElementById(unit.getAttribute("data-filter-by"));
      if (!insurer) {
        return;
      }
      limitUnits(insurer, unit);
      insurer.addEventListener("change", function () {
        limitUnits(insurer, unit);
      });
    });

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
