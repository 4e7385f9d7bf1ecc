// Files (upload with progress, list, download, delete) and vector stores (create, add
// files with ingestion progress, search).
import { del, fileUrl, get, post, uploadFile } from "./api.js";
import { cursor, h, pager, showError, when } from "./ui.js";

function size(bytes) {
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

export async function filesPage(main) {
  main.append(h("h1", {}, "Files"));
  const input = h("input", { type: "file", "aria-label": "File to upload", "data-param": "file" });
  const purpose = h("select", { "aria-label": "Purpose", "data-param": "purpose" },
    ["assistants", "vision", "user_data", "batch", "fine-tune", "evals"].map((p) => h("option", { value: p }, p)));
  const bar = h("progress", { class: "progress", max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const form = h("form", { class: "card" }, h("div", { class: "row" }, input, purpose,
    h("button", { type: "submit", class: "primary" }, "Upload")), bar);
  const list = h("div");
  main.append(form, list);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) return;
    bar.hidden = false;
    try {
      await uploadFile(input.files[0], purpose.value, (sent, total) => { bar.max = total; bar.value = sent; });
      input.value = "";
      await load([]);
    } catch (error) {
      showError(form, error);
    } finally {
      bar.hidden = true;
    }
  });

  async function load(history) {
    const page = await get("/files", { limit: 20, ...cursor(history) });
    list.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "Purpose", "Size", "Created", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, page.data.map((f) => h("tr", { "data-file-id": f.id },
        h("td", {}, h("a", { href: "#", onclick: async (e) => {
          e.preventDefault();
          h("a", { href: await fileUrl(f.id), download: f.filename }).click();
        } }, f.filename), h("div", { class: "muted mono" }, f.id)),
        h("td", {}, f.purpose), h("td", {}, size(f.bytes)), h("td", { class: "muted" }, when(f.created_at)),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete ${f.filename}`,
          onclick: async () => { if (confirm(`Delete ${f.filename}?`)) { await del(`/files/${f.id}`); load(history); } } }, "Delete")))))),
    pager(page, history, load));
  }
  await load([]);
}

// A File's name in a picker: with its id and date where another File has the same name.
function fileLabels(files) {
  const seen = new Map();
  for (const f of files) seen.set(f.filename, (seen.get(f.filename) || 0) + 1);
  return (f) => seen.get(f.filename) > 1 ? `${f.filename} (${f.id.slice(-8)}, ${when(f.created_at)})` : f.filename;
}

export async function vectorStoresPage(main) {
  main.append(h("h1", {}, "Vector stores"));
  const name = h("input", { placeholder: "Name", "aria-label": "Store name", "data-param": "name" });
  const create = h("form", { class: "row" }, name, h("button", { type: "submit", class: "primary" }, "Create store"));
  const list = h("div");
  const detail = h("div");
  main.append(h("div", { class: "grid" }, h("div", {}, create, list), detail));
  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const store = await post("/vector_stores", { name: name.value || undefined });
      name.value = "";
      await load();
      show(store.id);
    } catch (error) {
      showError(create, error);
    }
  });

  async function load() {
    const page = await get("/vector_stores", { limit: 50 });
    list.replaceChildren(h("ul", {}, page.data.map((s) => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => show(s.id) }, s.name || s.id),
      h("span", { class: "muted" }, ` ${s.status} · ${s.file_counts.completed}/${s.file_counts.total} files`)))),
    page.data.length ? "" : h("p", { class: "muted" }, "No vector stores."));
  }

  // The detail panel is built once per store; polling updates its status line and file
  // table in place, so what is typed in its forms stays.
  async function show(storeId) {
    const [store, mine] = await Promise.all([get(`/vector_stores/${storeId}`), get("/files", { limit: 100, purpose: "assistants" })]);
    const names = new Map(mine.data.map((f) => [f.id, f.filename]));
    const label = fileLabels(mine.data);
    const pick = h("select", { "aria-label": "File to add", "data-param": "file_id" }, mine.data.map((f) => h("option", { value: f.id }, label(f))));
    const add = h("form", { class: "row" }, pick, h("button", { type: "submit" }, "Add file"));
    const status = h("p", { class: "muted", "data-testid": "store-status", "aria-live": "polite" });
    const table = h("table", { "aria-label": "Files in this store" });
    const query = h("input", { placeholder: "Search this store", "aria-label": "Search query", "data-param": "query" });
    const results = h("div");
    const search = h("form", { class: "row" }, query, h("button", { type: "submit" }, "Search"));
    const remove = h("button", { type: "button", class: "danger" }, "Delete store");
    const panel = h("div", { "data-store-id": storeId }, h("h2", {}, store.name || store.id), status, table, add, search, results,
      h("div", { class: "row" }, remove));
    detail.replaceChildren(panel);

    async function refresh() {
      const [now, files] = await Promise.all([get(`/vector_stores/${storeId}`), get(`/vector_stores/${storeId}/files`, { limit: 100 })]);
      status.textContent = `${now.status} · ${now.file_counts.completed} completed, ${now.file_counts.in_progress} in progress, ${now.file_counts.failed} failed`;
      status.dataset.status = now.status;
      table.replaceChildren(h("tbody", {}, files.data.map((f) => h("tr", { "data-file-id": f.id },
        h("td", {}, names.get(f.id) || f.id, h("div", { class: "muted mono" }, f.id)),
        h("td", {}, f.status), h("td", {}, f.last_error ? f.last_error.message : ""),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Detach ${names.get(f.id) || f.id}`, onclick: async () => {
          await del(`/vector_stores/${storeId}/files/${f.id}`);
          await refresh();
          await load();
        } }, "Detach"))))));
      return now;
    }

    // While files are ingesting: every 0.5 s at first, then less often (up to 5 s), for
    // as long as it takes; it ends when the panel shows another store or the page goes.
    async function poll() {
      if (panel.dataset.polling) return;
      panel.dataset.polling = "on";
      try {
        for (let wait = 500; panel.isConnected; wait = Math.min(wait * 1.5, 5000)) {
          const now = await refresh();
          if (!now.file_counts.in_progress) break;
          await new Promise((r) => setTimeout(r, wait));
        }
      } finally {
        delete panel.dataset.polling;
      }
      if (panel.isConnected) await load();
    }

    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post(`/vector_stores/${storeId}/files`, { file_id: pick.value });
        await poll();
      } catch (error) {
        showError(add, error);
      }
    });
    search.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const found = await post(`/vector_stores/${storeId}/search`, { query: query.value });
        results.replaceChildren(...found.data.map((r) => h("div", { class: "card" },
          h("strong", {}, r.filename), h("span", { class: "muted" }, ` score ${r.score.toFixed(3)}`),
          h("div", {}, r.content.map((c) => c.text).join(" ").slice(0, 400)))),
        found.data.length ? "" : h("p", { class: "muted" }, "No results."));
      } catch (error) {
        showError(search, error);
      }
    });
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete the vector store ${store.name || store.id}? Its files stay.`)) return;
      await del(`/vector_stores/${storeId}`);
      detail.replaceChildren();
      await load();
    });
    const now = await refresh();
    if (now.file_counts.in_progress) poll();
    return now;
  }

  await load();
}
