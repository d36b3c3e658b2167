// A form marked data-reset-after-send is emptied once htmx has sent it successfully (what an inline
// hx-on handler did before the Content-Security-Policy forbade inline script).
document.addEventListener("htmx:afterRequest", function (ev) {
  var form = ev.target;
  if (form && form.matches && form.matches("form[data-reset-after-send]") && ev.detail.successful) form.reset();
});

// Keyboard shortcuts for the console: "/" search, j/k move in the queue, Enter opens,
// r reply, n note. Ignored while typing in a field.
(function () {
  "use strict";
  function typing(el) { return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable); }
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr")); }
  function mark(i) {
    var list = rows(); if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (r, k) { r.classList.toggle("kb", k === current); });
    var link = list[current].querySelector("a"); if (link) link.focus();
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var q = document.getElementById("q"), body = document.getElementById("body");
    if (ev.key === "/" && q) { ev.preventDefault(); q.focus(); }
    else if (ev.key === "j") { mark(current + 1); }
    else if (ev.key === "k") { mark(current - 1); }
    else if ((ev.key === "r" || ev.key === "n") && body) {
      ev.preventDefault();
      var radio = document.querySelector('input[name=kind][value=' + (ev.key === "r" ? "reply" : "note") + "]");
      if (radio) radio.checked = true;
      body.focus();
    }
  });
})();
