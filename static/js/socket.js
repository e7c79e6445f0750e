/* The chat websocket (docs/websocket-protocol.md) with reconnect, backoff and resend.
 *
 * Requests that carry a client_id (send, regenerate, edit) stay queued until the server
 * answers for that client_id, and are sent again after a reconnect: the server treats a
 * repeated client_id as a no-op, so nothing is ever sent twice by accident.
 *
 * A socket closed with 4401/4403 (signed out, access withdrawn) is never reopened. A signed-out
 * session is also refused at the handshake, where the browser sees no close code at all: so
 * when a connection closes before it ever opened, a plain HTTP request asks the server whether
 * this browser is still signed in, and only then does the page try again. */
(function () {
  "use strict";

  const MIN_DELAY = 500;
  const MAX_DELAY = 5000; // a server back from a restart is found within about 5 s
  const RESTARTING = 4012; // the server said it is restarting (after a `restarting` frame)

  class ChatSocket {
    /** handlers: onFrame(frame), onOpen(), onStatus(state, detail) where state is "open",
     * "reconnecting" ({at: ms timestamp of the next try, restarting}) or "signed_out"
     * ({code}). options.probeUrl: a page that redirects to the login page when signed out. */
    constructor(path, handlers, options) {
      this.path = path;
      this.handlers = handlers;
      this.probeUrl = (options && options.probeUrl) || null;
      this.ws = null;
      this.pending = new Map(); // client_id → frame, until acknowledged
      this.attempt = 0;
      this.timer = null;
      this.ended = false; // signed out: never reconnect
      window.addEventListener("online", () => this.reconnectNow());
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this.reconnectNow();
      });
    }

    url() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      return scheme + window.location.host + this.path;
    }

    connect() {
      clearTimeout(this.timer);
      if (this.ended || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return; // one at a time
      const ws = new WebSocket(this.url());
      let opened = false;
      this.ws = ws;
      ws.addEventListener("open", () => {
        opened = true;
        this.attempt = 0;
        this.handlers.onStatus("open");
        this.handlers.onOpen();
        for (const frame of this.pending.values()) this.raw(frame);
      });
      ws.addEventListener("message", (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.client_id && (frame.type === "message_created" || frame.type === "error")) {
          this.pending.delete(frame.client_id);
        }
        this.handlers.onFrame(frame);
      });
      ws.addEventListener("close", async (event) => {
        if (this.ws !== ws || this.ended) return;
        if (event.code === 4401 || event.code === 4403) return this.end(event.code);
        const signedIn = opened || !this.probeUrl || (await this.probe());
        if (this.ws !== ws || this.ended) return; // reconnected meanwhile
        if (signedIn) this.retry(event.code); else this.end(4401);
      });
    }

    /** Resolve false when the server says this browser is signed out, true otherwise
     * (signed in, or the server cannot be reached: then the socket simply tries again). */
    async probe() {
      try {
        const response = await fetch(this.probeUrl, { credentials: "same-origin", redirect: "manual", cache: "no-store" });
        return !(response.type === "opaqueredirect" || response.status === 401 || response.status === 403);
      } catch (e) {
        return true;
      }
    }

    end(code) {
      this.ended = true;
      clearTimeout(this.timer);
      this.handlers.onStatus("signed_out", { code: code });
    }

    retry(code) {
      const restarting = code === RESTARTING;
      if (restarting) this.attempt = 0;
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      this.attempt += 1;
      this.handlers.onStatus("reconnecting", { at: Date.now() + delay, restarting: restarting });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.connect(), delay);
    }

    isOpen() {
      return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
    }

    /** Send a frame now if connected; return whether it went out. */
    raw(frame) {
      if (!this.isOpen()) return false;
      this.ws.send(JSON.stringify(frame));
      return true;
    }

    /** Send a frame now if connected; frames with a client_id are kept until answered. */
    send(frame) {
      if (frame.client_id) this.pending.set(frame.client_id, frame);
      return this.raw(frame);
    }

    /** Stop resending a frame (the server refused it without naming it). */
    forget(clientId) {
      this.pending.delete(clientId);
    }

    /** Forget the frames still waiting for an answer, and return them. */
    drain() {
      const frames = [...this.pending.values()];
      this.pending.clear();
      return frames;
    }

    reconnectNow() {
      if (this.ended || !this.ws || this.isOpen() || this.ws.readyState === WebSocket.CONNECTING) return;
      this.attempt = 0;
      this.connect();
    }
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.ChatSocket = ChatSocket;
})();
