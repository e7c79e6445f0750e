/* Inside the sandboxed diagram frame: draw the Mermaid source the chat page sends, say how tall. */
(function () {
  "use strict";

  const out = document.getElementById("out");
  let count = 0;

  async function draw(code, dark) {
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: dark ? "dark" : "default",
      htmlLabels: false,
      flowchart: { htmlLabels: false },
    });
    // The same colour scheme as the page keeps the frame's canvas transparent in dark mode.
    document.documentElement.style.colorScheme = dark ? "dark" : "light";
    document.body.style.margin = "0";
    document.body.style.background = "transparent";
    try {
      count += 1;
      const result = await window.mermaid.render("diagram-" + count, String(code));
      out.innerHTML = result.svg;
      const svg = out.querySelector("svg");
      if (svg) { svg.style.display = "block"; svg.style.margin = "0 auto"; } // Mermaid caps its width
      parent.postMessage({ type: "rendered", height: out.getBoundingClientRect().height }, "*");
    } catch (e) {
      out.textContent = "";
      parent.postMessage({ type: "failed", message: String((e && e.message) || e).split("\n")[0] }, "*");
    }
  }

  window.addEventListener("message", (e) => {
    if (e.source !== parent || !e.data || e.data.type !== "render") return;
    draw(e.data.code, Boolean(e.data.dark));
  });
  parent.postMessage({ type: "ready" }, "*");
})();
