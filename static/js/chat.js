/* The chat page: transcript with branches, streaming render, composer, sidebar, settings.
 * Talks to the server over the websocket (socket.js) and a few JSON endpoints (chat/views.py). */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const C = window.Chatapp;
  const esc = C.markdown.escapeHtml;
  const data = JSON.parse($("chat-data").textContent);

  const state = {
    conv: data.conversation, // {id, title, model, cost, system_prompt, parameters} or null
    model: (data.conversation && data.conversation.model) || data.default_model,
    messages: new Map(), // id → message (every branch)
    children: new Map(), // parent id (or "root") → [message ids], oldest first
    choice: new Map(), // parent key → chosen child id
    views: new Map(), // id → view
    streaming: null, // id of the reply that is streaming
    pending: new Map(), // client_id → {content, attachments (chips), model, view, queued}: the outbox, oldest first
    inflight: null, // client_id of the send handed to the socket, until its reply is announced
    synced: false, // the socket is open and the snapshot after it arrived (or nothing to sync)
    stopWanted: false, // Stop was pressed while the socket was down
    signedOut: false,
    stick: true,
  };

  const files = C.attachments; // attachments.js: the composer's tray and the messages' files
  const transcript = $("transcript");
  const list = $("messages");
  const input = $("message");

  // --- small helpers ---------------------------------------------------------------------------

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  const svg = (d) => '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">' + d + "</svg>";
  const ICONS = {
    copy: svg('<rect x="5.5" y="5.5" width="8" height="8" rx="1.5"/><path d="M10.5 5.5V4a1.5 1.5 0 0 0-1.5-1.5H4A1.5 1.5 0 0 0 2.5 4v5A1.5 1.5 0 0 0 4 10.5h1.5"/>'),
    regenerate: svg('<path d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9"/><path d="M13.5 2.5v3h-3"/>'),
    edit: svg('<path d="M10.5 2.5l3 3L6 13H3v-3z"/>'),
    trash: svg('<path d="M2.5 4.5h11M6 4.5V3h4v1.5M4 4.5l.7 9h6.6l.7-9"/>'),
    check: svg('<path d="M3 8.5l3 3 7-7"/>'),
  };
  window.Chatapp.icons = ICONS;
  // What share.js needs: the open conversation and the last message of the branch on screen.
  window.Chatapp.chat = {
    conversationId: () => (state.conv ? state.conv.id : null),
    leaf: () => { const shown = path(); return shown.length ? shown[shown.length - 1].id : null; },
  };

  function csrf() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  /** "$0.0012": the stored decimal string exactly, trailing zeros dropped. Never via floats. */
  function money(value) {
    if (value === null || value === undefined || value === "") return "";
    let s = String(value);
    if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
    if (s.includes(".") && s.split(".")[1].length === 1) s += "0";
    return "$" + s;
  }

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {}),
    });
    let payload = {};
    try { payload = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(payload.error || "The server said no (" + response.status + "). Reload the page and try again.");
    return payload;
  }

  function modelName(id) {
    const m = picker.get(id);
    return m ? m.name : id;
  }

  // --- the message tree ------------------------------------------------------------------------

  function key(parent) {
    return parent === null || parent === undefined ? "root" : String(parent);
  }

  function addMessage(m) {
    const known = state.messages.get(m.id);
    if (known && m.status === "streaming") {
      // A snapshot can trail what the deltas already brought: keep the longer text.
      if (known.content.length > m.content.length) m.content = known.content;
      if ((known.reasoning || "").length > (m.reasoning || "").length) m.reasoning = known.reasoning;
    }
    state.messages.set(m.id, Object.assign(known || {}, m));
    if (!known) {
      const k = key(m.parent);
      const kids = state.children.get(k) || [];
      kids.push(m.id);
      state.children.set(k, kids);
    }
    return state.messages.get(m.id);
  }

  function path() {
    const out = [];
    let parent = "root";
    for (;;) {
      const kids = state.children.get(parent);
      if (!kids || !kids.length) return out;
      const chosen = state.choice.get(parent);
      const id = kids.includes(chosen) ? chosen : kids[kids.length - 1];
      out.push(state.messages.get(id));
      parent = String(id);
    }
  }

  // --- rendering -------------------------------------------------------------------------------

  function viewFor(m) {
    let view = state.views.get(m.id);
    if (view) return view;
    const el = document.createElement("article");
    el.className = "msg " + m.role;
    el.dataset.id = m.id;
    if (m.role === "user") {
      el.innerHTML = '<div class="msg-attachments" role="group" aria-label="Attachments" hidden></div><div class="bubble"></div><div class="msg-actions"></div>';
      view = { el: el, files: el.querySelector(".msg-attachments"), bubble: el.querySelector(".bubble"), actions: el.querySelector(".msg-actions") };
    } else {
      el.innerHTML =
        '<div class="avatar-ai" aria-hidden="true"></div><div class="msg-col">' +
        '<details class="reasoning" hidden><summary>Reasoning</summary><div class="reasoning-text"></div></details>' +
        '<div class="md" aria-live="off"></div><div class="typing" hidden><span></span><span></span><span></span></div>' +
        '<div class="msg-error" role="alert" hidden><p class="msg-error-text"></p><button type="button" class="small retry">Retry</button></div>' +
        '<div class="msg-foot"><div class="msg-meta num"></div><div class="msg-actions"></div></div></div>';
      view = {
        el: el,
        md: el.querySelector(".md"),
        reasoning: el.querySelector(".reasoning"),
        reasoningText: el.querySelector(".reasoning-text"),
        typing: el.querySelector(".typing"),
        error: el.querySelector(".msg-error"),
        meta: el.querySelector(".msg-meta"),
        actions: el.querySelector(".msg-actions"),
      };
      view.renderer = new C.markdown.StreamRenderer(view.md);
    }
    state.views.set(m.id, view);
    return view;
  }

  function renderPath() {
    const shown = path();
    const wanted = new Set(shown.map((m) => m.id));
    for (const [id, view] of state.views) {
      if (!wanted.has(id)) { view.el.remove(); }
    }
    let previous = null;
    const last = lastReply(shown);
    state.trimmedNotice = C.replyExtras.firstTrimmed(shown);
    for (const m of shown) {
      const view = viewFor(m);
      const fresh = !view.el.isConnected;
      if (view.el.previousElementSibling !== previous || fresh) {
        if (previous) previous.after(view.el); else list.prepend(view.el);
      }
      previous = view.el;
      if (fresh) renderBody(m, true);
      renderChrome(m, m === last);
    }
    for (const pending of state.pending.values()) list.appendChild(pending.view);
    $("welcome").hidden = shown.length > 0 || state.pending.size > 0;
    scrollIfStuck();
  }

  function lastReply(shown) {
    for (let i = shown.length - 1; i >= 0; i--) if (shown[i].role === "assistant") return shown[i];
    return null;
  }

  function renderBody(m, full) {
    const view = viewFor(m);
    if (m.role === "user") {
      view.bubble.textContent = m.content;
      view.bubble.hidden = !m.content || view.el.classList.contains("editing");
      files.renderInto(view.files, m.attachments);
      return;
    }
    const streaming = m.status === "streaming";
    if (full && !streaming) view.renderer.reset();
    view.renderer.update(m.content || "", !streaming);
    view.typing.hidden = !(streaming && !m.content);
    if (m.reasoning) {
      view.reasoning.hidden = false;
      view.reasoningText.textContent = m.reasoning;
      view.reasoning.querySelector("summary").textContent = streaming && !m.content ? "Thinking…" : "Reasoning";
    }
    view.el.classList.toggle("streaming", streaming);
  }

  function renderChrome(m, isLastReply) {
    const view = viewFor(m);
    const siblings = state.children.get(key(m.parent)) || [];
    const index = siblings.indexOf(m.id);
    let actions = "";
    if (siblings.length > 1) {
      actions +=
        '<span class="branch" role="group" aria-label="Versions"><button type="button" class="icon branch-prev" aria-label="Previous version"' +
        (index === 0 ? " disabled" : "") + '>‹</button><span class="branch-pos num">' + (index + 1) + "/" + siblings.length +
        '</span><button type="button" class="icon branch-next" aria-label="Next version"' +
        (index === siblings.length - 1 ? " disabled" : "") + ">›</button></span>";
    }
    if (m.role === "user") {
      actions = timeHtml(m.created_at) + actions +
        '<button type="button" class="icon copy-message" aria-label="Copy message" title="Copy">' + ICONS.copy + "</button>" +
        '<button type="button" class="icon edit" aria-label="Edit message" title="Edit">' + ICONS.edit + "</button>";
      view.actions.innerHTML = actions;
      return;
    }
    const done = m.status !== "streaming";
    const explained = m.status === "error" || m.status === "interrupted"; // its own button below
    if (done && m.content) actions += '<button type="button" class="icon copy-reply" aria-label="Copy reply" title="Copy">' + ICONS.copy + "</button>";
    if (done && isLastReply && !explained) actions += '<button type="button" class="icon regenerate" aria-label="Regenerate" title="Regenerate">' + ICONS.regenerate + "</button>";
    view.actions.innerHTML = actions;
    view.meta.innerHTML = metaHtml(m);
    C.replyExtras.renderSources(view, m);
    C.replyExtras.renderNotice(view, m, m.id === state.trimmedNotice, modelName(m.model_used || m.model));
    renderExplanation(view, m, explained);
  }

  const EXPLAIN = {
    error: ["The model could not answer this time. Try again, or pick another model.", "Retry"],
    interrupted: ["The server stopped while this reply was being written; the text saved so far is kept. Press Regenerate to try again.", "Regenerate"],
  };

  /** Why a reply failed or was cut off (the server's sentence), with the button that tries again. */
  function renderExplanation(view, m, explained) {
    view.error.hidden = !explained;
    if (!explained) return;
    const [fallback, action] = EXPLAIN[m.status];
    view.error.classList.toggle("notice", m.status === "interrupted");
    view.error.querySelector(".msg-error-text").textContent = m.error_text || fallback;
    view.error.querySelector(".retry").textContent = action;
  }

  function metaHtml(m) {
    const parts = ['<span class="meta-model">' + esc(modelName(m.model_used || m.model)) + "</span>"];
    if (m.provider) parts.push('<span class="meta-provider">via ' + esc(m.provider) + "</span>");
    parts.push(...C.replyExtras.metaParts(m, esc, money));
    if (m.status === "cancelled") parts.push('<span class="badge">Stopped</span>');
    if (m.status === "interrupted") parts.push('<span class="badge" title="The server restarted while this reply was being written.">Interrupted</span>');
    if (m.completion_tokens !== null && m.completion_tokens !== undefined) {
      parts.push('<span title="prompt tokens → completion tokens">' + (m.prompt_tokens || 0).toLocaleString() + " → " + m.completion_tokens.toLocaleString() + " tokens</span>");
    }
    if (m.cost !== null && m.cost !== undefined) {
      parts.push('<span class="meta-cost" title="Cost of this reply, as reported by OpenRouter">' + esc(money(m.cost)) + "</span>");
    }
    if (PAID_BY[m.paid_by]) parts.push('<span class="meta-paid">' + PAID_BY[m.paid_by] + "</span>");
    if (m.time_to_first_token_ms !== null && m.time_to_first_token_ms !== undefined) {
      parts.push('<span title="time to first token">' + (m.time_to_first_token_ms / 1000).toFixed(2) + " s</span>");
    }
    const speed = tokensPerSecond(m);
    if (speed) parts.push('<span title="output speed">' + speed + " tok/s</span>");
    if (m.created_at) parts.push(timeHtml(m.created_at));
    return parts.join('<span class="dot" aria-hidden="true">·</span>');
  }

  const PAID_BY = { user: "paid with your key", operator: "paid by the site" };

  /** When a message was written: the time today, the day before that; the full date on hover. */
  function timeHtml(iso) {
    if (!iso) return "";
    const at = new Date(iso);
    const now = new Date();
    const clock = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    let label = clock;
    if (at.toDateString() !== now.toDateString()) {
      const day = at.toLocaleDateString([], at.getFullYear() === now.getFullYear()
        ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" });
      label = day + ", " + clock;
    }
    const full = at.toLocaleString([], { dateStyle: "full", timeStyle: "medium" });
    return '<time class="msg-time" datetime="' + esc(iso) + '" title="' + esc(full) + '">' + esc(label) + "</time>";
  }

  // Below half a second of streaming the figure measures network batching, not the model
  // (a reply that arrives in one burst would read "30000 tok/s"): then no speed is shown.
  const MIN_SPEED_SECONDS = 0.5;

  function tokensPerSecond(m) {
    if (!m.completion_tokens || !m.duration_ms) return "";
    const seconds = (m.duration_ms - (m.time_to_first_token_ms || 0)) / 1000;
    return seconds >= MIN_SPEED_SECONDS ? Math.round(m.completion_tokens / seconds).toString() : "";
  }

  // Render at most once per animation frame, and only the replies that changed.
  const dirty = new Set();
  let frame = 0;

  function schedule(id) {
    dirty.add(id);
    if (!frame) frame = requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    for (const id of dirty) {
      const m = state.messages.get(id);
      const view = state.views.get(id);
      if (m && view && view.el.isConnected) renderBody(m, false);
    }
    dirty.clear();
    scrollIfStuck();
  }

  // --- scrolling -------------------------------------------------------------------------------

  function scrollIfStuck() {
    if (state.stick) transcript.scrollTop = transcript.scrollHeight;
    $("jump").hidden = state.stick;
  }

  transcript.addEventListener("scroll", () => {
    const gap = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight;
    state.stick = gap < 60;
    $("jump").hidden = state.stick;
  }, { passive: true });

  $("jump").addEventListener("click", () => {
    state.stick = true;
    scrollIfStuck();
  });

  // --- streaming state -------------------------------------------------------------------------

  function setStreaming(id) {
    state.streaming = id;
    const on = id !== null;
    $("send").hidden = on;
    $("stop").hidden = !on;
  }

  function applyText(m, field, offset, text) {
    const have = (m[field] || "").length;
    if (offset > have) {
      subscribe(); // we missed part of it: the snapshot brings it back
      return false;
    }
    if (offset + text.length <= have) return false;
    m[field] = (m[field] || "").slice(0, offset) + text;
    return true;
  }

  // --- frames from the server ------------------------------------------------------------------

  const handlers = {
    snapshot(f) {
      state.synced = true;
      for (const m of f.messages) {
        if (m.status === "streaming") addMessage(m);
        else handlers.done({ message: m }); // it ended while this tab was away
      }
      const live = f.messages.find((m) => m.status === "streaming");
      if (live) setStreaming(live.id);
      else if (state.streaming && state.messages.get(state.streaming).status !== "streaming") setStreaming(null);
      renderPath();
      for (const m of f.messages) schedule(m.id);
      sendWantedStop();
      flushOutbox();
    },
    message_created(f) {
      adoptConversation(f.conversation);
      const m = addMessage(f.message);
      state.choice.set(key(m.parent), m.id);
      if (f.client_id && m.role === "user") dropPending(f.client_id);
      if (m.role === "assistant" && m.status === "streaming") {
        setStreaming(m.id);
        state.stick = true;
      }
      if (m.role === "assistant" && f.client_id === state.inflight) state.inflight = null;
      renderPath();
      flushOutbox();
    },
    delta(f) {
      const m = state.messages.get(f.message);
      if (m && applyText(m, "content", f.offset, f.text)) schedule(m.id);
    },
    reasoning_delta(f) {
      const m = state.messages.get(f.message);
      if (m && applyText(m, "reasoning", f.offset, f.text)) schedule(m.id);
    },
    usage(f) {
      const m = state.messages.get(f.message);
      if (!m) return;
      for (const k of ["prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens", "cost"]) m[k] = f[k];
      if (state.views.has(m.id)) state.views.get(m.id).meta.innerHTML = metaHtml(m);
    },
    done(f) {
      const m = addMessage(f.message);
      m.content = f.message.content;
      if (state.streaming === m.id) setStreaming(null);
      const view = state.views.get(m.id);
      if (view) view.renderer.update(m.content || "", true);
      renderPath();
      if (view) renderBody(m, false);
      document.dispatchEvent(new CustomEvent("chat:reply-done", { detail: m }));
      flushOutbox();
    },
    conversation_updated(f) {
      updateConversation(f.conversation);
    },
    error(f) {
      // A refused frame says which send it was; a rate limit or size cap, refused before the
      // frame was read, cannot: it can only be the send waiting for its answer.
      const unread = !f.client_id && (f.code === "rate_limited" || f.code === "too_large");
      const clientId = unread ? state.inflight : f.client_id;
      if (clientId && state.pending.has(clientId)) {
        giveBack(state.pending.get(clientId));
        dropPending(clientId);
        socket.forget(clientId);
        renderPath();
      }
      if (clientId && clientId === state.inflight) state.inflight = null;
      if (f.code === "not_found" && !f.client_id && state.conv && f.conversation === state.conv.id) state.synced = true;
      if (f.code === "no_key") showNoKey(f.message);
      else showComposerError(f.message);
      flushOutbox();
    },
  };

  function onFrame(frame) {
    if (frame.conversation !== undefined && frame.conversation !== null && typeof frame.conversation !== "object" &&
        state.conv && frame.conversation !== state.conv.id && frame.type !== "message_created") {
      return; // another conversation of ours (another tab): only the sidebar cares
    }
    const handler = handlers[frame.type];
    if (handler) handler(frame);
  }

  function subscribe() {
    if (!state.conv) return;
    // Replies this tab shows as streaming: if one ended while the socket was down, the
    // snapshot brings its final state (the `done` this tab missed).
    const streaming = [];
    for (const m of state.messages.values()) {
      if (m.role === "assistant" && m.status === "streaming") streaming.push(m.id);
    }
    socket.raw({ type: "subscribe", conversation: state.conv.id, streaming: streaming.slice(-100) });
  }

  function adoptConversation(id) {
    if (state.conv && state.conv.id === id) return;
    if (state.conv) return;
    state.conv = { id: id, title: "", model: state.model, cost: "0", system_prompt: "", parameters: {} };
    history.replaceState(null, "", "/c/" + id + "/");
    subscribe();
    document.dispatchEvent(new CustomEvent("chatapp:conversation", { detail: { id: id } }));
  }

  function onOpen() {
    state.synced = !state.conv; // else once the snapshot has said what is streaming now
    subscribe();
    flushOutbox();
  }

  function onStatus(status, info) {
    const offline = status !== "open";
    $("chat-main").classList.toggle("offline", offline);
    input.placeholder = status === "signed_out" ? SIGNED_OUT_PLACEHOLDER : offline ? OFFLINE_PLACEHOLDER : PLACEHOLDER;
    if (offline) state.synced = false;
    if (status === "signed_out") info = Object.assign({}, info, { restored: signedOut() });
    banner.show(status, info);
    renderPending();
  }

  const PLACEHOLDER = input.placeholder;
  const OFFLINE_PLACEHOLDER = "Message — sent once reconnected";
  const SIGNED_OUT_PLACEHOLDER = "Signed out — sign in again to send";
  const banner = new C.ConnectionBanner($("connection"), () => socket.reconnectNow());
  const socket = new C.ChatSocket(data.urls.socket, { onFrame: onFrame, onOpen: onOpen, onStatus: onStatus }, { probeUrl: data.urls.search + "?q=" });

  // --- composer --------------------------------------------------------------------------------

  function showComposerError(text) {
    const box = $("composer-error");
    box.textContent = text;
    box.hidden = !text;
  }

  function showNoKey(text) {
    $("nokey-text").textContent = text;
    $("nokey").hidden = false;
  }

  /** Put a message that was not sent back in the composer: its text and its attachments. */
  function giveBack(pending) {
    if (pending.content) restoreToComposer(pending.content);
    files.restore(pending.attachments);
  }

  /** Put text that was not sent back in the message box, before what is typed there now. */
  function restoreToComposer(text) {
    input.value = input.value.trim() ? text + "\n\n" + input.value : text;
    autosize();
  }

  // --- the outbox: a message is never dropped ---------------------------------------------------
  // Enter always takes the message. It goes out at once when it can; otherwise it waits in the
  // transcript, saying what it waits for (the connection, the reply still being written), and
  // goes out exactly once when it can: one at a time, each after the previous one's reply has
  // started, so a second one is never refused as "busy". Once handed to the socket it is
  // socket.js's to resend after a reconnect, under the same client_id (a no-op on the server).

  function dropPending(clientId) {
    const pending = state.pending.get(clientId);
    if (pending) pending.view.remove();
    state.pending.delete(clientId);
    renderPending();
  }

  function pendingBubble(content, clientId, attachments) {
    const el = document.createElement("article");
    el.className = "msg user pending";
    el.dataset.clientId = clientId;
    el.innerHTML = '<div class="msg-attachments" role="group" aria-label="Attachments" hidden></div><div class="bubble"></div><p class="pending-note"><span class="pending-text"></span>' +
      '<button type="button" class="link pending-cancel">Don\'t send</button></p>';
    const bubble = el.querySelector(".bubble");
    bubble.textContent = content;
    bubble.hidden = !content;
    files.renderPending(el.querySelector(".msg-attachments"), attachments);
    return el;
  }

  function canSendNow() {
    return socket.isOpen() && state.synced && !state.streaming && !state.inflight;
  }

  function flushOutbox() {
    if (canSendNow()) {
      const next = [...state.pending].find(([, p]) => p.queued);
      if (next && files.ready(next[1].attachments)) dispatch(next[0], next[1]); // else its uploads end first
    }
    renderPending();
  }

  function dispatch(clientId, pending) {
    const last = path().slice(-1)[0]; // now, not when it was typed: after the reply it waited for
    pending.queued = false;
    state.inflight = clientId;
    socket.send({
      type: "send", conversation: state.conv ? state.conv.id : null, client_id: clientId,
      content: pending.content, model: pending.model, parent: last ? last.id : null,
      attachments: files.ids(pending.attachments),
    });
  }

  /** Say on each waiting message what it waits for; tell the banner how many wait. */
  function renderPending() {
    const online = socket.isOpen() && state.synced;
    for (const pending of state.pending.values()) {
      const el = pending.view;
      el.classList.toggle("queued", pending.queued);
      el.querySelector(".pending-cancel").hidden = !pending.queued;
      const uploading = !files.ready(pending.attachments);
      el.querySelector(".pending-text").textContent = uploading && pending.queued ? "Uploading its attachments: it goes out once they are in."
        : !online ? "Not sent yet: it goes out once reconnected."
        : !pending.queued ? "Sending…"
        : state.streaming ? "Waits for the reply above to finish, then goes out."
        : "Next in line.";
    }
    banner.waiting(state.pending.size, state.stopWanted);
  }

  function cancelQueued(clientId) {
    const pending = state.pending.get(clientId);
    if (!pending || !pending.queued) return;
    giveBack(pending);
    dropPending(clientId);
    renderPath();
    input.focus();
  }

  function send() {
    const content = input.value.trim();
    if (!content && !files.count()) return;
    if (state.signedOut) {
      showComposerError("You were signed out, so this was not sent. Sign in again (the link above); your text stays here.");
      return;
    }
    if (!data.key.ok) { showNoKey(data.key.reason); return; }
    showComposerError("");
    const clientId = uuid();
    const attachments = files.take();
    state.pending.set(clientId, {
      content: content, attachments: attachments, model: state.model,
      view: pendingBubble(content, clientId, attachments), queued: true,
    });
    input.value = "";
    autosize();
    state.stick = true;
    flushOutbox();
    renderPath();
  }

  function stop() {
    if (!state.conv || !state.streaming) return;
    if (socket.raw({ type: "stop", conversation: state.conv.id })) return;
    state.stopWanted = true; // sent after the reconnect, if the reply is still being written
    renderPending();
  }

  function sendWantedStop() {
    if (state.stopWanted && state.streaming) socket.raw({ type: "stop", conversation: state.conv.id });
    state.stopWanted = false;
  }

  function regenerate(id) {
    if (!state.conv || state.streaming) return;
    showComposerError("");
    socket.send({ type: "regenerate", conversation: state.conv.id, message: id, client_id: uuid(), model: state.model });
  }

  // --- signed out: nothing more is sent; what was not sent goes back in the box -----------------

  const DRAFT = "chatapp.draft";

  function signedOut() {
    state.signedOut = true;
    const waiting = [...state.pending.values()];
    const unsent = waiting.map((p) => p.content).filter(Boolean);
    for (const p of waiting) files.restore(p.attachments);
    for (const clientId of [...state.pending.keys()]) dropPending(clientId);
    socket.drain();
    state.inflight = null;
    if (unsent.length) restoreToComposer(unsent.join("\n\n"));
    renderPath();
    saveDraft();
    return waiting.length;
  }

  // Kept for this tab across the trip to the login page (which comes back here), then dropped.
  function saveDraft() {
    try {
      const attachments = files.snapshot();
      if (input.value.trim() || attachments.length) {
        sessionStorage.setItem(DRAFT, JSON.stringify({ path: window.location.pathname, text: input.value, attachments: attachments }));
      }
    } catch (e) { /* storage blocked: the text stays in the box until the tab is closed */ }
  }

  function restoreDraft() {
    try {
      const draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
      sessionStorage.removeItem(DRAFT);
      if (draft && draft.path === window.location.pathname && !input.value) {
        input.value = draft.text;
        files.restoreData(draft.attachments);
      }
    } catch (e) { /* storage blocked or garbled: nothing to restore */ }
  }

  window.addEventListener("pagehide", () => { if (state.signedOut) saveDraft(); });

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 260) + "px";
  }

  // An upload of a message in the outbox ended: send it, or, if a file was refused, give the
  // message back to the composer with the sentence that says why.
  document.addEventListener("chat:attachments", (e) => {
    const chip = e.detail;
    for (const [clientId, pending] of state.pending) {
      if (!pending.attachments.includes(chip)) continue;
      if (chip.state === "failed" && pending.queued) {
        giveBack(pending);
        dropPending(clientId);
        showComposerError(chip.error);
        renderPath();
      } else {
        files.renderPending(pending.view.querySelector(".msg-attachments"), pending.attachments);
      }
    }
    flushOutbox();
  });

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("stop").addEventListener("click", stop);
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.streaming && $("picker-panel").hidden) { e.preventDefault(); stop(); }
  });

  // --- keyboard shortcuts (listed in the "Keyboard shortcuts" dialog) --------------------------

  const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  if (IS_MAC) for (const k of document.querySelectorAll("#shortcuts kbd.mod")) k.textContent = "⌘";

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=true]");
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.textContent = ""; }, 2000);
  }

  function copyLastReply() {
    const last = lastReply(path());
    if (!last || !last.content) { toast("There is no reply to copy yet."); return; }
    if (!navigator.clipboard) { toast("This browser does not let the page copy; select the text instead."); return; }
    navigator.clipboard.writeText(last.content).then(
      () => toast("Copied the last reply."),
      () => toast("The browser refused to copy; select the text instead."),
    );
  }

  function focusSearch() {
    if (getComputedStyle($("menu-button")).display !== "none") setSidebar(true);
    $("conv-search").focus();
    $("conv-search").select();
  }

  const SHORTCUTS = [
    { test: (e, mod) => mod && !e.shiftKey && e.key.toLowerCase() === "k", run: focusSearch },
    { test: (e, mod) => mod && e.shiftKey && e.key.toLowerCase() === "o", run: () => window.location.assign(data.urls.home) },
    { test: (e, mod) => mod && e.shiftKey && e.key.toLowerCase() === "c", run: copyLastReply },
    { test: (e, mod, free) => free && !mod && e.key === "/", run: () => input.focus() },
    { test: (e, mod, free) => free && !mod && e.key === "?", run: () => $("shortcuts").showModal() },
  ];

  document.addEventListener("keydown", (e) => {
    if (e.isComposing || document.querySelector("dialog[open]")) return;
    const mod = IS_MAC ? e.metaKey : e.ctrlKey;
    const free = !typing(e.target);
    const hit = SHORTCUTS.find((s) => s.test(e, mod, free));
    if (!hit) return;
    e.preventDefault();
    hit.run();
  });
  $("shortcuts-button").addEventListener("click", () => $("shortcuts").showModal());

  // --- actions on messages ---------------------------------------------------------------------

  list.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const article = e.target.closest("article.msg");
    if (!button || !article) return;
    const m = state.messages.get(Number(article.dataset.id));
    if (button.classList.contains("copy-code")) return copyCode(button);
    if (button.classList.contains("pending-cancel")) return cancelQueued(article.dataset.clientId);
    if (!m) return;
    if (button.classList.contains("regenerate") || button.classList.contains("retry")) regenerate(m.id);
    else if (button.classList.contains("copy-reply") || button.classList.contains("copy-message")) copyText(m.content, button);
    else if (button.classList.contains("branch-prev")) flip(m, -1);
    else if (button.classList.contains("branch-next")) flip(m, 1);
    else if (button.classList.contains("edit")) startEdit(m);
  });

  function flip(m, step) {
    const siblings = state.children.get(key(m.parent)) || [];
    const next = siblings[siblings.indexOf(m.id) + step];
    if (next === undefined) return;
    state.choice.set(key(m.parent), next);
    branchesSave(key(m.parent), next, siblings[siblings.length - 1]);
    renderPath();
  }

  /* The version chosen at each fork, per conversation, in this browser's localStorage:
   * { parent key: [chosen id, newest sibling id when chosen] }. A version added since (a
   * regenerate, maybe in another tab) wins, as it does live. */
  const BRANCHES = "chatapp.branches.";

  function branchesRead() {
    try {
      return (state.conv && JSON.parse(localStorage.getItem(BRANCHES + state.conv.id) || "{}")) || {};
    } catch (e) {
      return {}; // storage blocked or garbled: the newest versions show, as without it
    }
  }

  function branchesSave(parent, chosen, newest) {
    if (!state.conv) return;
    const saved = branchesRead();
    if (chosen === newest) delete saved[parent]; else saved[parent] = [chosen, newest];
    try {
      if (Object.keys(saved).length) localStorage.setItem(BRANCHES + state.conv.id, JSON.stringify(saved));
      else localStorage.removeItem(BRANCHES + state.conv.id);
    } catch (e) { /* storage full or blocked: the choice lasts until the page is reloaded */ }
  }

  function branchesRestore() {
    for (const [parent, entry] of Object.entries(branchesRead())) {
      const kids = state.children.get(parent) || [];
      if (Array.isArray(entry) && kids.includes(entry[0]) && kids[kids.length - 1] <= entry[1]) {
        state.choice.set(parent, entry[0]);
      }
    }
  }

  function copyText(text, button) {
    const done = () => {
      const before = button.innerHTML;
      button.innerHTML = ICONS.check;
      setTimeout(() => { button.innerHTML = before; }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => {});
  }

  function copyCode(button) {
    const code = button.closest(".code-block").querySelector("code");
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1200);
    };
    if (navigator.clipboard) navigator.clipboard.writeText(code.textContent).then(done, () => {});
  }

  function startEdit(m) {
    if (!state.conv) return;
    if (state.streaming) {
      showComposerError("A reply is still being written. Wait for it to finish, or stop it, before editing a message.");
      return;
    }
    const view = viewFor(m);
    const box = document.createElement("form");
    box.className = "edit-box";
    box.innerHTML = '<textarea aria-label="Edit message" rows="3"></textarea><div class="edit-actions">' +
      '<button type="button" class="small cancel">Cancel</button><button type="submit" class="small primary">Save &amp; submit</button></div>';
    const area = box.querySelector("textarea");
    area.value = m.content;
    view.bubble.hidden = true;
    view.el.classList.add("editing");
    view.el.insertBefore(box, view.actions);
    area.focus();
    const close = () => { box.remove(); view.el.classList.remove("editing"); view.bubble.hidden = !m.content; };
    box.querySelector(".cancel").addEventListener("click", close);
    box.addEventListener("submit", (e) => {
      e.preventDefault();
      const content = area.value.trim();
      if (!content) return; // an edit keeps the message's attachments (on the server)
      close();
      socket.send({ type: "edit", conversation: state.conv.id, message: m.id, content: content, client_id: uuid(), model: state.model });
    });
  }

  // --- conversation header, sidebar ------------------------------------------------------------

  function updateConversation(c) {
    if (state.conv && c.id === state.conv.id) {
      Object.assign(state.conv, c);
      $("chat-title").textContent = c.title || "New chat";
      document.title = (c.title || "New chat") + " · " + document.title.split(" · ").slice(-1)[0];
      $("conv-cost").textContent = money(c.cost);
    }
    upsertSidebarItem(c);
  }

  function upsertSidebarItem(c) {
    const items = $("conv-items");
    let li = items.querySelector('li[data-id="' + c.id + '"]');
    if (!li) {
      li = document.createElement("li");
      li.className = "conv-item";
      li.dataset.id = c.id;
      li.innerHTML = '<a class="conv-link" href="/c/' + c.id + '/"><span class="conv-title"></span><span class="conv-meta num"></span></a>' +
        '<div class="conv-actions"><button type="button" class="icon conv-rename" title="Rename">' + ICONS.edit + '</button><button type="button" class="icon conv-delete" title="Delete">' + ICONS.trash + "</button></div>";
    }
    const title = c.title || "Untitled chat";
    if (C.sharing) C.sharing.decorateItem(li, c.id, title);
    li.querySelector(".conv-title").textContent = title;
    li.querySelector(".conv-rename").setAttribute("aria-label", "Rename “" + title + "”");
    li.querySelector(".conv-delete").setAttribute("aria-label", "Delete “" + title + "”");
    const meta = li.querySelector(".conv-meta");
    meta.dataset.cost = c.cost;
    meta.textContent = money(c.cost);
    if (state.conv && c.id === state.conv.id) {
      li.classList.add("active");
      li.querySelector("a").setAttribute("aria-current", "page");
    }
    if (items.firstElementChild !== li) items.prepend(li);
    $("conv-empty").hidden = true;
  }

  for (const meta of document.querySelectorAll(".conv-meta[data-cost]")) meta.textContent = money(meta.dataset.cost);

  $("conv-items").addEventListener("click", (e) => {
    const li = e.target.closest("li.conv-item");
    if (!li) return;
    if (e.target.closest(".conv-rename")) startRename(li);
    else if (e.target.closest(".conv-delete")) confirmDelete(li);
  });

  function startRename(li) {
    const link = li.querySelector(".conv-link");
    const title = li.querySelector(".conv-title").textContent;
    const field = document.createElement("input");
    field.type = "text";
    field.className = "rename-input";
    field.value = title;
    field.setAttribute("aria-label", "New title");
    link.hidden = true;
    li.prepend(field);
    field.focus();
    field.select();
    let finished = false;
    const finish = async (save) => {
      if (finished) return;
      finished = true;
      const value = field.value.trim();
      field.remove();
      link.hidden = false;
      if (!save || !value || value === title) return;
      try {
        const result = await postJson("/c/" + li.dataset.id + "/rename", { title: value });
        updateConversation(result.conversation);
      } catch (err) { showComposerError(err.message); }
    };
    field.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    field.addEventListener("blur", () => finish(true));
  }

  function confirmDelete(li) {
    const dialog = $("confirm-delete");
    const title = li.querySelector(".conv-title").textContent;
    $("confirm-title").textContent = "Delete “" + title + "”?";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "delete") return;
      try {
        await postJson("/c/" + li.dataset.id + "/delete");
        li.remove();
        try { localStorage.removeItem(BRANCHES + li.dataset.id); } catch (e) { /* blocked */ }
        if (state.conv && String(state.conv.id) === li.dataset.id) window.location.assign(data.urls.home);
        $("conv-empty").hidden = $("conv-items").children.length > 0;
      } catch (err) { showComposerError(err.message); }
    });
  }

  // Search over titles and content, as you type.
  let searchTimer = 0;
  $("conv-search").addEventListener("input", (e) => {
    clearTimeout(searchTimer);
    const q = e.target.value.trim();
    searchTimer = setTimeout(() => runSearch(q), 180);
  });

  async function runSearch(q) {
    const results = $("search-results");
    const items = $("conv-items");
    if (!q) { results.hidden = true; items.hidden = false; return; }
    const response = await fetch(data.urls.search + "?q=" + encodeURIComponent(q), { credentials: "same-origin" });
    const payload = await response.json();
    items.hidden = true;
    results.hidden = false;
    results.innerHTML = payload.results.length
      ? payload.results.map((r) => '<li><a class="conv-link" href="/c/' + r.id + '/"><span class="conv-title">' + esc(r.title) +
        '</span>' + (r.snippet ? '<span class="snippet">' + esc(r.snippet) + "</span>" : "") + "</a></li>").join("")
      : '<li class="muted none">Nothing matches “' + esc(q) + "”.</li>";
  }

  // Phone width: the sidebar slides over the chat.
  function setSidebar(open) {
    $("chat-app").classList.toggle("sidebar-open", open);
    $("sidebar-scrim").hidden = !open;
    $("menu-button").setAttribute("aria-expanded", String(open));
  }
  $("menu-button").addEventListener("click", () => setSidebar(true));
  $("sidebar-close").addEventListener("click", () => setSidebar(false));
  $("sidebar-scrim").addEventListener("click", () => setSidebar(false));

  // --- settings: system prompt and the parameters this model supports --------------------------

  function renderParameters() {
    const model = picker.get(state.model);
    const supported = new Set(model ? model.params || [] : []);
    const values = (state.conv && state.conv.parameters) || {};
    const shown = data.parameters.filter((p) => supported.has(p.name));
    $("param-grid").innerHTML = shown.map((p) =>
      '<div class="field"><label for="param-' + p.name + '">' + esc(p.label) + '</label><input type="number" id="param-' + p.name +
      '" data-param="' + p.name + '" min="' + p.minimum + '" max="' + p.maximum + '" step="' + p.step + '" placeholder="default" value="' +
      (values[p.name] !== undefined ? esc(String(values[p.name])) : "") + '"></div>').join("");
    $("params-note").textContent = model
      ? (shown.length ? "Only the parameters " + model.name + " supports are shown. Empty means the model's default." : model.name + " takes no sampling parameters.")
      : "";
  }

  function openSettings(open) {
    $("settings-panel").hidden = !open;
    $("settings-button").setAttribute("aria-expanded", String(open));
    if (open) {
      $("system-prompt").value = (state.conv && state.conv.system_prompt) || "";
      $("settings-status").textContent = "";
      renderParameters();
      C.routingSettings.fill(state.conv, state.model);
      $("system-prompt").focus();
    }
  }

  $("settings-button").addEventListener("click", () => openSettings($("settings-panel").hidden));
  $("settings-cancel").addEventListener("click", () => openSettings(false));
  $("settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const parameters = {};
    for (const field of $("param-grid").querySelectorAll("[data-param]")) {
      if (field.value !== "") parameters[field.dataset.param] = field.value;
    }
    const body = { model: state.model, system_prompt: $("system-prompt").value, parameters: parameters, routing: C.routingSettings.read() };
    try {
      const result = state.conv
        ? await postJson("/c/" + state.conv.id + "/settings", body)
        : await postJson(data.urls.create, body);
      const fresh = !state.conv;
      state.conv = Object.assign(state.conv || {}, result.conversation);
      if (fresh) { history.replaceState(null, "", "/c/" + state.conv.id + "/"); subscribe(); }
      $("settings-status").textContent = "Saved.";
      files.updateNeeds(); // the PDF engine decides whether a PDF needs a model that reads files
      setTimeout(() => openSettings(false), 600);
    } catch (err) {
      $("settings-status").textContent = err.message;
    }
  });

  // --- start -----------------------------------------------------------------------------------

  const picker = new C.Picker({
    url: data.urls.models,
    favoriteUrl: data.urls.favorite,
    favorites: data.favorites,
    current: state.model,
    csrf: csrf,
    onPick: (id) => {
      state.model = id;
      if (!$("settings-panel").hidden) { renderParameters(); C.routingSettings.fill(state.conv, id); }
      document.dispatchEvent(new CustomEvent("chat:model", { detail: id }));
      input.focus();
    },
  });

  for (const m of data.messages) addMessage(m);
  branchesRestore();
  const live = data.messages.find((m) => m.status === "streaming");
  if (live) setStreaming(live.id);
  if (state.conv) {
    $("conv-cost").textContent = money(state.conv.cost);
  }
  if (!data.key.ok) showNoKey(data.key.reason);
  restoreDraft();
  renderPath();
  picker.load().then(() => {
    for (const m of state.messages.values()) if (state.views.has(m.id)) renderChrome(m, m === lastReply(path()));
    if (!$("settings-panel").hidden) renderParameters(); // opened before the catalogue came
    files.updateNeeds();
  });
  socket.connect();
  input.focus();

  window.Chatapp.page = {
    state: state, socket: socket, picker: picker, path: path, subscribe: subscribe, postJson: postJson, money: money,
    showComposerError: showComposerError,
  };
})();
