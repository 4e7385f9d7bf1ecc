// Threads (through the GET /v1/threads extension): browse, filter by metadata, and
// read a thread's messages, runs and steps.
import { get } from "./api.js";
import { renderContent } from "./render.js";
import { clearErrors, cursor, h, pager, showError, when } from "./ui.js";

// Kept while the console is open: opening a thread (a new #/threads/ID page) keeps the
// filter and the page of the list it was opened from.
const kept = { key: "", value: "", history: [] };

function messageView(m) {
  const body = h("div");
  renderContent(body, m.content);
  const files = (m.attachments || []).map((a) => a.file_id).join(", ");
  return h("div", { class: `msg ${m.role}`, "data-message-id": m.id },
    h("div", { class: "muted" }, m.role), body,
    files ? h("div", { class: "muted" }, `attached: ${files}`) : null);
}

function stepView(s) {
  const calls = s.step_details.type === "tool_calls"
    ? h("pre", { class: "mono" }, JSON.stringify(s.step_details.tool_calls, null, 1).slice(0, 2000)) : null;
  return h("li", {}, `${s.type} ${s.status}`, calls);
}

async function runView(threadId, r) {
  const steps = await get(`/threads/${threadId}/runs/${r.id}/steps`, { limit: 100, order: "asc" });
  return h("div", { class: "card", "data-run-id": r.id },
    h("div", {}, h("span", { class: "mono" }, r.id), ` ${r.status} · ${r.model}`,
      r.usage ? ` · ${r.usage.total_tokens} tokens` : ""),
    r.last_error ? h("div", { class: "error" }, `${r.last_error.code}: ${r.last_error.message}`) : null,
    h("ul", {}, steps.data.map(stepView)));
}

export async function threadsPage(main, [selected]) {
  main.append(h("h1", {}, "Threads"));
  const key = h("input", { placeholder: "metadata key", "aria-label": "Metadata key", value: kept.key });
  const value = h("input", { placeholder: "value", "aria-label": "Metadata value", "data-param": "metadata", value: kept.value });
  const list = h("div");
  const detail = h("div");
  const filter = h("form", { class: "row", "aria-label": "Filter threads" }, key, value, h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (e) => {
    e.preventDefault();
    // Metadata is matched exactly: an empty value would match only threads whose value
    // is "", never "any value", so ask for one rather than show an empty list.
    if (key.value.trim() && !value.value) {
      showError(filter, { message: "Enter the value to match: metadata values are matched exactly.", param: "metadata" });
      return;
    }
    clearErrors(filter);
    kept.key = key.value.trim();
    kept.value = value.value;
    load([]);
  });
  main.append(h("div", { class: "grid" }, h("div", {}, filter, list), detail));

  async function load(history) {
    kept.history = history;
    const params = { limit: 20, ...cursor(history) };
    if (kept.key) params[`metadata[${kept.key}]`] = kept.value;
    const page = await get("/threads", params);
    list.replaceChildren(
      h("table", {}, h("tbody", {}, page.data.map((t) => h("tr", {},
        h("td", {}, h("a", { href: `#/threads/${t.id}`, class: "mono" }, t.id),
          Object.keys(t.metadata).length ? h("div", { class: "muted mono" }, JSON.stringify(t.metadata)) : null),
        h("td", { class: "muted" }, when(t.created_at)))))),
      page.data.length ? "" : h("p", { class: "muted" }, "No threads."),
      pager(page, history, load));
  }

  async function show(threadId) {
    const [messages, runs] = await Promise.all([
      get(`/threads/${threadId}/messages`, { limit: 100, order: "asc" }),
      get(`/threads/${threadId}/runs`, { limit: 20 }),
    ]);
    const runViews = await Promise.all(runs.data.map((r) => runView(threadId, r)));
    detail.replaceChildren(h("h2", {}, threadId),
      h("p", {}, h("a", { href: `#/playground/${threadId}` }, "Open in the playground")),
      h("h2", {}, "Messages"),
      h("div", {}, messages.data.map(messageView)),
      h("h2", {}, "Runs"),
      h("div", {}, runViews.length ? runViews : h("p", { class: "muted" }, "No runs.")));
  }

  await load(kept.history);
  if (selected) await show(selected);
}
