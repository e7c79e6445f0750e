/* Untrusted model output → safe HTML, incrementally while it streams.
 *
 * Every render goes marked → DOMPurify, and the still-growing part of a reply is re-parsed and
 * re-sanitized from its full source text on every frame, so a tag split across two chunks can
 * never reach the page half-checked. On top of the sanitizer:
 *   - raw HTML in the markdown is shown as text, never interpreted;
 *   - links work only for http(s) and mailto; anything else (javascript:, data:…) is plain text;
 *   - images are never loaded: they become a link to the image (the CSP blocks remote images too);
 *   - $…$, $$…$$, \(…\) and \[…\] become placeholders holding the TeX as text; rich.js turns
 *     them into math (KaTeX), and ```mermaid blocks into diagrams, after sanitizing.
 */
(function () {
  "use strict";

  const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
  const LIVE_HIGHLIGHT_LIMIT = 3000; // chars of a still-growing code block worth re-highlighting
  const AUTO_HIGHLIGHT_LIMIT = 20000;
  let finalPass = true; // false while rendering the growing tail of a streaming reply

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function safeUrl(href) {
    if (!href) return null;
    try {
      const url = new URL(href, window.location.href);
      return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function highlight(code, lang) {
    const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
    const hljs = window.hljs;
    if (!hljs || (!finalPass && code.length > LIVE_HIGHLIGHT_LIMIT)) return escapeHtml(code);
    try {
      if (language && hljs.getLanguage(language)) {
        return hljs.highlight(code, { language: language, ignoreIllegals: true }).value;
      }
      if (finalPass && code.length < AUTO_HIGHLIGHT_LIMIT) return hljs.highlightAuto(code).value;
    } catch (e) {
      /* fall through to plain text */
    }
    return escapeHtml(code);
  }

  const renderer = {
    html(token) {
      // Raw HTML from a model is shown, not run: it is almost always an example being discussed.
      const text = escapeHtml(token.text);
      return token.block ? '<p class="raw-html">' + text + "</p>" : text;
    },
    link(token) {
      const inner = this.parser.parseInline(token.tokens);
      const href = safeUrl(token.href);
      if (!href) return '<span class="unsafe-link" title="Link removed: not a web address">' + inner + "</span>";
      const title = token.title ? ' title="' + escapeHtml(token.title) + '"' : "";
      return '<a href="' + escapeHtml(href) + '"' + title + ' target="_blank" rel="noopener noreferrer nofollow">' + inner + "</a>";
    },
    image(token) {
      const href = safeUrl(token.href);
      const label = escapeHtml(token.text || "image");
      if (!href || href.startsWith("mailto:")) return '<span class="image-ref">[' + label + "]</span>";
      const host = escapeHtml(new URL(href).host);
      return '<a class="image-ref" href="' + escapeHtml(href) + '" target="_blank" rel="noopener noreferrer nofollow" title="Images are not loaded automatically. Open it in a new tab.">🖼 ' + label + ' <span class="image-host">(' + host + ")</span></a>";
    },
    code(token) {
      const lang = (token.lang || "").trim().split(/\s+/)[0];
      const body = highlight(token.text, lang);
      return (
        '<div class="code-block"><div class="code-head"><span class="code-lang">' +
        escapeHtml(lang || "text") +
        '</span><button type="button" class="copy-code">Copy</button></div><pre><code class="hljs' +
        (lang ? " language-" + escapeHtml(lang) : "") +
        '">' + body + "</code></pre></div>"
      );
    },
  };

  /* Math: found before marked can read its _ and * as emphasis. An inline $…$ needs no space
   * inside its dollars and no digit after the closing one, so "$5 and $10" stays money. */
  const MATH_BLOCK = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n|$)/;
  const MATH_INLINE = [
    [/^\$\$((?:\\[\s\S]|[^\\$])+?)\$\$/, true],
    [/^\$(?![\s$])((?:\\[\s\S]|[^\\$\n])+?)(?<![\s\\])\$(?!\d)/, false],
    [/^\\\(([\s\S]+?)\\\)/, false],
  ];

  function mathHtml(tex, display) {
    const tag = display ? "div" : "span";
    return "<" + tag + ' class="math ' + (display ? "math-display" : "math-inline") + '">' + escapeHtml(tex.trim()) + "</" + tag + ">";
  }

  const mathExtensions = [
    {
      name: "mathBlock",
      level: "block",
      start(src) { const at = src.search(/\$\$|\\\[/); return at < 0 ? undefined : at; },
      tokenizer(src) {
        const m = MATH_BLOCK.exec(src);
        if (m) return { type: "mathBlock", raw: m[0], text: m[1] !== undefined ? m[1] : m[2] };
      },
      renderer(token) { return mathHtml(token.text, true); },
    },
    {
      name: "mathInline",
      level: "inline",
      start(src) { const at = src.search(/\$|\\\(/); return at < 0 ? undefined : at; },
      tokenizer(src) {
        for (const [pattern, display] of MATH_INLINE) {
          const m = pattern.exec(src);
          if (m) return { type: "mathInline", raw: m[0], text: m[1], display: display };
        }
      },
      renderer(token) { return mathHtml(token.text, token.display); },
    },
  ];

  const md = new window.marked.Marked({ gfm: true, breaks: false, async: false });
  md.use({ renderer: renderer, extensions: mathExtensions });

  const enhance = (root, final) => { if (window.Chatapp.rich) window.Chatapp.rich.enhance(root, final); };

  const PURIFY_CONFIG = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "img", "svg", "math", "form", "input", "textarea", "select", "option",
      "iframe", "frame", "object", "embed", "video", "audio", "source", "picture", "link", "meta", "base"],
    FORBID_ATTR: ["style", "srcset", "action", "formaction"],
    ADD_ATTR: ["target"],
  };

  window.DOMPurify.addHook("afterSanitizeAttributes", function (node) {
    if (node.tagName !== "A") return;
    const href = safeUrl(node.getAttribute("href"));
    if (!href) {
      node.removeAttribute("href");
      node.removeAttribute("target");
      return;
    }
    node.setAttribute("href", href);
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  });

  function sanitize(html) {
    return window.DOMPurify.sanitize(html, PURIFY_CONFIG);
  }

  function parseTokens(tokens, links) {
    const list = tokens.slice();
    list.links = links || {};
    return md.parser(list);
  }

  /** Return safe HTML for a whole markdown text (a finished reply). */
  function render(text) {
    finalPass = true;
    return sanitize(md.parse(text || ""));
  }

  function htmlToFragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    enhance(template.content, true); // frozen: it never changes again
    return template.content;
  }

  /* Renders a growing markdown text into `el`: blocks that can no longer change are frozen
   * (rendered once, never touched again); only the last, still-growing block is re-rendered. */
  class StreamRenderer {
    constructor(el) {
      this.el = el;
      this.reset();
    }

    reset() {
      this.el.textContent = "";
      this.source = "";
      this.stable = 0; // length of the source rendered into frozen blocks
      this.tail = document.createElement("div");
      this.tail.className = "md-tail";
      this.el.appendChild(this.tail);
    }

    update(text, final) {
      if (text.length < this.stable || text.slice(0, this.stable) !== this.source.slice(0, this.stable)) {
        this.reset();
      }
      this.source = text;
      finalPass = Boolean(final);
      try {
        const tokens = md.lexer(text.slice(this.stable));
        const last = final ? tokens.length : lastContentIndex(tokens);
        this.freeze(tokens.slice(0, last), tokens.links);
        this.tail.innerHTML = sanitize(parseTokens(tokens.slice(last), tokens.links));
        enhance(this.tail, Boolean(final));
      } finally {
        finalPass = true;
      }
    }

    freeze(tokens, links) {
      if (!tokens.length) return;
      const html = sanitize(parseTokens(tokens, links));
      this.el.insertBefore(htmlToFragment(html), this.tail);
      for (const token of tokens) this.stable += token.raw.length;
    }
  }

  function lastContentIndex(tokens) {
    for (let i = tokens.length - 1; i >= 0; i--) {
      if (tokens[i].type !== "space") return i;
    }
    return 0;
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.markdown = { render: render, sanitize: sanitize, escapeHtml: escapeHtml, StreamRenderer: StreamRenderer };
})();
