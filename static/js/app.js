/* Site-wide behaviour, loaded with `defer` on every page.
 *
 * The Content-Security-Policy allows scripts from this origin only (no inline <script>, no
 * on* attributes), so page behaviour lives in files like this one and hooks onto markup
 * through data- attributes. Every page must still work without JavaScript.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests that change something carry Django's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb && event.detail.verb.toLowerCase() !== "get") {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });

  // <select data-autosubmit> submits its form on change; the form keeps a visible submit
  // button (marked data-autosubmit-fallback) for use without JavaScript, hidden here.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      if (typeof el.form.requestSubmit === "function") {
        el.form.requestSubmit();
      } else {
        el.form.submit();
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit-fallback]").forEach(function (button) {
      button.hidden = true;
    });
  });
})();
