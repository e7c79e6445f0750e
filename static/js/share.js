/* Export menus and the share dialog on the chat page (the server side is chatapp/sharing/).
 * Reads the open conversation and the branch on screen from window.Chatapp.chat (chat.js). */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const C = (window.Chatapp = window.Chatapp || {});
  const dialog = $("share-dialog");
  let share = null; // the server's answer: {url, title, messages, show_name, snapshot_at, out_of_date}

  const exportPath = {
    markdown: (id) => "/c/" + id + "/export.md",
    json: (id) => "/c/" + id + "/export.json",
    "json-all": (id) => "/c/" + id + "/export.json?branches=all",
  };

  function conversationId() {
    return C.chat ? C.chat.conversationId() : null;
  }

  function leaf() {
    return C.chat ? C.chat.leaf() : null;
  }

  function setHrefs(menu, id) {
    for (const link of menu.querySelectorAll("a[data-export]")) link.href = exportPath[link.dataset.export](id);
  }

  /** Give a sidebar item the page added (chat.js) the same export menu the server renders. */
  function decorateItem(li, id, title) {
    let menu = li.querySelector(".export-menu");
    if (!menu) {
      menu = $("export-menu-template").content.firstElementChild.cloneNode(true);
      li.querySelector(".conv-actions").prepend(menu);
      setHrefs(menu, id);
    }
    menu.querySelector("summary").setAttribute("aria-label", "Export “" + title + "”");
  }

  // The open conversation's exports follow the branch on screen: add it as the link is used.
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-export]");
    if (!link) return;
    const item = link.closest(".conv-item");
    const id = item ? Number(item.dataset.id) : conversationId();
    if (!id) return;
    const url = new URL(exportPath[link.dataset.export](id), location.href);
    if (id === conversationId() && link.dataset.export !== "json-all" && leaf()) url.searchParams.set("leaf", leaf());
    link.href = url.pathname + url.search;
    link.closest("details").open = false;
  });

  // One open menu at a time; a click elsewhere or Escape closes it.
  document.addEventListener("toggle", (e) => {
    const menu = e.target;
    if (!menu.classList || !menu.classList.contains("export-menu") || !menu.open) return;
    for (const other of document.querySelectorAll(".export-menu[open]")) if (other !== menu) other.open = false;
    const panel = menu.querySelector(".menu-panel");
    menu.classList.remove("up");
    if (panel.getBoundingClientRect().bottom > window.innerHeight - 8) menu.classList.add("up");
  }, true);
  document.addEventListener("click", (e) => {
    for (const menu of document.querySelectorAll(".export-menu[open]")) if (!menu.contains(e.target)) menu.open = false;
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    for (const menu of document.querySelectorAll(".export-menu[open]")) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  document.addEventListener("chatapp:conversation", (e) => {
    $("conv-tools").hidden = false;
    setHrefs($("conv-tools"), e.detail.id);
  });

  // --- the share dialog ------------------------------------------------------------------------

  function csrf() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function call(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: method === "GET" ? undefined : JSON.stringify(body || {}),
    });
    let payload = {};
    try { payload = await response.json(); } catch (err) { /* not JSON */ }
    if (!response.ok) throw new Error(payload.error || "The server said no (" + response.status + "). Reload the page and try again.");
    return payload;
  }

  function shareUrl(suffix) {
    return "/c/" + conversationId() + "/share" + (suffix || "");
  }

  function when(iso) {
    return new Date(iso).toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function render() {
    const on = !!share;
    $("share-link-row").hidden = !on;
    $("share-link").value = on ? share.url : "";
    $("share-meta").hidden = !on;
    if (on) {
      $("share-meta").textContent = "Shared copy of " + when(share.snapshot_at) + " · " + share.messages +
        " message" + (share.messages === 1 ? "" : "s") + " · works for anyone with the link, signed in or not";
    }
    $("share-stale").hidden = !(on && share.out_of_date);
    $("share-update").hidden = !(on && share.out_of_date);
    $("share-stop").hidden = !on;
    $("share-create").hidden = on || $("share-stopped").hidden;
    $("share-show-name").checked = on ? share.show_name : $("share-show-name").checked;
  }

  function fail(error) {
    $("share-error").textContent = error.message;
    $("share-error").hidden = false;
  }

  async function run(work) {
    $("share-error").hidden = true;
    for (const b of dialog.querySelectorAll(".share-actions button")) b.disabled = true;
    try {
      const payload = await work();
      share = payload.share;
      render();
    } catch (error) {
      fail(error);
    } finally {
      for (const b of dialog.querySelectorAll(".share-actions button")) b.disabled = false;
    }
  }

  function publish() {
    return run(() => call("POST", shareUrl(), { leaf: leaf(), show_name: $("share-show-name").checked }));
  }

  /** Open the dialog with the link ready: the first "Share" of a chat makes its snapshot. */
  async function open() {
    if (!conversationId()) return;
    $("share-name").textContent = dialog.dataset.ownerName;
    $("share-stopped").hidden = true;
    share = null;
    render();
    dialog.showModal();
    await run(() => call("GET", shareUrl("?leaf=" + (leaf() || ""))));
    if (!share && $("share-error").hidden) await publish();
    if (share) $("share-link").select();
  }

  $("share-button").addEventListener("click", open);
  $("share-create").addEventListener("click", async () => {
    $("share-stopped").hidden = true;
    await publish();
    if (share) $("share-link").select();
  });
  $("share-update").addEventListener("click", publish);
  $("share-stop").addEventListener("click", async () => {
    await run(() => call("POST", shareUrl("/stop")));
    $("share-stopped").hidden = !!share;
    render();
  });
  $("share-show-name").addEventListener("change", () => {
    if (share) run(() => call("POST", shareUrl(), { leaf: leaf(), snapshot: false, show_name: $("share-show-name").checked }));
  });
  $("share-link").addEventListener("focus", (e) => e.target.select());
  $("share-copy").addEventListener("click", async () => {
    const button = $("share-copy");
    try {
      await navigator.clipboard.writeText(share.url);
    } catch (err) {
      $("share-link").select(); // no clipboard permission: leave it selected for Ctrl+C
      document.execCommand && document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy link"; }, 1600);
  });

  C.sharing = { decorateItem: decorateItem };
})();
