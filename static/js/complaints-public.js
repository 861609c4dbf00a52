/* The public complaint pages: small improvements on forms that work without JavaScript.
 *
 * - moves focus to the error summary (or the result) after a submission;
 * - the error summary's links focus the field they name;
 * - the subcategory select offers only the options of the chosen category, and hides
 *   itself when the category has none (the server rejects a mismatch either way);
 * - a character counter under the narrative;
 * - a print button on the receipt.
 */
(function () {
  "use strict";

  function focusOnLoad() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) {
      target.focus({ preventScroll: false });
    }
  }

  function errorSummaryLinks() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest(".error-summary a[href^='#']");
      if (!link) {
        return;
      }
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) {
        return;
      }
      event.preventDefault();
      var field = input.closest(".field") || input;
      field.scrollIntoView({ block: "start" });
      input.focus({ preventScroll: true });
    });
  }

  function subcategories() {
    var category = document.getElementById("id_category");
    var select = document.getElementById("id_subcategory");
    if (!category || !select) {
      return;
    }
    var field = select.closest(".field");
    var blank = select.querySelector("option[value='']");
    // Remember every option with its category, then rebuild the list on each change.
    var all = Array.prototype.map.call(
      select.querySelectorAll("option[data-category]"),
      function (option) {
        return { category: option.getAttribute("data-category"), option: option };
      }
    );

    function update() {
      var chosen = select.value;
      var fitting = all.filter(function (item) {
        return item.category === category.value;
      });
      select.textContent = "";
      if (blank) {
        select.appendChild(blank);
      }
      fitting.forEach(function (item) {
        select.appendChild(item.option);
      });
      var stillFits = fitting.some(function (item) {
        return item.option.value === chosen;
      });
      select.value = stillFits ? chosen : "";
      if (field) {
        // Keep a mismatch the server reported visible, so it can be corrected.
        field.hidden = fitting.length === 0 && !field.classList.contains("field--error");
      }
    }

    category.addEventListener("change", update);
    update();
  }

  function counters() {
    document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var input = document.getElementById(counter.getAttribute("data-counter-for"));
      if (!input) {
        return;
      }
      var max = parseInt(counter.getAttribute("data-max"), 10);
      var template = counter.getAttribute("data-template");

      function update() {
        var count = input.value.length;
        counter.textContent = template
          .replace("{count}", count.toLocaleString())
          .replace("{max}", max.toLocaleString());
        counter.classList.toggle("counter--near", count > max * 0.9);
      }

      input.addEventListener("input", update);
      counter.hidden = false;
      update();
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    subcategories();
    counters();
    printButtons();
    errorSummaryLinks();
    focusOnLoad();
  });
})();
