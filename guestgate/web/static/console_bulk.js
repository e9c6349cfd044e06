// The bulk job page's counts, read every second while the job runs; the page reloads when
// the job ends, to show its results link. Without this script the page's Refresh link does
// the same.
"use strict";
(function () {
  var box = document.getElementById("progress");
  if (!box || box.getAttribute("data-running") !== "yes") return;
  var url = box.getAttribute("data-url");
  var names = ["done", "held", "failed", "skipped", "remaining"];

  function show(p) {
    names.forEach(function (name) {
      var cell = document.getElementById("n-" + name);
      if (cell) cell.textContent = String(p[name]);
    });
    var bar = document.getElementById("bar");
    if (bar) bar.value = p.total - p.remaining;
    var state = document.getElementById("state");
    if (state) state.textContent = p.label;
    var summary = document.getElementById("summary");
    if (summary) summary.textContent = (p.total - p.remaining) + " of " + p.total + " rows handled.";
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) throw new Error("status " + answer.status);
        return answer.json();
      })
      .then(function (p) {
        show(p);
        if (p.finished) window.location.reload();
        else window.setTimeout(tick, 1000);
      })
      .catch(function () {
        // The Refresh link still works; stop polling.
      });
  }

  window.setTimeout(tick, 1000);
})();
