/* The public shared page: render each reply's markdown through the same sanitiser as the chat
 * (markdown.js: marked → DOMPurify). Without script the text stays readable as plain text. */
(function () {
  "use strict";

  const C = window.Chatapp;
  for (const el of document.querySelectorAll("[data-markdown]")) {
    el.innerHTML = C.markdown.render(el.textContent);
    el.classList.remove("pending-markdown");
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest(".copy-code");
    if (!button) return;
    const code = button.closest(".code-block").querySelector("code");
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = "Copied";
    } catch (err) {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
})();
