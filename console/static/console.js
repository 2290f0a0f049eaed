/* Operator console: live queue, transcript loading, canned replies, live handoff chat.
   No inline scripts (the pages' Content-Security-Policy forbids them). */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { throw new Error("login"); }
        if (!r.ok) { throw new Error("http " + r.status); }
        return r.json();
      });
  }

  function every(ms, fn) {
    var busy = false;
    function tick() {
      if (busy || document.hidden) { return; }
      busy = true;
      Promise.resolve(fn()).catch(function (err) {
        if (err && err.message === "login") { showExpired(); }
      }).then(function () { busy = false; });
    }
    setInterval(tick, ms);
    return tick;
  }

  function showExpired() {
    if (document.getElementById("session-expired")) { return; }
    var div = document.createElement("div");
    div.id = "session-expired";
    div.className = "flash flash-error";
    div.textContent = "登录已过期，请刷新页面重新登录。";
    var main = document.querySelector("main");
    if (main) { main.insertBefore(div, main.firstChild); }
  }

  /* Forms that ask first (merging cases, full exports, irreversible requests). */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.hasAttribute && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    }
  });

  /* Clickable queue rows. */
  document.addEventListener("click", function (ev) {
    var row = ev.target.closest && ev.target.closest("tr[data-href]");
    if (!row || ev.target.closest("a, button, input, select, textarea")) { return; }
    window.location.href = row.getAttribute("data-href");
  });

  /* The live queue. */
  var queue = document.getElementById("queue");
  if (queue) {
    var rowsEl = document.getElementById("queue-rows");
    var countsEl = document.getElementById("status-counts");
    var updated = document.getElementById("queue-updated");
    var known = {};
    Array.prototype.forEach.call(rowsEl.querySelectorAll("tr[data-number]"), function (tr) {
      known[tr.getAttribute("data-number")] = true;
    });
    every(5000, function () {
      return getJSON(queue.getAttribute("data-feed")).then(function (data) {
        rowsEl.innerHTML = data.rows_html;
        countsEl.innerHTML = data.counts_html;
        var fresh = 0;
        Array.prototype.forEach.call(rowsEl.querySelectorAll("tr[data-number]"), function (tr) {
          var n = tr.getAttribute("data-number");
          if (!known[n]) { tr.classList.add("new-row"); known[n] = true; fresh += 1; }
        });
        Object.keys(data.view_counts || {}).forEach(function (k) {
          var el = document.querySelector('[data-view-count="' + k + '"]');
          if (el) { el.textContent = data.view_counts[k]; }
        });
        var now = new Date();
        updated.textContent = "已自动刷新 " + now.toLocaleTimeString("zh-CN", { hour12: false }) +
          (fresh ? "，新增 " + fresh + " 件" : "");
      });
    });
  }

  /* Transcript on the case page. */
  var transcript = document.getElementById("transcript");
  if (transcript && transcript.getAttribute("data-src")) {
    fetch(transcript.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(); } return r.text(); })
      .then(function (html) { transcript.innerHTML = html; })
      .catch(function () { transcript.innerHTML = '<p class="notice">对话记录暂不可用。</p>'; });
  }

  /* Canned replies fill the text box. */
  Array.prototype.forEach.call(document.querySelectorAll(".canned-select"), function (sel) {
    sel.addEventListener("change", function () {
      var opt = sel.options[sel.selectedIndex];
      var target = document.getElementById(sel.getAttribute("data-target"));
      if (target && opt && opt.getAttribute("data-text")) {
        target.value = opt.getAttribute("data-text");
        target.focus();
      }
    });
  });

  /* Emergency hint on the intake form. */
  var urgency = document.getElementById("urgency-select");
  var hint = document.getElementById("emergency-hint");
  if (urgency && hint) {
    var toggle = function () { hint.classList.toggle("alert", urgency.value === "emergency"); };
    urgency.addEventListener("change", toggle);
    toggle();
  }

  /* Waiting residents: the badge in the top bar, and the lists on /handoff. */
  var badge = document.getElementById("handoff-waiting");
  var lists = document.getElementById("handoff-lists");
  if (badge) {
    var refresh = every(lists ? 3000 : 10000, function () {
      return getJSON(badge.getAttribute("data-feed")).then(function (data) {
        badge.textContent = data.waiting;
        badge.hidden = !data.waiting;
        if (lists) { lists.innerHTML = data.html; }
      });
    });
    refresh();
  }

  /* Live handoff chat. */
  var log = document.getElementById("chat-log");
  if (log) {
    var after = parseInt(log.getAttribute("data-after") || "0", 10);
    var feed = log.getAttribute("data-feed");
    var form = document.getElementById("operator-chat-form");
    var text = document.getElementById("operator-text");
    var scrollDown = function () { log.scrollTop = log.scrollHeight; };
    var fmt = function (iso) {
      var d = new Date(iso);
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    };
    var append = function (m) {
      if (m.id <= after) { return; }
      after = m.id;
      var empty = document.getElementById("chat-empty");
      if (empty) { empty.remove(); }
      var b = document.createElement("div");
      b.className = "bubble bubble-" + m.who + " new-row";
      b.setAttribute("data-id", m.id);
      var meta = document.createElement("div");
      meta.className = "bubble-meta";
      meta.textContent = m.author + (m.at ? " · " + fmt(m.at) : "");
      var body = document.createElement("div");
      body.className = "bubble-text pre";
      body.textContent = m.text;
      b.appendChild(meta);
      b.appendChild(body);
      log.appendChild(b);
    };
    var poll = every(2000, function () {
      return getJSON(feed + "?after=" + after).then(function (data) {
        var before = after;
        data.messages.forEach(append);
        if (after !== before) { scrollDown(); }
        if (form && !data.held_by_me) {
          form.querySelector("button").disabled = true;
          text.disabled = true;
          text.placeholder = "该会话已不由您接待";
        }
      });
    });
    scrollDown();
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var value = text.value.trim();
        if (!value) { return; }
        var body = new URLSearchParams();
        body.set("text", value);
        body.set("csrf_token", csrf);
        fetch(form.getAttribute("action"), {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": csrf },
          body: body
        }).then(function (r) {
          return r.json().then(function (data) {
            if (!r.ok) { throw new Error((data.error && data.error.message) || "发送失败"); }
            text.value = "";
            append(data.message);
            scrollDown();
          });
        }).catch(function (err) {
          alert(err.message || "发送失败");
        });
      });
      text.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
          ev.preventDefault();
          form.requestSubmit();
        }
      });
    }
  }
})();
