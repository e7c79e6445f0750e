/* The model picker: the whole catalogue, type-to-search, filters, sorts, favourites, keyboard. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const esc = (s) => window.Chatapp.markdown.escapeHtml(s);
  const compact = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

  function priceLabel(value) {
    if (value === null || value === undefined) return "?";
    const n = Number(value);
    if (n === 0) return "free";
    return "$" + (n < 0.1 ? n.toPrecision(2).replace(/0+$/, "") : n.toFixed(2).replace(/\.00$/, ""));
  }

  function contextLabel(n) {
    if (!n) return "? ctx";
    if (n >= 1000000) return (n / 1000000).toFixed(n % 1000000 ? 1 : 0) + "M ctx";
    return Math.round(n / 1000) + "K ctx";
  }

  function totalPrice(m) {
    if (m.prompt === null || m.completion === null) return Infinity;
    return Number(m.prompt) + Number(m.completion);
  }

  const NEEDS_SHORT = { image: "images", file: "PDFs", audio: "audio" };

  const SORTS = {
    name: (a, b) => a.name.localeCompare(b.name),
    price: (a, b) => totalPrice(a) - totalPrice(b) || a.name.localeCompare(b.name),
    context: (a, b) => (b.context || 0) - (a.context || 0) || a.name.localeCompare(b.name),
    newest: (a, b) => (b.created || 0) - (a.created || 0) || a.name.localeCompare(b.name),
  };

  /* Search keys of a model, each matched on its own: a term never matches across the end of
   * the name and the start of the id ("gpt4o" is not "…Gpt 4" + "openai/…"). */
  function searchKeys(m) {
    const name = m.name.toLowerCase();
    const id = m.id.toLowerCase();
    m._fields = [name, id];
    m._whole = [id, name, name.replace(/^[^:]*:\s*/, ""), id.replace(/^[^/]*\//, "")];
    m._compact = m._whole.map(compact);
  }

  const BOUNDARY = /[\s/:.\-_(]/;

  /* 3: a term at the start of a word of the name or id; 2: inside one; 1: with punctuation
   * ignored ("4o mini", "llama 3.1", "claude son" find what a person means); -1: no match. */
  function termScore(m, term) {
    let best = -1;
    for (const field of m._fields) {
      const at = field.indexOf(term);
      if (at >= 0) best = Math.max(best, at === 0 || BOUNDARY.test(field[at - 1]) ? 3 : 2);
    }
    if (best >= 0) return best;
    const bare = compact(term);
    return bare && m._compact.some((c) => c.includes(bare)) ? 1 : -1;
  }

  /* Exact id or name first, then those that start with the query, then the rest by term fit. */
  function score(m, query, terms) {
    let total = 0;
    for (const term of terms) {
      const s = termScore(m, term);
      if (s < 0) return -1;
      total += s;
    }
    const bare = compact(query);
    if (m._whole.includes(query) || (bare && m._compact.includes(bare))) return total + 1000;
    if (m._whole.some((key) => key.startsWith(query))) return total + 100;
    return total;
  }

  class Picker {
    constructor(options) {
      this.url = options.url;
      this.favoriteUrl = options.favoriteUrl;
      this.csrf = options.csrf;
      this.favorites = new Set(options.favorites || []);
      this.favoriteOrder = options.favorites || [];
      this.onPick = options.onPick;
      this.models = [];
      this.byId = new Map();
      this.visible = [];
      this.active = 0;
      this.current = options.current;
      this.needs = []; // input modalities the composer's attachments need ("image", "file", "audio")
      this.button = $("model-button");
      this.panel = $("picker-panel");
      this.search = $("model-search");
      this.list = $("model-list");
      this.count = $("picker-count");
      this.favToggle = $("fav-toggle");
      this.filters = {
        free: $("f-free"), image: $("f-image"), file: $("f-file"),
        price: $("f-price"), context: $("f-context"), vendor: $("f-vendor"), sort: $("f-sort"),
      };
      this.bind();
    }

    async load() {
      try {
        const response = await fetch(this.url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        this.setModels(data.models);
      } catch (e) {
        $("model-current").textContent = this.current || "Models unavailable";
        this.count.textContent = "The model list could not be loaded. Reload the page to try again.";
      }
    }

    setModels(models) {
      this.models = models;
      for (const m of models) {
        searchKeys(m);
        this.byId.set(m.id, m);
      }
      const vendors = [...new Set(models.map((m) => m.vendor))].sort();
      this.filters.vendor.insertAdjacentHTML(
        "beforeend", vendors.map((v) => '<option value="' + esc(v) + '">' + esc(v) + "</option>").join(""));
      this.setCurrent(this.current);
      this.refresh();
    }

    get(id) {
      return this.byId.get(id);
    }

    /** What the composer's attachments need: the panel says so and marks the models that
     * cannot read them (they stay listed: the person may want to change the files instead). */
    setNeeds(needs, sentence) {
      this.needs = needs || [];
      const note = $("picker-needs");
      note.textContent = sentence ? sentence + " Models that cannot read them are marked." : "";
      note.hidden = !sentence;
      if (!this.panel.hidden) this.refresh();
    }

    missing(m) {
      return this.needs.filter((n) => !(m.input || []).includes(n));
    }

    setCurrent(id) {
      this.current = id;
      const model = this.byId.get(id);
      $("model-current").textContent = model ? model.name : id || "Choose a model";
      this.button.title = id || "";
    }

    bind() {
      this.button.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
      this.search.addEventListener("input", () => { this.active = 0; this.refresh(); });
      this.search.addEventListener("keydown", (e) => this.onKey(e));
      for (const el of Object.values(this.filters)) el.addEventListener("change", () => { this.active = 0; this.refresh(); });
      this.panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this.close(true); }
      });
      this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the search box
      this.list.addEventListener("click", (e) => {
        const star = e.target.closest(".star");
        const item = e.target.closest("[role=option]");
        if (!item) return;
        if (star) this.toggleFavorite(item.dataset.id);
        else this.pick(item.dataset.id);
      });
      this.favToggle.addEventListener("click", () => {
        const model = this.visible[this.active];
        if (model) this.toggleFavorite(model.id);
      });
      document.addEventListener("mousedown", (e) => {
        if (!this.panel.hidden && !e.target.closest("#picker")) this.close();
      });
    }

    open() {
      this.panel.hidden = false;
      this.button.setAttribute("aria-expanded", "true");
      this.search.value = "";
      this.refresh();
      const at = this.visible.findIndex((m) => m.id === this.current);
      this.active = at >= 0 ? at : 0;
      this.highlightActive(true);
      this.search.focus();
    }

    close(returnFocus) {
      this.panel.hidden = true;
      this.button.setAttribute("aria-expanded", "false");
      if (returnFocus) this.button.focus();
    }

    onKey(e) {
      const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 8, PageUp: -8 };
      if (e.key in moves) {
        e.preventDefault();
        this.active = Math.max(0, Math.min(this.visible.length - 1, this.active + moves[e.key]));
        this.highlightActive(true);
      } else if (e.key === "Home" && e.ctrlKey) {
        this.active = 0; this.highlightActive(true);
      } else if (e.key === "Enter") {
        e.preventDefault();
        const model = this.visible[this.active];
        if (model) this.pick(model.id);
      }
    }

    pick(id) {
      this.setCurrent(id);
      this.close(false);
      if (this.onPick) this.onPick(id, this.byId.get(id));
    }

    matches(m) {
      const f = this.filters;
      if (f.free.checked && !m.free) return false;
      if (f.image.checked && !(m.input || []).includes("image")) return false;
      if (f.file.checked && !(m.input || []).includes("file")) return false;
      if (f.price.value && !(Math.max(Number(m.prompt), Number(m.completion)) <= Number(f.price.value))) return false;
      if (f.context.value && !((m.context || 0) >= Number(f.context.value))) return false;
      if (f.vendor.value && m.vendor !== f.vendor.value) return false;
      return true;
    }

    refresh() {
      const query = this.search.value.toLowerCase().trim();
      const terms = query.split(/\s+/).filter(Boolean);
      const sort = SORTS[this.filters.sort.value] || SORTS.name;
      let rows = [];
      for (const m of this.models) {
        if (!this.matches(m)) continue;
        const s = terms.length ? score(m, query, terms) : 0;
        if (s >= 0) rows.push([s, m]);
      }
      rows.sort((a, b) => b[0] - a[0] || sort(a[1], b[1]));
      rows = rows.map((r) => r[1]);
      const favs = rows.filter((m) => this.favorites.has(m.id));
      const rest = rows.filter((m) => !this.favorites.has(m.id));
      this.visible = favs.concat(rest);
      this.renderList(favs.length);
      this.count.textContent = rows.length + " of " + this.models.length + " models";
    }

    renderList(favCount) {
      const parts = [];
      this.visible.forEach((m, i) => {
        if (i === 0 && favCount) parts.push('<li class="group" role="presentation">Favourites</li>');
        if (i === favCount && favCount) parts.push('<li class="group" role="presentation">All models</li>');
        parts.push(this.itemHtml(m, i));
      });
      if (!this.visible.length) parts.push('<li class="none" role="presentation">No model matches. Try fewer words or clear a filter.</li>');
      this.list.innerHTML = parts.join("");
      if (this.active >= this.visible.length) this.active = 0;
      this.highlightActive(false);
    }

    itemHtml(m, i) {
      const fav = this.favorites.has(m.id);
      const price = m.free ? '<span class="badge ok">free</span>'
        : '<span title="prompt / completion, dollars per million tokens">' + priceLabel(m.prompt) + " / " + priceLabel(m.completion) + " per M</span>";
      const mods = (m.input || []).filter((x) => x !== "text").map((x) => '<span class="badge">' + esc(x) + "</span>").join("");
      const missing = this.missing(m);
      const cannot = missing.length
        ? '<span class="badge cannot-read">can’t read ' + esc(missing.map((n) => NEEDS_SHORT[n] || n).join(", ")) + "</span>" : "";
      return (
        '<li role="option" id="opt-' + i + '" data-id="' + esc(m.id) + '" aria-selected="' + (m.id === this.current) + '"' +
        (missing.length ? ' class="cannot"' : "") + ">" +
        '<div class="opt-main"><span class="opt-name">' + esc(m.name) + "</span>" + mods + cannot +
        '<span class="opt-id">' + esc(m.id) + "</span></div>" +
        '<div class="opt-meta num">' + price + "<span>" + contextLabel(m.context) + "</span></div>" +
        // Not a button: an option holds no control of its own (the foot's button is the
        // keyboard's way, and reads the option's name); the star is for the mouse.
        '<span class="star' + (fav ? " on" : "") + '" aria-hidden="true" title="' +
        (fav ? "Remove from favourites" : "Add to favourites") + '">' + (fav ? "★" : "☆") + "</span>" +
        (fav ? '<span class="visually-hidden">, favourite</span>' : "") + "</li>"
      );
    }

    highlightActive(scroll) {
      const previous = this.list.querySelector(".active");
      if (previous) previous.classList.remove("active");
      const el = $("opt-" + this.active);
      this.showFavToggle();
      if (!el) { this.search.removeAttribute("aria-activedescendant"); return; }
      el.classList.add("active");
      this.search.setAttribute("aria-activedescendant", el.id);
      if (scroll) el.scrollIntoView({ block: "nearest" });
    }

    /** The foot's button names what it does to the highlighted model. */
    showFavToggle() {
      const model = this.visible[this.active];
      this.favToggle.hidden = !model;
      if (!model) return;
      const fav = this.favorites.has(model.id);
      this.favToggle.textContent = (fav ? "★ Remove " : "☆ Add ") + model.name + (fav ? " from favourites" : " to favourites");
    }

    async toggleFavorite(id) {
      const wanted = !this.favorites.has(id);
      if (wanted) this.favorites.add(id); else this.favorites.delete(id);
      this.refresh();
      try {
        await fetch(this.favoriteUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf() },
          body: JSON.stringify({ model: id, favorite: wanted }),
        });
      } catch (e) {
        /* the star stays as clicked; it is saved again on the next toggle */
      }
    }
  }

  window.Chatapp = window.Chatapp || {};
  window.Chatapp.Picker = Picker;
  window.Chatapp.priceLabel = priceLabel;
  window.Chatapp.contextLabel = contextLabel;
})();
