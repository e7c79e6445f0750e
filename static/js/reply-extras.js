/* What a reply shows besides its text: the web sources it cites, the notice that older messages
 * were left out to fit the context window, and the cache savings in its footer.
 * Sources come from the model's output, so they are built with DOM calls (textContent,
 * setAttribute) — never as HTML — and only http(s) links survive. */
(function () {
  "use strict";

  const C = (window.Chatapp = window.Chatapp || {});
  const LINK_REL = "noopener noreferrer nofollow";

  function safeHttpUrl(href) {
    try {
      const url = new URL(String(href));
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function sourceItem(citation) {
    const url = safeHttpUrl(citation.url);
    if (!url) return null;
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = url;
    link.target = "_blank";
    link.rel = LINK_REL;
    link.className = "source-link";
    link.textContent = citation.title || url;
    const host = document.createElement("span");
    host.className = "source-host";
    host.textContent = new URL(url).hostname.replace(/^www\./, "");
    li.append(link, host);
    return li;
  }

  /** Numbered sources under the reply text (hidden when it cites none). */
  function renderSources(view, m) {
    const items = (m.citations || []).map(sourceItem).filter(Boolean);
    if (!view.sources) {
      if (!items.length) return;
      view.sources = document.createElement("section");
      view.sources.className = "sources";
      view.sources.setAttribute("aria-label", "Sources");
      view.md.after(view.sources);
    }
    const key = JSON.stringify(m.citations || []);
    if (view.sourcesKey === key) return;
    view.sourcesKey = key;
    const heading = document.createElement("h3");
    heading.className = "sources-title";
    heading.textContent = "Sources";
    const list = document.createElement("ol");
    list.append(...items);
    view.sources.replaceChildren(heading, list);
    view.sources.hidden = !items.length;
  }

  /** The first reply of the shown branch that had to leave messages out (the notice shows once). */
  function firstTrimmed(shown) {
    const found = shown.find((m) => m.role === "assistant" && m.context_omitted > 0);
    return found ? found.id : null;
  }

  function renderNotice(view, m, show, modelName) {
    if (!show) {
      if (view.notice) view.notice.hidden = true;
      return;
    }
    if (!view.notice) {
      view.notice = document.createElement("p");
      view.notice.className = "context-notice";
      view.notice.setAttribute("role", "note");
      view.el.querySelector(".msg-col").prepend(view.notice);
    }
    const n = m.context_omitted;
    view.notice.hidden = false;
    view.notice.textContent =
      "Older messages no longer fit in " + modelName + "'s context window, so the oldest " +
      (n === 1 ? "message was" : n.toLocaleString() + " messages were") +
      " left out of this reply. Later replies leave out what they must; " +
      "Conversation settings can hand this to OpenRouter's middle-out instead.";
  }

  /** Footer parts: what the prompt cache saved (chat.js shows the provider itself). */
  function metaParts(m, esc, money) {
    const parts = [];
    if (m.cache_savings && !/^0(\.0*)?$/.test(m.cache_savings)) {
      parts.push('<span class="meta-saved" title="' + esc((m.cached_tokens || 0).toLocaleString()) +
        ' prompt tokens were read from the provider\'s cache">cache saved ' + esc(money(m.cache_savings)) + "</span>");
    }
    return parts;
  }

  C.replyExtras = { renderSources: renderSources, renderNotice: renderNotice, firstTrimmed: firstTrimmed, metaParts: metaParts, safeHttpUrl: safeHttpUrl };
})();
