// The playground through /v1/responses: the same assistant (as the response's prompt,
// an assistantd extension) and the same thread (as its conversation), streamed with the
// Responses grammar into the same conversation view.
import { stream } from "./api.js";
import { markEnded, renderContent } from "./render.js";
import { outputsForm } from "./chat.js";
import { h } from "./ui.js";

// Output text with Responses annotations (an index into the text) as a message part
// with Assistants-style markers, so one renderer shows both.
function asTextPart(part) {
  let text = part.text;
  const annotations = [];
  [...(part.annotations || [])].map((a, n) => ({ a, n })).sort((x, y) => (y.a.index ?? 0) - (x.a.index ?? 0))
    .forEach(({ a }) => {
      if (a.type !== "file_citation" && a.type !== "container_file_citation") return;
      const marker = `\u3010${annotations.length}\u2020${a.filename || a.file_id}\u3011`;
      const at = Math.min(a.index ?? text.length, text.length);
      text = text.slice(0, at) + marker + text.slice(at);
      annotations.unshift({ type: "file_citation", text: marker, file_citation: { file_id: a.file_id } });
    });
  return { type: "text", text: { value: text, annotations } };
}

function toolItem(item) {
  const box = h("div", { class: "step", "data-item-id": item.id }, h("strong", {}, item.type.replaceAll("_", " ")));
  if (item.type === "function_call") {
    box.append(h("div", { class: "call", "data-type": "function" }, h("div", { class: "muted" }, `function ${item.name}`), h("pre", { class: "input" }, item.arguments)));
  } else if (item.type === "file_search_call") {
    box.append(h("div", { class: "call", "data-type": "file_search" },
      h("div", { class: "muted" }, `queries: ${(item.queries || []).join("; ")}`),
      (item.results || []).map((r) => h("div", {}, `${r.filename} (score ${r.score.toFixed(3)})`))));
  } else if (item.type === "code_interpreter_call") {
    box.append(h("div", { class: "call", "data-type": "code_interpreter" }, h("pre", { class: "input" }, item.code || ""),
      (item.outputs || []).map((o) => (o.type === "logs" ? h("pre", { class: "logs" }, o.logs) : o.url ? h("div", { class: "muted" }, o.url) : null))));
  }
  return box;
}

// Stream one response into `el`; hooks.event(name, data) for every event, hooks.ended
// (response or null) at the end. Function calls get a form that answers them with
// another response in the same conversation.
export async function respond(el, body, hooks) {
  const bubbles = new Map();
  let last = null;
  const thinking = h("div", { class: "thinking muted", role: "status" }, "Thinking…");
  el.append(thinking);
  try {
    await stream("/responses", body, (event, data) => {
      hooks.event(event, data);
      if (data.response) last = data.response;
      if (event === "response.output_text.delta" || event === "response.output_item.added") thinking.remove();
      if (event === "response.output_item.added" && data.item.type === "message") {
        const bubble = h("div", { class: "msg assistant", "data-item-id": data.item.id, "data-status": "streaming" }, h("div", { class: "text" }));
        bubbles.set(data.item.id, bubble);
        el.append(bubble);
      } else if (event === "response.output_text.delta") {
        bubbles.get(data.item_id)?.querySelector(".text").append(data.delta);
      } else if (event === "response.output_item.done") {
        const item = data.item;
        if (item.type === "message") {
          const bubble = bubbles.get(item.id);
          if (!bubble) return;
          renderContent(bubble, item.content.map((c) => (c.type === "output_text" ? asTextPart(c) : { type: c.type })));
          markEnded(bubble, { status: item.status === "incomplete" ? "incomplete" : "completed" });
        } else if (item.type !== "reasoning") {
          el.append(toolItem(item));
        }
      }
      el.scrollTop = el.scrollHeight;
    });
  } finally {
    thinking.remove();
    hooks.ended(last);
  }
  const calls = (last?.output || []).filter((i) => i.type === "function_call");
  if (last?.status === "completed" && calls.length) {
    const asked = calls.map((c) => ({ id: c.call_id, name: c.name, arguments: c.arguments }));
    el.append(outputsForm(asked, (outputs) => respond(el, {
      ...body, input: outputs.map((o) => ({ type: "function_call_output", call_id: o.id, output: o.output })),
    }, hooks)));
  }
  return last;
}
