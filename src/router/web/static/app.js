// Keyboard shortcuts for the common path; no inline script anywhere (the CSP forbids it).
// Queue: j / k move the selection, Enter opens it. Suggestion: j next, k previous, a accept.
// They act only when no control has focus (a focused link, button or field keeps its own keys),
// and not at all when turned off on the account page (kept in this browser's localStorage).
(function () {
  "use strict";
  var KEY = "router.shortcuts";
  function enabled() {
    try { return window.localStorage.getItem(KEY) !== "off"; } catch (e) { return true; }
  }
  function idle() {
    var active = document.activeElement;
    return !active || active === document.body || active === document.documentElement;
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tr.item"));
  }
  var selected = -1;
  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      row.setAttribute("aria-selected", i === selected ? "true" : "false");
    });
    all[selected].scrollIntoView({ block: "nearest" });
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("shortcuts");
    if (toggle) {
      toggle.checked = enabled();
      toggle.addEventListener("change", function () {
        try { window.localStorage.setItem(KEY, toggle.checked ? "on" : "off"); } catch (e) { /* private mode */ }
      });
    }
    if (!enabled()) {
      Array.prototype.forEach.call(document.querySelectorAll(".keys"), function (el) { el.hidden = true; });
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !enabled() || !idle()) { return; }
    var onQueue = rows().length > 0;
    if (event.key === "j") {
      if (onQueue) { select(selected + 1); } else { follow("next"); }
    } else if (event.key === "k") {
      if (onQueue) { select(selected - 1); } else { follow("prev"); }
    } else if (event.key === "a") {
      var accept = document.getElementById("accept");
      if (accept) { event.preventDefault(); accept.form.requestSubmit ? accept.form.requestSubmit(accept) : accept.click(); }
    } else if (event.key === "Enter" && onQueue && selected >= 0) {
      var link = rows()[selected].querySelector("a.open");
      if (link) { window.location.href = link.href; }
    }
  });
})();
