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


  /* Idle sign-out (Settings.idle_signout): no key press, click or touch for the configured
     time submits the page's sign-out form; a warning with a "Stay signed in" button shows a
     minute before. Live updates (SSE, polling) do not count as activity. */
  function idleSignOut() {
    var limitS = parseInt(document.body.getAttribute("data-idle-signout-s") || "0", 10);
    var form = document.getElementById("signout-form");
    var warning = document.getElementById("idle-warning");
    if (!limitS || !form || !warning) { return; }
    var last = Date.now();
    var warned = false;
    var left = warning.querySelector("[data-idle-left]");
    var stay = warning.querySelector("[data-idle-stay]");
    function active() {
      last = Date.now();
      if (warned) { warned = false; warning.hidden = true; }
    }
    ["keydown", "pointerdown", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, active, { passive: true, capture: true });
    });
    if (stay) { stay.addEventListener("click", active); }
    window.setInterval(function () {
      var idleMs = Date.now() - last;
      var remaining = limitS * 1000 - idleMs;
      if (remaining <= 0) { form.submit(); return; }
      if (remaining <= 60000) {
        if (left) { left.textContent = Math.ceil(remaining / 1000) + " s"; }
        if (!warned) {
          warned = true;
          warning.hidden = false;
          if (stay) { stay.focus(); }
        }
      }
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    idleSignOut();
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
