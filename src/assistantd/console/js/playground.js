// The playground: talk to an assistant, watch the answer and its run steps stream in.
import { get, post, stream, uploadFile } from "./api.js";
import { image, markEnded, renderContent } from "./render.js";
import { clearErrors, h, labeled, showError } from "./ui.js";

export async function playgroundPage(main, [opened]) {
  const [assistants, threads] = await Promise.all([get("/assistants", { limit: 100 }), get("/threads", { limit: 20 })]);
  let thread = null;
  let running = null; // { runId, controller }
  const chat = h("div", { class: "chat", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  const usage = h("p", { class: "muted", "data-testid": "usage" });
  const status = h("p", { class: "muted", "data-testid": "run-status" });
  const assistantSelect = h("select", { id: "pg-assistant", "data-param": "assistant_id" },
    assistants.data.map((a) => h("option", { value: a.id }, a.name || a.id)));
  const threadSelect = h("select", { id: "pg-thread" }, h("option", { value: "" }, "New thread"),
    threads.data.map((t) => h("option", { value: t.id }, t.id)));
  const model = h("input", { id: "pg-model", placeholder: "the assistant's", "data-param": "model" });
  const instructions = h("textarea", { id: "pg-instructions", placeholder: "the assistant's", "data-param": "instructions" });
  const toolBoxes = ["code_interpreter", "file_search"].map((type) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: type, "data-tool": type }), ` ${type}`));
  const toolsOverride = h("fieldset", { "data-param": "tools" }, h("legend", {}, "Tools (override)"),
    h("label", { class: "check" }, h("input", { type: "checkbox", "data-tool": "override" }), " use these instead of the assistant's:"), toolBoxes);
  const input = h("textarea", { id: "pg-input", placeholder: "Message (Ctrl+Enter sends)", "aria-label": "Message", "data-param": "content" });
  const files = h("input", { type: "file", multiple: true, "aria-label": "Attach files" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const cancel = h("button", { type: "button", disabled: true, onclick: () => cancelRun() }, "Cancel run");
  const form = h("form", {}, input, h("div", { class: "row" }, files, send, cancel));

  main.append(h("h1", {}, "Playground"), h("div", { class: "grid playground" },
    h("div", { class: "card settings" },
      labeled("Assistant", assistantSelect),
      assistants.data.length ? null : h("p", { class: "muted" }, "No assistant yet: ", h("a", { href: "#/assistants" }, "create one"), "."),
      labeled("Thread", threadSelect),
      labeled("Model (override)", model),
      labeled("Instructions (override)", instructions),
      toolsOverride,
      status, usage),
    h("div", {}, chat, form)));

  threadSelect.addEventListener("change", () => reopen(threadSelect.value || null));
  if (opened) {
    if (!threadSelect.querySelector(`option[value="${CSS.escape(opened)}"]`)) threadSelect.append(h("option", { value: opened }, opened));
    threadSelect.value = opened;
    await reopen(opened);
  }

  // A thread as it was: its messages, and each run's tool calls where the run made them
  // (a run's steps, oldest first, name the messages it wrote).
  async function reopen(threadId) {
    thread = threadId;
    chat.replaceChildren();
    if (!thread) return;
    const [messages, runs] = await Promise.all([
      get(`/threads/${thread}/messages`, { limit: 100, order: "asc" }),
      get(`/threads/${thread}/runs`, { limit: 20, order: "asc" }),
    ]);
    const byId = new Map(messages.data.map((m) => [m.id, m]));
    const runSteps = await Promise.all(runs.data.map((r) => get(`/threads/${thread}/runs/${r.id}/steps`, { limit: 100, order: "asc" })));
    const shown = new Set(runs.data.map((r) => r.id));
    const own = messages.data.filter((m) => !m.run_id || !shown.has(m.run_id));
    const messageView = (m) => {
      const el = h("div", { class: `msg ${m.role}`, "data-message-id": m.id });
      renderContent(el, m.content);
      markEnded(el, m);
      return el;
    };
    // Runs go after the messages written before them (a message and the run it started
    // share a second: the message first).
    let next = 0;
    runs.data.forEach((run, i) => {
      while (next < own.length && own[next].created_at <= run.created_at) chat.append(messageView(own[next++]));
      for (const s of runSteps[i].data) {
        if (s.step_details.type === "message_creation") {
          const m = byId.get(s.step_details.message_creation.message_id);
          if (m) chat.append(messageView(m));
        } else {
          const step = { el: h("div", { class: "step", "data-step-id": s.id }, h("strong", {}, "Tool calls")), calls: [] };
          s.step_details.tool_calls.forEach((call, n) => finishCall(step, n, call));
          chat.append(step.el);
        }
      }
    });
    while (next < own.length) chat.append(messageView(own[next++]));
  }
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) form.requestSubmit(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    if (running?.waiting) {
      // The API refuses a message while a run is active; say what to do instead.
      showError(form, { message: "This run is waiting for your function outputs: submit them above, or cancel the run, before sending another message." });
      return;
    }
    if (running) return;
    if (!assistantSelect.value) {
      showError(form, { message: "Choose an assistant first (or create one on the Assistants page).", param: "assistant_id" });
      return;
    }
    clearErrors(form);
    send.disabled = true;
    try {
      await sendMessage();
    } catch (error) {
      showError(form, error);
      settle(null);
    }
  });

  // After a stream ends: a run waiting for tool outputs keeps Cancel and holds Send;
  // any other end frees both (every path that follows a run comes through here).
  function settle(run) {
    const waiting = run?.status === "requires_action";
    running = waiting ? { runId: run.id, waiting: true } : null;
    cancel.disabled = !waiting;
    send.disabled = waiting;
    send.title = waiting ? "Submit the function outputs or cancel the run first" : "";
    if (!waiting) clearErrors(form);
  }

  async function sendMessage() {
    const assistantId = assistantSelect.value;
    const chosen = assistants.data.find((a) => a.id === assistantId);
    const tools = (chosen?.tools || []).filter((t) => t.type !== "function").map((t) => ({ type: t.type }));
    const attachments = [];
    for (const file of files.files) {
      const uploaded = await uploadFile(file, "assistants");
      attachments.push({ file_id: uploaded.id, tools: tools.length ? tools : [{ type: "file_search" }] });
    }
    const content = input.value;
    if (!thread) {
      thread = (await post("/threads", {})).id;
      threadSelect.append(h("option", { value: thread, selected: true }, thread));
    }
    await post(`/threads/${thread}/messages`, { role: "user", content, attachments });
    chat.append(h("div", { class: "msg user" }, content, attachments.length ? h("div", { class: "muted" }, `${attachments.length} file(s) attached`) : null));
    input.value = "";
    files.value = "";
    const body = { assistant_id: assistantId };
    if (model.value.trim()) body.model = model.value.trim();
    if (instructions.value.trim()) body.instructions = instructions.value;
    if (toolsOverride.querySelector('[data-tool="override"]').checked) {
      // The assistant's functions stay; the built-in tools are the ones ticked here.
      body.tools = [
        ...[...toolsOverride.querySelectorAll("input[value]:checked")].map((box) => ({ type: box.value })),
        ...(chosen?.tools || []).filter((t) => t.type === "function"),
      ];
    }
    await follow(`/threads/${thread}/runs`, body);
  }

  async function follow(path, body) {
    const controller = new AbortController();
    running = { runId: null, controller };
    const bubbles = new Map();
    const steps = new Map();
    let last = null; // the run as its latest event showed it
    try {
      await watch();
    } finally {
      settle(last);
    }

    function watch() { return stream(path, body, (event, data) => {
      if (event.startsWith("thread.run.") && !event.startsWith("thread.run.step")) {
        running.runId = data.id;
        last = data;
        cancel.disabled = !["queued", "in_progress", "requires_action"].includes(data.status);
        status.textContent = `Run ${data.id}: ${data.status}`;
        status.dataset.status = data.status;
        if (data.usage) usage.textContent = `Tokens: ${data.usage.prompt_tokens} in, ${data.usage.completion_tokens} out, ${data.usage.total_tokens} total`;
        if (data.last_error) status.textContent += ` (${data.last_error.code}: ${data.last_error.message})`;
        if (event === "thread.run.requires_action") chat.append(actionForm(data));
      } else if (event === "thread.message.created" && data.role === "assistant") {
        const el = h("div", { class: "msg assistant", "data-message-id": data.id, "data-status": "streaming" }, h("div", { class: "text" }));
        bubbles.set(data.id, { el, parts: [] });
        chat.append(el);
      } else if (event === "thread.message.delta") {
        const bubble = bubbles.get(data.id);
        if (!bubble) return;
        for (const part of data.delta.content || []) {
          if (part.type === "image_file") bubble.el.prepend(image(part.image_file.file_id));
          else if (part.type === "text" && part.text?.value) bubble.el.querySelector(".text").append(part.text.value);
        }
      } else if (event === "thread.message.completed" || event === "thread.message.incomplete") {
        const bubble = bubbles.get(data.id);
        if (!bubble) return;
        renderContent(bubble.el, data.content);
        markEnded(bubble.el, data);
      } else if (event === "thread.run.step.created" && data.step_details.type === "tool_calls") {
        const el = h("div", { class: "step", "data-step-id": data.id }, h("strong", {}, "Tool calls"));
        steps.set(data.id, { el, calls: [] });
        chat.append(el);
      } else if (event === "thread.run.step.delta") {
        const step = steps.get(data.id);
        for (const call of data.delta.step_details?.tool_calls || []) if (step) stepDelta(step, call);
      } else if (event === "thread.run.step.completed") {
        const step = steps.get(data.id);
        if (step) data.step_details.tool_calls.forEach((call, i) => finishCall(step, i, call));
      }
      chat.scrollTop = chat.scrollHeight;
    }, controller.signal); }
  }

  function callBox(step, index, type) {
    if (!step.calls[index]) {
      const box = { el: h("div", { class: "call", "data-type": type }, h("div", { class: "muted" }, type)), input: h("pre", { class: "input" }), out: h("div", { class: "outputs" }) };
      box.el.append(box.input, box.out);
      step.el.append(box.el);
      step.calls[index] = box;
    }
    return step.calls[index];
  }

  function stepDelta(step, call) {
    const box = callBox(step, call.index ?? 0, call.type);
    if (call.type === "function" && call.function) {
      if (call.function.name) box.el.firstChild.textContent = `function ${call.function.name}`;
      box.input.append(call.function.arguments || "");
    } else if (call.type === "code_interpreter" && call.code_interpreter) {
      box.input.append(call.code_interpreter.input || "");
      for (const o of call.code_interpreter.outputs || []) {
        if (o.type === "logs") box.out.append(h("pre", { class: "logs" }, o.logs));
        if (o.type === "image") box.out.append(image(o.image.file_id));
      }
    }
  }

  function finishCall(step, index, call) {
    const box = callBox(step, index, call.type);
    if (call.type === "file_search") {
      const results = call.file_search?.results || [];
      box.out.replaceChildren(h("div", { class: "muted" }, `${results.length} result(s)`),
        ...results.map((r) => h("div", {}, `${r.file_name} (score ${r.score.toFixed(3)})`)));
    } else if (call.type === "code_interpreter") {
      box.input.textContent = call.code_interpreter.input;
      box.out.replaceChildren(...call.code_interpreter.outputs.map((o) =>
        o.type === "logs" ? h("pre", { class: "logs" }, o.logs) : image(o.image.file_id)));
    } else if (call.type === "function") {
      box.input.textContent = `${call.function.arguments}`;
    }
  }

  // requires_action: one output field per function call, submitted together.
  function actionForm(run) {
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    const form = h("form", { class: "step", "aria-label": "Submit tool outputs" },
      h("strong", {}, "The assistant called your functions"),
      calls.map((c) => h("label", {}, `${c.function.name}(${c.function.arguments})`,
        h("textarea", { name: c.id, "data-param": "tool_outputs", "aria-label": `Output of ${c.function.name}` }))),
      h("button", { type: "submit", class: "primary" }, "Submit outputs"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const tool_outputs = calls.map((c) => ({ tool_call_id: c.id, output: form.elements[c.id].value }));
      form.querySelector("button").disabled = true;
      try {
        await follow(`/threads/${run.thread_id}/runs/${run.id}/submit_tool_outputs`, { tool_outputs });
        form.replaceWith(h("div", { class: "step muted" }, "Outputs submitted."));
      } catch (error) {
        form.querySelector("button").disabled = false;
        showError(form, error);
      }
    });
    return form;
  }

  async function cancelRun() {
    if (!running?.runId || !thread) return;
    cancel.disabled = true;
    const run = await post(`/threads/${thread}/runs/${running.runId}/cancel`);
    if (running?.waiting) {
      // No stream is open for a run waiting on outputs: show its end here.
      status.textContent = `Run ${run.id}: ${run.status}`;
      status.dataset.status = run.status;
      chat.querySelector('form[aria-label="Submit tool outputs"]')?.replaceWith(h("div", { class: "step muted" }, "Run cancelled."));
      settle(run);
    }
  }
}
