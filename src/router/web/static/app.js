// Keyboard shortcuts for the common path; no inline script anywhere (the CSP forbids it).
// Queue: j / k move the selection, Enter opens it. Suggestion: j next, k previous, a accept.
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tr.item"));
  }
  var selected = -1;
  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
    all[selected].scrollIntoView({ block: "nearest" });
    var link = all[selected].querySelector("a.open");
    if (link) { link.focus(); }
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
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
