/* Resident web chat: sends through the hotline gateway, polls for operator messages. */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var log = document.getElementById("resident-log");
  var form = document.getElementById("resident-form");
  var input = document.getElementById("resident-text");
  var sendButton = document.getElementById("resident-send");

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function bubble(kind, text, buttons) {
    var b = document.createElement("div");
    b.className = "bubble bubble-" + kind;
    if (text) {
      var t = document.createElement("div");
      t.className = "bubble-text pre";
      t.textContent = text;
      b.appendChild(t);
    }
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "bubble-buttons";
      buttons.forEach(function (btn) {
        var el = document.createElement("button");
        el.type = "button";
        el.className = "chip";
        el.textContent = btn.title;
        el.addEventListener("click", function () { send(btn.payload, btn.title); });
        row.appendChild(el);
      });
      b.appendChild(row);
    }
    log.appendChild(b);
    scrollDown();
    return b;
  }

  function send(text, shown) {
    bubble("me", shown || text);
    var typing = bubble("bot typing", "…");
    sendButton.disabled = true;
    return fetch("/chat/send", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text, id: newId() })
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error((data.error && data.error.message) || "发送失败"); }
        return data;
      });
    }).then(function (data) {
      typing.remove();
      data.replies.forEach(function (rep) { bubble("bot", rep.text, rep.buttons); });
    }).catch(function (err) {
      typing.remove();
      bubble("notice", (err && err.message) || "网络异常，请稍后再试");
    }).then(function () {
      sendButton.disabled = false;
      input.focus();
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  var polling = false;
  function poll() {
    if (polling || document.hidden) { return; }
    polling = true;
    fetch("/chat/poll", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (data) {
        data.messages.forEach(function (m) {
          var kind = m.kind === "chat" ? "operator" : (m.kind === "handoff" ? "notice" : "bot");
          bubble(kind, m.text, m.buttons);
        });
      })
      .catch(function () {})
      .then(function () { polling = false; });
  }
  setInterval(poll, 2500);
  poll();
  scrollDown();
})();
