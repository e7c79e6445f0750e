/* "Import conversations" on the account page: upload the file, then poll the background
 * import's progress (chatapp/sharing/imports/jobs.py) until it has finished. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const section = $("import-section");
  const form = $("import-form");
  const POLL_MS = 1000;
  const STATE = { queued: "Waiting to start…", running: "Importing…", done: "Imported.", failed: "Import stopped." };

  function statusUrl(id) {
    return section.dataset.statusUrl.replace(/0$/, String(id));
  }

  function showError(text) {
    $("import-error").textContent = text;
    $("import-error").hidden = !text;
  }

  function plural(n, word) {
    return n.toLocaleString() + " " + word + (n === 1 ? "" : "s");
  }

  function show(job) {
    $("import-progress").hidden = false;
    $("import-state").textContent = STATE[job.status] || job.status;
    $("import-file-name").textContent = job.filename + (job.format ? " · " + job.format + " export" : "");
    $("import-bar").value = job.percent;
    $("import-bar").hidden = job.finished;
    const counts = plural(job.conversations, "conversation") + " and " + plural(job.messages, "message");
    $("import-summary").textContent = job.status === "done"
      ? counts + " imported; they are in your chat list."
      : job.status === "failed"
        ? job.error + (job.conversations ? " " + counts + " before that were imported and kept." : " Nothing was imported.")
        : counts + " so far (" + job.percent + "%).";
    const list = $("import-skipped");
    list.replaceChildren(...job.skipped.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    $("import-submit").disabled = !job.finished;
  }

  async function poll(id) {
    try {
      const response = await fetch(statusUrl(id), { credentials: "same-origin" });
      if (!response.ok) throw new Error("status " + response.status);
      const job = (await response.json()).job;
      show(job);
      if (!job.finished) setTimeout(() => poll(id), POLL_MS);
    } catch (err) {
      showError("Lost touch with the server while the import runs; it carries on. Reload the page to see how far it got.");
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    const file = $("import-file").files[0];
    if (!file) return showError("Choose a file to import first.");
    $("import-submit").disabled = true;
    $("import-progress").hidden = false;
    $("import-state").textContent = "Uploading…";
    $("import-file-name").textContent = file.name;
    $("import-summary").textContent = "";
    $("import-skipped").replaceChildren();
    try {
      const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
      let payload = {};
      try { payload = await response.json(); } catch (err) { /* not JSON */ }
      if (!response.ok) throw new Error(payload.error || "The upload failed (" + response.status + "). Try again.");
      form.reset();
      show(payload.job);
      poll(payload.job.id);
    } catch (err) {
      $("import-progress").hidden = true;
      $("import-submit").disabled = false;
      showError(err.message);
    }
  });

  const current = $("import-progress").dataset.job;
  if (current) poll(current);
})();
