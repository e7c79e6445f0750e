/* The connection status above the composer: what the socket is doing, in words that stay true.
 *
 * Shown only while the chat socket is not open. While it reconnects it says what happens to
 * what the person sends meanwhile (it waits in the transcript and goes out once, on reconnect,
 * chat.js's outbox); once the session has ended it says so and links to the login page. */
(function () {
  "use strict";

  const plural = (n, one, many) => n + " " + (n === 1 ? one : many);

  class ConnectionBanner {
    /** el: the #connection element (template chat/home.html); onReconnect: "Reconnect now". */
    constructor(el, onReconnect) {
      this.el = el;
      this.title = el.querySelector(".connection-title");
      this.detail = el.querySelector(".connection-detail");
      this.countdown = el.querySelector(".connection-countdown");
      this.reconnect = el.querySelector(".connection-reconnect");
      this.signIn = el.querySelector(".connection-sign-in");
      this.status = "open";
      this.info = {};
      this.messages = 0;
      this.stop = false;
      this.ticker = 0;
      this.reconnect.addEventListener("click", onReconnect);
    }

    get offline() {
      return this.status !== "open";
    }

    /** status: "open", "reconnecting" ({at, restarting}) or "signed_out" ({code, restored:
     * how many unsent messages went back into the message box}). */
    show(status, info) {
      this.status = status;
      this.info = info || {};
      this.render();
    }

    /** What waits for the connection: messages queued in the transcript, and a Stop. */
    waiting(messages, stop) {
      if (messages === this.messages && stop === this.stop) return;
      this.messages = messages;
      this.stop = stop;
      this.render();
    }

    render() {
      clearInterval(this.ticker);
      this.el.hidden = !this.offline;
      this.el.classList.toggle("signed-out", this.status === "signed_out");
      this.reconnect.hidden = this.status !== "reconnecting";
      this.signIn.hidden = this.status !== "signed_out";
      this.countdown.textContent = "";
      if (this.status === "reconnecting") this.renderReconnecting();
      else if (this.status === "signed_out") this.renderSignedOut();
    }

    renderReconnecting() {
      this.title.textContent = this.info.restarting ? "The server is restarting." : "Not connected to the server.";
      const parts = [];
      if (this.messages) parts.push(plural(this.messages, "message waits", "messages wait") + " below and will be sent once the connection is back.");
      else parts.push("You can keep writing: a message you send now waits below and is sent once the connection is back.");
      if (this.stop) parts.push("Stop will reach the reply then too.");
      this.detail.textContent = parts.join(" ");
      this.tick();
      this.ticker = setInterval(() => this.tick(), 1000);
    }

    // The countdown is for the eye only (aria-hidden): a status region that changed every
    // second would be read out every second.
    tick() {
      const seconds = Math.round((this.info.at - Date.now()) / 1000);
      this.countdown.textContent = seconds >= 1 ? "Trying again in " + seconds + " s." : "Connecting…";
    }

    renderSignedOut() {
      const withdrawn = this.info.code === 4403;
      this.title.textContent = withdrawn ? "This account can no longer chat here." : "You were signed out.";
      const restored = this.info.restored
        ? (this.info.restored === 1 ? " The message you had not sent yet is" : " The messages you had not sent yet are") + " back in the message box."
        : "";
      this.detail.textContent = (withdrawn ? "Sign in again, or ask the site's administrator." : "Sign in again to keep chatting.") +
        " Nothing more is sent from this page." + restored;
      const here = window.location.pathname + window.location.search;
      this.signIn.href = this.signIn.dataset.login + "?next=" + encodeURIComponent(here);
    }
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.ConnectionBanner = ConnectionBanner;
})();
