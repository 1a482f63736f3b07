// The Omnibus console's only script: live updates over server-sent events
// (the page fetches itself and swaps its [data-live] parts), local times,
// reply-to, and keyboard shortcuts. Everything works without it, reloading.
(function () {
  "use strict";

  function localTimes(root) {
    var today = new Date().toDateString();
    root.querySelectorAll("time[data-ts]").forEach(function (el) {
      var d = new Date(Number(el.dataset.ts) * 1000);
      el.textContent = d.toDateString() === today
        ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " +
          d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      el.title = d.toLocaleString();
    });
  }

  function scrollToEnd(force) {
    var list = document.getElementById("messages");
    if (!list) return;
    var near = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || near) list.scrollTop = list.scrollHeight;
  }

  var refreshing = false, again = false, timer = null;

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Live": "1" } })
      .then(function (r) {
        if (r.redirected && r.url.indexOf("/console/login") >= 0) { location.href = r.url; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (text) {
        if (!text) return;
        var fresh = new DOMParser().parseFromString(text, "text/html");
        var list = document.getElementById("messages");
        var atEnd = list && list.scrollHeight - list.scrollTop - list.clientHeight < 120;
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          if (next && next.innerHTML !== el.innerHTML) {
            el.innerHTML = next.innerHTML;
            localTimes(el);
          }
        });
        if (atEnd) scrollToEnd(true);
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  function live() {
    if (!document.querySelector("[data-live-page]") || !window.EventSource) return;
    var dot = document.getElementById("presence");
    var source = new EventSource("/console/events");
    source.addEventListener("ready", function () {
      if (dot) { dot.classList.add("online"); dot.title = "online: you receive new conversations"; }
      document.body.dataset.live = "on";
      // A page showing presence shows this operator's too, now online.
      if (document.querySelector("[data-refresh-when-online]")) soon();
    });
    source.addEventListener("change", soon);
    source.onerror = function () {
      if (dot) dot.classList.remove("online");
      document.body.dataset.live = "off";
    };
    // A page left behind (or kept in the back-forward cache) must not hold
    // one of the browser's few connections to the server.
    window.addEventListener("pagehide", function () { source.close(); });
    window.addEventListener("pageshow", function (e) { if (e.persisted) location.reload(); });
    // Waiting times and the window's time left move on their own.
    setInterval(refresh, 30000);
    // Delivery ticks are not notifications: follow a message being sent.
    setInterval(function () {
      if (document.querySelector('[data-status="Sending"]')) refresh();
    }, 1000);
  }

  function replies() {
    var field = document.getElementById("reply-to");
    var banner = document.getElementById("replying");
    var text = document.getElementById("composer-text");
    if (!field || !banner) return;
    document.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("button.reply");
      if (button) {
        field.value = button.dataset.reply;
        banner.querySelector("span").textContent = "Replying to: " + (button.dataset.quote || "a message");
        banner.hidden = false;
        text.focus();
      } else if (e.target.id === "cancel-reply") {
        field.value = "";
        banner.hidden = true;
        text.focus();
      }
    });
  }

  function composer() {
    var form = document.getElementById("composer");
    var text = document.getElementById("composer-text");
    if (!form || !text) return;
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    document.querySelectorAll("form").forEach(function (f) {
      f.addEventListener("submit", function () {
        var b = f.querySelector("button[type=submit], button:not([type])");
        if (b) setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    scrollToEnd(true);
    replies();
    composer();
    live();
  });
})();
