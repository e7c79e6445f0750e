/* The chat websocket (docs/websocket-protocol.md) with reconnect, backoff and resend.
 *
 * Requests that carry a client_id (send, regenerate, edit) stay queued until the server
 * answers for that client_id, and are sent again after a reconnect: the server treats a
 * repeated client_id as a no-op, so nothing is ever sent twice by accident. */
(function () {
  "use strict";

  const MIN_DELAY = 500;
  const MAX_DELAY = 10000;

  class ChatSocket {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers; // onFrame(frame), onOpen(), onStatus(state, detail)
      this.ws = null;
      this.pending = new Map(); // client_id → frame, until acknowledged
      this.attempt = 0;
      this.timer = null;
      this.closedByUs = false;
    }

    url() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      return scheme + window.location.host + this.path;
    }

    connect() {
      clearTimeout(this.timer);
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.addEventListener("open", () => {
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
      ws.addEventListener("close", (event) => {
        if (this.ws !== ws || this.closedByUs) return;
        if (event.code === 4401 || event.code === 4403) {
          this.handlers.onStatus("denied");
          return;
        }
        this.retry();
      });
    }

    retry() {
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      this.attempt += 1;
      this.handlers.onStatus("reconnecting", Math.round(delay / 1000));
      this.timer = setTimeout(() => this.connect(), delay);
    }

    isOpen() {
      return this.ws && this.ws.readyState === WebSocket.OPEN;
    }

    raw(frame) {
      if (this.isOpen()) this.ws.send(JSON.stringify(frame));
    }

    /** Send a frame now if connected; frames with a client_id are kept until answered. */
    send(frame) {
      if (frame.client_id) this.pending.set(frame.client_id, frame);
      this.raw(frame);
    }

    reconnectNow() {
      if (this.isOpen()) return;
      this.attempt = 0;
      this.connect();
    }
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.ChatSocket = ChatSocket;
})();
