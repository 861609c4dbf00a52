/* The complaint import page: while a file uploads and is checked (a large one takes a few
 * seconds), the button is disabled so that the file is not sent twice, and a status line
 * says what is happening. Without JavaScript the form works the same, minus the feedback. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-import-form")) {
      return;
    }
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector("[data-import-status]");
    if (button) {
      if (button.disabled) {
        event.preventDefault();
        return;
      }
      var busy = button.getAttribute("data-busy-text");
      // Disable after the browser has collected the form, so the submission goes ahead.
      window.setTimeout(function () {
        button.disabled = true;
        if (busy) {
          button.textContent = busy;
        }
      }, 0);
      if (status && busy) {
        status.textContent = busy;
      }
    }
  });

  // After an upload, bring the outcome into view and give it focus for screen readers.
  document.addEventListener("DOMContentLoaded", function () {
    var result = document.getElementById("result");
    if (result) {
      result.focus();
    }
  });
})();
