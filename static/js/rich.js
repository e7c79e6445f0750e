/* Math and diagrams in replies, rendered after the sanitizer (markdown.js) has run.
 *
 * Math: markdown.js leaves <span|div class="math"> holding the TeX as text; KaTeX (loaded the
 * first time a reply has math) builds the formula from that text with trust off, through the
 * DOM (no inline markup), so the page's CSP stays as it is.
 * Diagrams: a finished ```mermaid block is drawn by Mermaid (securityLevel "strict") inside a
 * sandboxed iframe (scripts only, no same-origin: it can reach neither this page, its cookies
 * nor the network beyond its own files). The page only ever accepts its height back.
 */
(function () {
  "use strict";

  const assets = document.getElementById("rich-assets");
  const url = (name) => (assets ? assets.dataset[name] : "");
  const KATEX_OPTIONS = { throwOnError: false, trust: false, strict: "ignore", maxSize: 50, maxExpand: 1000, output: "htmlAndMathml" };
  const MAX_DIAGRAM_HEIGHT = 2000;
  let katexLoading = null;

  function loadKatex() {
    if (window.katex) return Promise.resolve();
    if (katexLoading) return katexLoading;
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = url("katexCss");
    document.head.appendChild(css);
    katexLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url("katexJs");
      script.onload = resolve;
      script.onerror = () => reject(new Error("KaTeX did not load"));
      document.head.appendChild(script);
    });
    return katexLoading;
  }

  function renderMath(el) {
    const tex = el.textContent;
    const display = el.classList.contains("math-display");
    try {
      window.katex.render(tex, el, Object.assign({ displayMode: display }, KATEX_OPTIONS));
      el.dataset.tex = tex;
      el.classList.add("math-done");
    } catch (e) {
      el.textContent = tex; // KaTeX could not even try: the TeX stays readable as it was written
      el.classList.add("math-failed");
    }
  }

  function math(root) {
    const pending = root.querySelectorAll(".math:not(.math-done):not(.math-failed)");
    if (!pending.length) return;
    if (window.katex) { pending.forEach(renderMath); return; }
    // Until KaTeX is here the TeX shows as text; then every placeholder still on the page is drawn.
    loadKatex().then(
      () => document.querySelectorAll(".md .math:not(.math-done):not(.math-failed)").forEach(renderMath),
      () => {},
    );
  }

  function diagrams(root) {
    for (const code of root.querySelectorAll(".code-block code.language-mermaid")) {
      const block = code.closest(".code-block");
      if (block.dataset.diagram) continue;
      block.dataset.diagram = "pending";
      const figure = document.createElement("figure");
      figure.className = "diagram";
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "allow-scripts");
      frame.setAttribute("title", "Diagram");
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.dataset.code = code.textContent;
      frame.src = url("mermaidFrame");
      const source = document.createElement("details");
      source.className = "diagram-source";
      source.innerHTML = "<summary>Diagram source</summary>";
      block.replaceWith(figure);
      source.appendChild(block);
      figure.append(frame, source);
    }
  }

  function frameOf(source) {
    for (const frame of document.querySelectorAll("figure.diagram iframe")) {
      if (frame.contentWindow === source) return frame;
    }
    return null;
  }

  const dark = () => window.matchMedia("(prefers-color-scheme: dark)").matches;

  window.addEventListener("message", (e) => {
    const frame = frameOf(e.source);
    const msg = e.data;
    if (!frame || !msg || typeof msg !== "object") return;
    if (msg.type === "ready") {
      frame.contentWindow.postMessage({ type: "render", code: frame.dataset.code, dark: dark() }, "*");
    } else if (msg.type === "rendered" && Number.isFinite(msg.height)) {
      frame.style.height = Math.min(Math.max(40, Math.ceil(msg.height)), MAX_DIAGRAM_HEIGHT) + "px";
      frame.closest("figure").classList.add("drawn");
    } else if (msg.type === "failed") {
      const figure = frame.closest("figure");
      figure.classList.add("failed");
      figure.querySelector("details").open = true;
      const note = document.createElement("p");
      note.className = "diagram-error";
      note.textContent = "This diagram could not be drawn: " + String(msg.message || "Mermaid did not accept it").slice(0, 300) + " The source is below.";
      frame.replaceWith(note);
    }
  });

  /** Draw math in `root` now; diagrams only once their block is final (not while it grows). */
  function enhance(root, final) {
    math(root);
    if (final) diagrams(root);
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.rich = { enhance: enhance };
})();
