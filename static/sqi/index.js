/* Peer-group tabs of the index ranking board (/ and /index/).
 *
 * Without JavaScript each tab is a link (?group=life) that reloads the page with that
 * group's panel shown. Here the links become ARIA tabs that switch panels in place; the
 * address still follows the chosen tab, so reloading or sharing it shows the same group.
 */
(function () {
  "use strict";

  function setup(nav) {
    var list = nav.querySelector("ul");
    var tabs = Array.prototype.slice.call(nav.querySelectorAll("[data-tab]"));
    if (!list || !tabs.length) {
      return;
    }
    var board = nav.closest(".sqi-board") || document;
    var groupInput = board.querySelector("[data-sqi-group]");

    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", nav.getAttribute("aria-label") || "");
    nav.removeAttribute("aria-label");
    tabs.forEach(function (tab) {
      var panel = document.getElementById("sqi-panel-" + tab.getAttribute("data-tab"));
      tab.parentElement.setAttribute("role", "presentation");
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("tabindex", "0");
    });

    function select(tab, focus) {
      tabs.forEach(function (other) {
        var selected = other === tab;
        var panel = document.getElementById(other.getAttribute("aria-controls"));
        other.setAttribute("aria-selected", selected ? "true" : "false");
        other.setAttribute("tabindex", selected ? "0" : "-1");
        other.removeAttribute("aria-current");
        other.classList.toggle("is-selected", selected);
        panel.hidden = !selected;
      });
      if (groupInput) {
        groupInput.value = tab.getAttribute("data-tab");
      }
      if (focus) {
        tab.focus();
      }
    }

    var current = tabs.filter(function (t) { return t.getAttribute("aria-current"); })[0] || tabs[0];
    select(current, false);

    nav.addEventListener("click", function (event) {
      var tab = event.target.closest("[data-tab]");
      if (!tab) {
        return;
      }
      event.preventDefault();
      select(tab, false);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", tab.getAttribute("href"));
      }
    });

    nav.addEventListener("keydown", function (event) {
      var index = tabs.indexOf(document.activeElement);
      if (index < 0) {
        return;
      }
      var next = null;
      if (event.key === "ArrowRight") {
        next = tabs[(index + 1) % tabs.length];
      } else if (event.key === "ArrowLeft") {
        next = tabs[(index - 1 + tabs.length) % tabs.length];
      } else if (event.key === "Home") {
        next = tabs[0];
      } else if (event.key === "End") {
        next = tabs[tabs.length - 1];
      }
      if (next) {
        event.preventDefault();
        select(next, true);
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", next.getAttribute("href"));
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sqi-tabs]").forEach(setup);
  });
})();
