/* Attachments: the composer's tray of chips (the "Attach files" button, paste, drag-and-drop),
 * one upload per file with its progress, and the attachments shown on sent messages.
 *
 * Loaded before chat.js, which calls window.Chatapp.attachments: take() moves the tray's chips
 * into an outbox entry, restore() puts them back when a send is refused or cancelled, and
 * renderInto() draws a message's attachments. A chip's upload that ends tells the page with a
 * "chat:attachments" event (the outbox waits for its uploads). The server checks every file;
 * nothing here decides what is allowed beyond the picker's `accept` hint. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("chat-data").textContent);
  const UPLOAD_URL = (data.urls && data.urls.attachments) || "/attachments/";
  const MAX_FILES = 10; // per message, as the server caps it
  const PREVIEW_MAX_BYTES = 8 * 1024 * 1024; // a local preview while an image uploads
  const NEEDS_LABEL = { image: "images", file: "PDF files", audio: "audio" };
  const KIND_LABEL = { image: "Image", pdf: "PDF", audio: "Audio", text: "Text" };

  const tray = $("attachments");
  const input = $("attach-input");
  const chipTemplate = $("attachment-chip-template");
  const fileTemplate = $("attachment-file-template");
  const imageTemplate = $("attachment-image-template");

  let chips = []; // the tray, in the order attached
  let errors = []; // sentences about files refused since the last attach or send
  let serial = 0;

  // --- labels ------------------------------------------------------------------------------------

  function sizeLabel(bytes) {
    if (bytes === null || bytes === undefined) return "";
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " KB";
    return (bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0) + " MB";
  }

  function durationLabel(seconds) {
    const s = Math.round(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  /** "3 pages · 120 KB", "0:42 · 1.2 MB", "64 × 64 · 2 KB". */
  function metaLabel(a) {
    const parts = [];
    if (a.pages) parts.push(a.pages + (a.pages === 1 ? " page" : " pages"));
    if (a.duration !== null && a.duration !== undefined) parts.push(durationLabel(a.duration));
    if (a.kind === "image" && a.width && a.height) parts.push(a.width + " × " + a.height);
    parts.push(sizeLabel(a.size));
    return parts.filter(Boolean).join(" · ");
  }

  function guessKind(file) {
    const type = file.type || "";
    if (type.startsWith("image/")) return "image";
    if (type === "application/pdf" || /\.pdf$/i.test(file.name)) return "pdf";
    if (type.startsWith("audio/") || /\.(mp3|wav)$/i.test(file.name)) return "audio";
    return "text";
  }

  /** The badge on a file's tile: its extension, short ("PDF", "PY", "MP3"). */
  function extension(name, kind) {
    const match = /\.([a-z0-9]{1,4})$/i.exec(name || "");
    return match ? match[1].toUpperCase() : (KIND_LABEL[kind] || "FILE").toUpperCase();
  }

  // --- one chip per file -----------------------------------------------------------------------

  class Chip {
    constructor(file, known) {
      this.key = ++serial;
      this.file = file;
      this.data = known || null; // AttachmentData once stored
      this.name = known ? known.name : file.name || "pasted file";
      this.kind = known ? known.kind : guessKind(file);
      this.state = known ? "ready" : "uploading"; // → "ready" | "failed"
      this.error = "";
      this.removed = false;
      this.xhr = null;
      this.sent = false; // the request body has left the browser: the server may store it
      this.el = chipTemplate.content.firstElementChild.cloneNode(true);
      this.el.dataset.key = String(this.key);
      this.el.querySelector(".att-remove").setAttribute("aria-label", "Remove " + this.name);
      this.el.querySelector(".att-remove").title = "Remove";
      this.el.querySelector(".att-name").textContent = this.name;
      this.el.querySelector(".att-progress").setAttribute("aria-label", "Uploading " + this.name);
      this.draw();
      if (!known && this.kind === "image" && file.size <= PREVIEW_MAX_BYTES) this.preview();
    }

    /** Show the image at once, from the browser's copy, until the server's thumbnail comes. */
    preview() {
      const reader = new FileReader();
      reader.onload = () => { if (!this.data && typeof reader.result === "string") this.thumb(reader.result); };
      reader.readAsDataURL(this.file);
    }

    thumb(src) {
      const box = this.el.querySelector(".att-thumb");
      let img = box.querySelector("img");
      if (!img) {
        img = document.createElement("img");
        img.alt = "";
        box.replaceChildren(img);
      }
      img.src = src;
    }

    draw() {
      const a = this.data;
      const el = this.el;
      el.dataset.state = this.state;
      el.classList.toggle("image", this.kind === "image");
      el.dataset.kind = this.kind;
      const box = el.querySelector(".att-thumb");
      if (a && a.thumbnail_url) this.thumb(a.thumbnail_url);
      else if (this.kind !== "image" || !box.querySelector("img")) box.textContent = extension(this.name, this.kind);
      el.querySelector(".att-meta").textContent = a ? metaLabel(a)
        : this.state === "uploading" ? "Uploading… " + sizeLabel(this.file.size) : "";
      el.title = a ? this.name + " (" + metaLabel(a) + ")" : this.name;
      const bar = el.querySelector(".att-progress");
      bar.hidden = this.state !== "uploading";
    }

    progress(fraction) {
      const bar = this.el.querySelector(".att-progress");
      const pct = Math.round(fraction * 100);
      bar.setAttribute("aria-valuenow", String(pct));
      bar.querySelector(".att-bar").style.width = pct + "%";
      if (this.state === "uploading") {
        this.el.querySelector(".att-meta").textContent = pct < 100 ? "Uploading " + pct + "%" : "Checking…";
      }
    }

    upload() {
      const body = new FormData();
      body.append("file", this.file, this.name);
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("POST", UPLOAD_URL);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) this.progress(e.loaded / e.total); });
      xhr.upload.addEventListener("load", () => { this.sent = true; this.progress(1); });
      xhr.addEventListener("load", () => this.answered(xhr));
      xhr.addEventListener("error", () => this.failed("The upload of " + this.name + " broke off (the connection dropped). Attach it again."));
      xhr.send(body);
    }

    answered(xhr) {
      let payload = {};
      try { payload = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201 && payload.id !== undefined) return this.stored(payload);
      if (payload.error) return this.failed(payload.error);
      if (/\/accounts\/login\//.test(xhr.responseURL || "")) {
        return this.failed("You were signed out, so " + this.name + " was not uploaded. Sign in again, then attach it.");
      }
      if (xhr.status === 413) return this.failed(this.name + " is larger than this server takes.");
      this.failed("The server did not take " + this.name + " (" + xhr.status + "). Try again, or reload the page.");
    }

    stored(attachment) {
      this.data = attachment;
      this.xhr = null;
      if (this.removed) { forget(attachment); return; } // removed while the server was reading it
      this.state = "ready";
      this.kind = attachment.kind;
      this.draw();
      settled(this);
    }

    failed(sentence) {
      this.xhr = null;
      this.state = "failed";
      const named = sentence.replace(/^“That file”/, "“" + this.name + "”"); // refused unread
      this.error = named.includes(this.name) ? named : "“" + this.name + "”: " + named;
      if (this.removed) return;
      settled(this);
    }

    /** The chip's "Remove": the file is dropped here and on the server. */
    remove() {
      this.removed = true;
      if (this.data) forget(this.data);
      else if (this.xhr && !this.sent) this.xhr.abort(); // not all sent: nothing can be stored
      // else: the server is reading it; stored() deletes it when it answers
    }
  }

  function csrf() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function forget(attachment) {
    fetch(UPLOAD_URL + attachment.id + "/", {
      method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf() },
    }).catch(() => { /* the server sweeps files no message took */ });
  }

  // --- the tray ----------------------------------------------------------------------------------

  function page() {
    return window.Chatapp.page;
  }

  function showErrors() {
    if (page()) page().showComposerError(errors.join(" "));
  }

  /** Take files from the button, a paste or a drop: each uploads at once. */
  function add(files) {
    const list = [...files].filter((f) => f && f.size !== undefined);
    if (!list.length) return;
    errors = [];
    const room = MAX_FILES - chips.length;
    if (list.length > room) {
      errors.push("A message takes at most " + MAX_FILES + " files, so " +
        (room > 0 ? "only the first " + room + " of these were attached." : "none of these were attached."));
    }
    for (const file of list.slice(0, Math.max(0, room))) {
      const chip = new Chip(file);
      chips.push(chip);
      tray.appendChild(chip.el);
      chip.upload();
    }
    showErrors();
    changed();
  }

  function dropChip(chip) {
    chips = chips.filter((c) => c !== chip);
    chip.el.remove();
    changed();
  }

  /** An upload ended. In the tray a refused file leaves (its sentence shown); in the outbox,
   * the page decides (it sends, or gives the message back). */
  function settled(chip) {
    if (chips.includes(chip)) {
      if (chip.state === "failed") {
        errors.push(chip.error);
        showErrors();
        dropChip(chip);
      } else {
        changed();
      }
    }
    document.dispatchEvent(new CustomEvent("chat:attachments", { detail: chip }));
  }

  function changed() {
    tray.hidden = chips.length === 0;
    $("composer").classList.toggle("has-attachments", chips.length > 0);
    updateNeeds();
    document.dispatchEvent(new CustomEvent("chat:attachments-changed"));
  }

  tray.addEventListener("click", (e) => {
    const button = e.target.closest(".att-remove");
    if (!button) return;
    const el = button.closest(".att-chip");
    const chip = chips.find((c) => String(c.key) === el.dataset.key);
    if (!chip) return;
    const next = el.nextElementSibling || el.previousElementSibling;
    chip.remove();
    dropChip(chip);
    const focus = next && next.querySelector(".att-remove");
    (focus || $("message")).focus();
  });

  // --- what the attachments need of the model ----------------------------------------------------

  /** The conversation's PDF engine now: the upload's `needs` was worked out without it. */
  function pdfEngine() {
    const conv = page().state.conv;
    const routing = (conv && conv.routing) || data.routing_defaults || {};
    return routing.pdf_engine || "";
  }

  /** The input modality a model needs for a chip: a PDF needs "file" only when it goes to the
   * model as it is (engine "native"); otherwise OpenRouter reads it into text for any model. */
  function needOf(chip) {
    if (chip.kind === "pdf") return pdfEngine() === "native" ? "file" : null;
    if (chip.data) return chip.data.needs;
    return chip.kind === "image" ? "image" : chip.kind === "audio" ? "audio" : null;
  }

  function needs(list) {
    return [...new Set(list.map(needOf).filter(Boolean))];
  }

  function needsSentence(wanted) {
    return wanted.length ? "Your attachments need: " + wanted.map((n) => NEEDS_LABEL[n] || n).join(", ") + "." : "";
  }

  /** The picker marks models that cannot read the tray; the composer says so of the current one. */
  function updateNeeds() {
    const p = page();
    if (!p) return;
    const wanted = needs(chips);
    p.picker.setNeeds(wanted, needsSentence(wanted));
    const model = p.picker.get(p.state.model);
    const note = $("attach-note");
    const missing = model ? wanted.filter((n) => !(model.input || []).includes(n)) : [];
    note.hidden = !missing.length || !$("composer-error").hidden; // a refusal already says it
    note.textContent = missing.length
      ? model.name + " cannot read " + missing.map((n) => NEEDS_LABEL[n] || n).join(" or ") +
        ". Choose a model that can: the Model list marks the ones that cannot."
      : "";
  }

  document.addEventListener("chat:model", updateNeeds);
  new MutationObserver(updateNeeds).observe($("composer-error"), { attributes: true, attributeFilter: ["hidden"] });

  // --- the three ways in: the button, a paste, a drop ---------------------------------------------

  input.addEventListener("change", () => {
    add(input.files);
    input.value = ""; // the same file can be attached again after its removal
  });

  $("message").addEventListener("paste", (e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (!files.length) return; // plain text pastes as text
    e.preventDefault();
    add(files);
  });

  const zone = $("chat-main");
  const overlay = $("drop-overlay");
  const carriesFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files");
  let depth = 0; // dragenter/leave pairs of the children crossed

  zone.addEventListener("dragenter", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth += 1;
    overlay.hidden = false;
  });
  zone.addEventListener("dragover", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    overlay.hidden = false;
  });
  zone.addEventListener("dragleave", (e) => {
    if (!carriesFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth || !zone.contains(e.relatedTarget)) { depth = 0; overlay.hidden = true; }
  });
  zone.addEventListener("drop", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    add(e.dataTransfer.files);
    $("message").focus();
  });
  // A file dropped beside the conversation must not replace the page with itself.
  window.addEventListener("dragover", (e) => { if (carriesFiles(e)) e.preventDefault(); });
  window.addEventListener("drop", (e) => { if (carriesFiles(e)) e.preventDefault(); });

  // --- what the page calls -------------------------------------------------------------------------

  /** Move the tray's chips out (into an outbox entry); they go on uploading. */
  function take() {
    const taken = chips;
    chips = [];
    tray.replaceChildren();
    errors = [];
    changed();
    return taken;
  }

  /** Put chips back in the tray (a refused or cancelled send), before those attached since. */
  function restore(list) {
    const back = list.filter((c) => !c.removed && c.state !== "failed");
    const room = MAX_FILES - chips.length;
    for (const chip of back.slice(room)) chip.remove(); // more than fit: dropped, not kept unseen
    chips = back.slice(0, Math.max(0, room)).concat(chips);
    tray.replaceChildren(...chips.map((c) => c.el));
    changed();
  }

  /** Chips rebuilt from stored AttachmentData (a draft kept across signing in again). */
  function restoreData(list) {
    restore((list || []).map((a) => new Chip(null, a)));
  }

  const ready = (list) => list.every((c) => c.state === "ready");
  const ids = (list) => list.filter((c) => c.state === "ready").map((c) => c.data.id);

  /** A message's attachments, as its bubble shows them: a row of thumbnails (each opens the
   * full image), then a row of file chips (each opens or downloads the file). */
  function renderInto(box, attachments) {
    const list = attachments || [];
    const isImage = (a) => a.kind === "image" && a.thumbnail_url;
    fill(box, list.filter(isImage).map((a) => imageItem(a, "")), list.filter((a) => !isImage(a)).map(fileItem));
  }

  function fill(box, images, others) {
    const row = (className, items) => {
      const ul = document.createElement("ul");
      ul.className = className;
      ul.append(...items);
      return ul;
    };
    box.hidden = !images.length && !others.length;
    box.replaceChildren(...[images.length && row("att-images", images), others.length && row("att-files", others)].filter(Boolean));
  }

  function imageItem(a, localSrc) {
    const li = imageTemplate.content.firstElementChild.cloneNode(true);
    const link = li.querySelector("a");
    const img = li.querySelector("img");
    img.alt = a.name;
    if (a.width && a.height) { img.width = a.width; img.height = a.height; }
    img.src = a.thumbnail_url || localSrc;
    if (a.url) { link.href = a.url; link.title = "Open " + a.name + " full size (" + metaLabel(a) + ")"; }
    else link.removeAttribute("href");
    return li;
  }

  function fileItem(a) {
    const li = fileTemplate.content.firstElementChild.cloneNode(true);
    const link = li.querySelector("a");
    li.dataset.kind = a.kind || "text";
    li.querySelector(".att-thumb").textContent = extension(a.name, a.kind);
    li.querySelector(".att-name").textContent = a.name;
    li.querySelector(".att-meta").textContent = metaLabel(a);
    if (a.url) { link.href = a.url; link.title = "Open " + a.name; } else link.removeAttribute("href");
    return li;
  }

  /** The attachments of an outbox entry, drawn in its pending bubble (uploads may still run). */
  function renderPending(box, list) {
    const images = [];
    const others = [];
    for (const c of list) {
      const a = c.data || { name: c.name, kind: c.kind, size: c.file ? c.file.size : null };
      const local = c.el.querySelector(".att-thumb img");
      if (c.kind === "image" && (a.thumbnail_url || local)) images.push(imageItem(a, local ? local.src : ""));
      else others.push(fileItem(a));
    }
    fill(box, images, others);
  }

  /** AttachmentData of the ready chips (what a draft keeps). */
  function snapshot(list) {
    return (list || chips).filter((c) => c.state === "ready").map((c) => c.data);
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.attachments = {
    add: add, take: take, restore: restore, restoreData: restoreData, ready: ready, ids: ids,
    count: () => chips.length, snapshot: snapshot, renderInto: renderInto, renderPending: renderPending,
    updateNeeds: updateNeeds, sizeLabel: sizeLabel, metaLabel: metaLabel,
  };
})();
