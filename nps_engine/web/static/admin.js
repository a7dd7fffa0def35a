// Keyboard use of the responses feed: "/" searches, "j"/"k" move between responses, Enter opens.
// Everything also works with Tab and without this script.
(function () {
  "use strict";
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#feed tbody tr")); }
  function focusRow(index) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    var link = all[current].querySelector("a.open");
    if (link) { link.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "/") {
      var search = document.getElementById("search");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (event.key === "j") {
      focusRow(current + 1);
    } else if (event.key === "k") {
      focusRow(current - 1);
    }
  });
})();
