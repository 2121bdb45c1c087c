/* Countersign dashboard: confirmations, copy buttons, the live inbox and the reply box.
 * Plain JavaScript, loaded as a static file (the Content-Security-Policy allows no
 * inline script). Everything from the server is inserted as text, never as HTML.
 */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Copy buttons next to a secret or key shown once.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
    });
  });

  function ago(iso) {
    var seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!(seconds >= 60)) return "just now";
    var units = [[86400, "day"], [3600, "hour"], [60, "minute"]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][0]) {
        var n = Math.floor(seconds / units[i][0]);
        return n + " " + units[i][1] + (n === 1 ? "" : "s") + " ago";
      }
    }
    return "just now";
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: body
    });
  }

  // ---- the thread -----------------------------------------------------------------
  var messages = document.getElementById("messages");
  var openConversation = messages ? messages.getAttribute("data-conversation-id") : null;
  var replyForm = document.getElementById("reply");
  var contactLabel = replyForm ? replyForm.getAttribute("data-contact-label") : "";
  var readTimer = null;

  function lastSeq() {
    var items = messages ? messages.querySelectorAll("li[data-seq]") : [];
    return items.length ? Number(items[items.length - 1].getAttribute("data-seq")) : 0;
  }

  function markRead() {
    if (!messages) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      post(messages.getAttribute("data-read-url"), { seq: String(lastSeq()) });
    }, 300);
  }

  function scrollDown() {
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  // Read receipts: *Seen* sits under the last message the contact has read (any device).
  var seen = document.querySelector("[data-seen]");
  var contactRead = messages ? Number(messages.getAttribute("data-contact-read")) || 0 : 0;
  function showSeen() {
    if (!messages || !seen) return;
    var read = null;
    messages.querySelectorAll("li[data-seq]").forEach(function (item) {
      var seq = Number(item.getAttribute("data-seq"));
      if (seq <= contactRead && !item.classList.contains("from-note")) read = item;
    });
    seen.hidden = !read;
    if (read) read.appendChild(seen);
  }
  showSeen();

  // Typing: shown for 5 s after the last signal (a signal comes at most once a second).
  var typingLine = document.querySelector("[data-typing]");
  var typingTimers = {};
  function showTyping(conversationId, row) {
    var key = conversationId;
    var tag = row ? row.querySelector('[data-field="typing"]') : null;
    if (tag) tag.hidden = false;
    var here = conversationId === openConversation && typingLine;
    if (here) { typingLine.textContent = contactLabel + " is typing…"; typingLine.hidden = false; }
    clearTimeout(typingTimers[key]);
    typingTimers[key] = setTimeout(function () {
      if (tag) tag.hidden = true;
      if (here) typingLine.hidden = true;
    }, 5000);
  }

  function appendMessage(message) {
    if (!messages || messages.querySelector('[data-message-id="' + CSS.escape(message.id) + '"]')) return;
    var empty = messages.querySelector(".empty");
    if (empty) empty.remove();
    var type = message.author && message.author.type || "contact";
    var item = document.createElement("li");
    item.className = "msg from-" + type;
    item.setAttribute("data-message-id", message.id);
    item.setAttribute("data-seq", String(message.seq));
    var meta = document.createElement("div");
    meta.className = "meta";
    if (type === "note") {
      var tag = document.createElement("span");
      tag.className = "note-tag";
      tag.textContent = "Private note";
      meta.appendChild(tag);
      meta.appendChild(document.createTextNode(" "));
    }
    var author = document.createElement("span");
    author.className = "author";
    author.textContent = (message.author && message.author.name) || (type === "contact" ? contactLabel : type);
    var time = document.createElement("time");
    time.setAttribute("datetime", message.created_at);
    time.textContent = "just now";
    meta.appendChild(author);
    meta.appendChild(time);
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = message.body;
    item.appendChild(meta);
    item.appendChild(body);
    messages.appendChild(item);
    scrollDown();
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  if (replyForm) {
    var state = replyForm.querySelector("[data-reply-state]");
    var textarea = replyForm.querySelector("textarea");
    var clientId = replyForm.querySelector('input[name="client_id"]');
    clientId.value = newClientId();
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) replyForm.requestSubmit();
    });
    // The contact sees "<name> is typing…": at most one signal a second (so does the server).
    var typedAt = 0;
    textarea.addEventListener("input", function () {
      if (!textarea.value || Date.now() - typedAt < 1000) return;
      typedAt = Date.now();
      post(replyForm.getAttribute("data-typing-url"), {}).catch(function () {});
    });
    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!textarea.value.trim()) return;
      var button = replyForm.querySelector("button[type=submit]");
      button.disabled = true;
      state.textContent = "Sending…";
      // The same client_id on a retry returns the original message: no duplicate.
      post(replyForm.action, { body: textarea.value, client_id: clientId.value })
        .then(function (response) {
          return response.json().then(function (document) {
            if (!response.ok) throw new Error(document.error ? document.error.message : "not sent");
            appendMessage(document);
            textarea.value = "";
            clientId.value = newClientId();
            state.textContent = "";
          });
        })
        .catch(function (error) { state.textContent = "Not sent: " + error.message; })
        .then(function () { button.disabled = false; textarea.focus(); });
    });
  }
  scrollDown();

  // The snooze form's "tomorrow 9:00" is in the operator's own time zone.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  document.querySelectorAll('input[name="time_zone"]').forEach(function (input) { input.value = zone; });
  var snoozeDate = document.getElementById("snooze-date");
  if (snoozeDate) {
    // Choosing a date picks the "On the date" snooze.
    snoozeDate.addEventListener("change", function () {
      var until = document.getElementById("snooze-until");
      if (until && snoozeDate.value) until.value = "date";
    });
  }

  // The private note form: added to the thread in place, like a reply.
  var noteForm = document.getElementById("note-form");
  if (noteForm) {
    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var area = noteForm.querySelector("textarea");
      if (!area.value.trim()) return;
      post(noteForm.action, { body: area.value }).then(function (response) {
        return response.json().then(function (document) {
          if (!response.ok) throw new Error(document.error ? document.error.message : "not added");
          appendMessage(document);
          area.value = "";
        });
      }).catch(function (error) { window.alert("The note was not added: " + error.message); });
    });
  }

  // ---- the inbox list, live -------------------------------------------------------
  var inbox = document.querySelector("[data-live-inbox]");
  if (!inbox) return;
  var list = inbox.querySelector("[data-conv-list]");
  var template = inbox.querySelector("template[data-conv-template]");
  var liveState = inbox.querySelector("[data-live-state]");
  var threadBase = inbox.getAttribute("data-thread-base");
  var threadQuery = inbox.getAttribute("data-thread-query") || "";
  var currentView = inbox.getAttribute("data-view");
  var me = inbox.getAttribute("data-operator-id");
  var searching = !!inbox.getAttribute("data-searching");

  function field(row, name) { return row.querySelector('[data-field="' + name + '"]'); }

  function rowFor(conversationId, contact) {
    var row = list.querySelector('li[data-conversation-id="' + CSS.escape(conversationId) + '"]');
    if (row) return row;
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    row = template.content.firstElementChild.cloneNode(true);
    row.setAttribute("data-conversation-id", conversationId);
    row.querySelector("a").setAttribute("href", threadBase + encodeURIComponent(conversationId) + threadQuery);
    var badge = field(row, "badge");
    badge.className = "badge badge-" + contact.status;
    badge.textContent = contact.status;
    field(row, "who").textContent = contact.label;
    list.insertBefore(row, list.firstChild);
    return row;
  }

  function onMessage(event) {
    showCounts(event.counts);
    var message = event.message;
    var fromContact = message.author && message.author.type === "contact";
    if (event.conversation_id === openConversation) {
      appendMessage(message);
      markRead();
      if (fromContact && typingLine) typingLine.hidden = true;
    }
    var known = list.querySelector('li[data-conversation-id="' + CSS.escape(event.conversation_id) + '"]');
    // A conversation new to this list joins it only where every open one belongs (a
    // reopened one arrives with its conversation.updated, which says where it goes).
    if (!known && (currentView !== "open" || searching)) return;
    var row = rowFor(event.conversation_id, event.contact);
    var preview = (fromContact ? "" : "You: ") + message.body;
    field(row, "preview").textContent = preview.length > 90 ? preview.slice(0, 87) + "..." : preview;
    var time = field(row, "time");
    time.setAttribute("datetime", message.created_at);
    time.textContent = "just now";
    list.insertBefore(row, list.firstChild);
    if (event.conversation_id !== openConversation && fromContact) {
      row.classList.add("unread");
      var count = field(row, "unread");
      count.textContent = String((Number(count.textContent) || 0) + 1);
    }
  }

  // Whether a conversation in this state belongs in the view this page shows.
  function inView(conversation) {
    var assignee = conversation.assignee ? conversation.assignee.id : null;
    if (currentView === "mine") return conversation.status === "open" && assignee === me;
    if (currentView === "unassigned") return conversation.status === "open" && !assignee;
    return conversation.status === currentView;
  }

  function showCounts(counts) {
    if (!counts) return;
    Object.keys(counts).forEach(function (key) {
      var count = inbox.querySelector('[data-count="' + key + '"]');
      if (count) count.textContent = String(counts[key]);
    });
  }

  function workflowText(conversation) {
    var who = conversation.assignee ? conversation.assignee.name : "Unassigned";
    return who + (conversation.status === "open" ? "" : " · " + conversation.status);
  }

  // Another operator (or the contact, or the snooze clock) changed a conversation.
  function onUpdated(event) {
    var conversation = event.conversation;
    showCounts(event.counts);
    var existing = list.querySelector('li[data-conversation-id="' + CSS.escape(conversation.id) + '"]');
    if (inView(conversation) && !searching) {
      var row = rowFor(conversation.id, event.contact);
      if (!existing) row.classList.remove("unread");
      row.setAttribute("data-status", conversation.status);
      row.setAttribute("data-assignee-id", conversation.assignee ? conversation.assignee.id : "");
      field(row, "workflow").textContent = workflowText(conversation);
    } else if (existing && !existing.classList.contains("current")) {
      existing.remove();
    } else if (existing) {
      field(existing, "workflow").textContent = workflowText(conversation);
    }
    if (conversation.id !== openConversation) return;
    var state = document.querySelector("[data-workflow-state]");
    if (state) {
      state.setAttribute("data-status", conversation.status);
      state.querySelector('[data-field="status"]').textContent =
        conversation.status.charAt(0).toUpperCase() + conversation.status.slice(1);
      state.querySelector('[data-field="assignee"]').textContent =
        conversation.assignee ? "assigned to " + conversation.assignee.name : "unassigned";
      var time = state.querySelector("time");
      if (time && conversation.status !== "snoozed") time.remove();
    }
    document.querySelectorAll("[data-show-unless]").forEach(function (form) {
      form.hidden = form.getAttribute("data-show-unless") === conversation.status;
    });
    var select = document.getElementById("assignee");
    if (select) select.value = conversation.assignee ? conversation.assignee.id : "";
  }

  function onNote(event) {
    showCounts(event.counts);
    if (event.conversation_id === openConversation && event.message) appendMessage(event.message);
  }

  function setLive(on, text) {
    if (!liveState) return;
    liveState.textContent = text;
    liveState.classList.toggle("on", on);
  }

  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + inbox.getAttribute("data-live-url"));
    // The mark says what the page was rendered from: a change since then (made before
    // this socket listened) makes the server answer "resync", and the page reloads.
    var mark = Number(inbox.getAttribute("data-live-mark")) || 0;
    socket.onopen = function () { socket.send(JSON.stringify({ csrf: csrf, mark: mark })); };
    socket.onmessage = function (frame) {
      var event;
      try { event = JSON.parse(frame.data); } catch (e) { return; }
      if (event.type === "ready") { delay = 1000; setLive(true, "live"); }
      else if (event.type === "resync") location.reload();
      else if (event.type === "message.created") onMessage(event);
      else if (event.type === "conversation.created") {
        showCounts(event.counts);
        if ((currentView === "open" || currentView === "unassigned") && !searching) {
          rowFor(event.conversation_id, event.contact);
        }
      }
      else if (event.type === "conversation.updated") onUpdated(event);
      else if (event.type === "note.created") onNote(event);
      else if (event.type === "typing" && event.data && event.data.author.type === "contact") {
        showTyping(event.data.conversation_id,
          list.querySelector('li[data-conversation-id="' + CSS.escape(event.data.conversation_id) + '"]'));
      }
      else if (event.type === "conversation.read" && event.by === "contact" &&
               event.conversation_id === openConversation) {
        contactRead = Math.max(contactRead, event.up_to_seq);
        showSeen();
      }
    };
    socket.onclose = function (close) {
      if (close.code === 4401) { setLive(false, "logged out"); return; }
      setLive(false, "reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();

  // Relative times stay relative.
  setInterval(function () {
    document.querySelectorAll("time[datetime]").forEach(function (time) {
      time.textContent = ago(time.getAttribute("datetime"));
    });
  }, 30000);
})();
