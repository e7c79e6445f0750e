/* The composer's "Web search" toggle and cost estimate, and the routing part of the settings
 * panel. Loaded after chat.js; talks to the page through window.Chatapp.page. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const C = window.Chatapp;
  const page = C.page;
  const state = page.state;
  const data = JSON.parse($("chat-data").textContent);
  const input = $("message");
  const ESTIMATE_DELAY_MS = 300;

  // --- the settings panel: provider routing and long conversations ------------------------------

  let providerRows = []; // [{name, prompt, completion, checked}] in the order shown

  function routingOf(conv) {
    return (conv && conv.routing) || data.routing_defaults;
  }

  function fill(conv, model) {
    const routing = routingOf(conv);
    $("provider-sort").value = routing.provider_sort || "";
    $("allow-fallbacks").checked = routing.allow_fallbacks !== false;
    $("deny-data-collection").checked = !!routing.deny_data_collection;
    const strategy = routing.context_strategy === "middle-out" ? "context-middle-out" : "context-trim";
    $(strategy).checked = true;
    $("pdf-engine").value = routing.pdf_engine || "";
    loadProviders(model, (conv && conv.model === model && routing.provider_order) || []);
  }

  async function loadProviders(model, order) {
    const status = $("providers-status");
    status.textContent = "Loading the providers of this model…";
    $("provider-order").replaceChildren();
    try {
      const response = await fetch(data.urls.providers + "?model=" + encodeURIComponent(model), { credentials: "same-origin" });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.error || "The provider list could not be loaded.");
      const names = payload.providers.map((p) => p.name);
      const chosen = order.filter((name) => names.includes(name));
      const rest = payload.providers.filter((p) => !chosen.includes(p.name));
      providerRows = [...chosen.map((name) => payload.providers.find((p) => p.name === name)), ...rest]
        .map((p) => Object.assign({}, p, { checked: chosen.includes(p.name) }));
      renderProviders();
      status.textContent = providerRows.length
        ? "Tick providers to try them first, in this order. None ticked: OpenRouter chooses."
        : "OpenRouter lists no providers for this model.";
    } catch (err) {
      providerRows = [];
      status.textContent = err.message;
    }
  }

  function renderProviders() {
    const list = $("provider-order");
    list.replaceChildren(...providerRows.map((p, index) => {
      const li = document.createElement("li");
      li.className = "provider-row" + (p.checked ? " on" : "");
      const label = document.createElement("label");
      label.className = "check";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = p.checked;
      box.setAttribute("aria-label", "Prefer " + p.name);
      box.addEventListener("change", () => { p.checked = box.checked; li.classList.toggle("on", box.checked); });
      const name = document.createElement("span");
      name.textContent = p.name;
      label.append(box, name);
      const price = document.createElement("span");
      price.className = "provider-price num muted";
      price.textContent = p.prompt !== null ? "$" + p.prompt + " / $" + p.completion + " per M" : "";
      li.append(label, price, moveButton(p, index, -1), moveButton(p, index, 1));
      return li;
    }));
  }

  function moveButton(p, index, step) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon small move";
    button.textContent = step < 0 ? "↑" : "↓";
    button.setAttribute("aria-label", "Move " + p.name + (step < 0 ? " up" : " down"));
    const target = index + step;
    button.disabled = target < 0 || target >= providerRows.length;
    button.addEventListener("click", () => {
      [providerRows[index], providerRows[target]] = [providerRows[target], providerRows[index]];
      renderProviders();
      $("provider-order").querySelectorAll("button.move")[target * 2 + (step < 0 ? 0 : 1)]?.focus();
    });
    return button;
  }

  function read() {
    const strategy = document.querySelector("input[name=context-strategy]:checked");
    return {
      provider_sort: $("provider-sort").value,
      provider_order: providerRows.filter((p) => p.checked).map((p) => p.name),
      allow_fallbacks: $("allow-fallbacks").checked,
      deny_data_collection: $("deny-data-collection").checked,
      context_strategy: strategy ? strategy.value : "trim",
      pdf_engine: $("pdf-engine").value,
    };
  }

  C.routingSettings = { fill: fill, read: read };

  // --- the "Web search" toggle ------------------------------------------------------------------

  const toggle = $("web-search");
  toggle.checked = !!(state.conv && state.conv.web_search);

  toggle.addEventListener("change", async () => {
    const on = toggle.checked;
    try {
      const result = state.conv
        ? await page.postJson("/c/" + state.conv.id + "/web-search", { on: on })
        : await page.postJson(data.urls.create, { model: state.model, web_search: on });
      const fresh = !state.conv;
      state.conv = Object.assign(state.conv || {}, result.conversation);
      if (fresh) { history.replaceState(null, "", "/c/" + state.conv.id + "/"); page.subscribe(); }
    } catch (err) {
      toggle.checked = !on;
      warn(err.message);
      return;
    }
    scheduleEstimate();
  });

  // --- the estimate next to Send -----------------------------------------------------------------

  const box = $("estimate");
  let timer = 0;
  let asked = 0; // answers to older questions are dropped

  function warn(text) {
    $("estimate-warning").textContent = text || "";
    $("estimate-warning").hidden = !text;
  }

  function scheduleEstimate() {
    clearTimeout(timer);
    if (!hasDraft()) { box.hidden = true; warn(""); return; }
    timer = setTimeout(estimate, ESTIMATE_DELAY_MS);
  }

  // The files in the composer are priced with the text (only those uploaded so far).
  function attachmentIds() {
    const attachments = window.Chatapp && window.Chatapp.attachments;
    return attachments ? attachments.snapshot().map((a) => a.id) : [];
  }

  function hasDraft() {
    return Boolean(input.value.trim()) || attachmentIds().length > 0;
  }

  async function estimate() {
    const ticket = ++asked;
    const last = page.path().slice(-1)[0];
    let found;
    try {
      found = await page.postJson(data.urls.estimate, {
        conversation: state.conv ? state.conv.id : null, parent: last ? last.id : null,
        model: state.model, draft: input.value, web_search: toggle.checked,
        attachments: attachmentIds(),
      });
    } catch (err) {
      return; // an estimate is a courtesy: a failed one just is not shown
    }
    if (ticket !== asked || !hasDraft()) return;
    showEstimate(found);
  }

  function showEstimate(found) {
    box.hidden = false;
    box.className = "estimate num";
    if (found.refusal) {
      box.hidden = true;
      warn(found.refusal);
      return;
    }
    if (!found.prices_known) {
      box.textContent = "Price unknown";
      box.title = "OpenRouter does not publish this model's prices, so the cost is only known after the reply.";
      warn("");
      return;
    }
    box.replaceChildren(label("Estimate"), document.createTextNode(
      "≈ $" + found.input_text + (found.output_cost !== "0" ? " + up to $" + found.output_text : "")));
    box.title = "About " + found.input_tokens.toLocaleString() + " tokens in" +
      (found.cached_tokens ? " (" + found.cached_tokens.toLocaleString() + " likely cached)" : "") +
      ", up to " + found.output_tokens.toLocaleString() + " out" +
      (found.web_search_cost !== "0" ? ", web search $" + found.web_search_text : "") +
      (found.omitted ? "; " + found.omitted + " older messages would be left out" : "") +
      ". The cost of record is OpenRouter's, after the reply.";
    box.classList.toggle("over", !!found.over_budget);
    warn(found.over_budget
      ? "This message could cost up to $" + found.total_text + ", more than the $" + found.budget_remaining_text +
        " left of your monthly budget. It may be refused or stop your next one."
      : "");
  }

  function label(text) {
    const span = document.createElement("span");
    span.className = "estimate-label";
    span.textContent = text;
    return span;
  }

  function showCostOfRecord(m) {
    if (hasDraft() || m.cost === null || m.cost === undefined) return;
    box.hidden = false;
    box.className = "estimate num recorded";
    box.replaceChildren(label("Last reply"), document.createTextNode(page.money(m.cost)));
    box.title = "What the last reply cost, as OpenRouter reported it.";
    warn("");
  }

  input.addEventListener("input", scheduleEstimate);
  document.addEventListener("chat:model", scheduleEstimate);
  document.addEventListener("chat:attachments-changed", scheduleEstimate);
  document.addEventListener("chat:reply-done", (e) => showCostOfRecord(e.detail));
})();
