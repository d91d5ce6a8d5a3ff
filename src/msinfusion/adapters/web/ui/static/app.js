/* msinfusion: live countdowns and focus after a swap. No framework; times come from the
   server (data-server-now), so a wrong clock on the tablet does not shift a countdown. */
(function () {
  "use strict";
  var offsetMs = 0;

  function syncClock(root) {
    var holder = root.matches && root.matches("[data-server-now]") ? root : root.querySelector && root.querySelector("[data-server-now]");
    if (holder) {
      var server = Date.parse(holder.getAttribute("data-server-now"));
      if (!isNaN(server)) { offsetMs = server - Date.now(); }
    }
  }

  function words(ms) {
    var total = Math.round(Math.abs(ms) / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = (h > 0 ? h + " h " : "") + m + " min";
    return h > 0 ? mm : mm + " " + (s < 10 ? "0" : "") + s + " s";
  }

  function tick() {
    var now = Date.now() + offsetMs;
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) { return; }
      var left = due - now;
      // "due now" from the due instant on (never before: the engine accepts a step from then).
      if (left <= 0 && left > -30000) { el.textContent = "due now"; el.classList.remove("overdue"); }
      else if (left > 0) { el.textContent = "in " + words(left); el.classList.remove("overdue"); }
      else { el.textContent = "overdue by " + words(left); el.classList.add("overdue"); }
    });
  }

  function focusMessage(root) {
    var target = root.querySelector && root.querySelector("[data-autofocus]");
    if (target) { target.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncClock(document.body);
    tick();
    window.setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    syncClock(document.body);
    tick();
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "post") { focusMessage(document.body); }
  });
  document.addEventListener("htmx:sseOpen", function () {
    document.body.setAttribute("data-live", "open");
    var live = document.getElementById("live-state");
    if (live) { live.innerHTML = "<span aria-hidden=\"true\">●</span> Live: updates appear without reloading"; }
  });
  document.addEventListener("htmx:sseError", function () {
    document.body.setAttribute("data-live", "error");
    var live = document.getElementById("live-state");
    if (live) { live.textContent = "⚠ Live updates interrupted: reconnecting…"; }
  });
}());
