// The playground: talk to an assistant with the run's settings in reach, and see what
// each run did in the inspector beside the chat.
import { del, get, post, uploadFile } from "./api.js";
import { conversation } from "./chat.js";
import { runInspector } from "./inspector.js";
import { respond } from "./respond.js";
import { clearErrors, h, labeled, showError } from "./ui.js";

const number = (id, param, extra = {}) => h("input", { id, type: "number", "data-param": param, ...extra });

export async function playgroundPage(main, [opened]) {
  const [assistants, threads, models] = await Promise.all([
    get("/assistants", { limit: 100 }), get("/threads", { limit: 20 }), get("/models"),
  ]);
  let thread = null;
  let running = null; // { runId } while a run streams; { runId, waiting } while it waits
  let sentAt = 0; // when the request that started the run being followed was sent
  let runSeen = false; // whether the run request being sent was answered with a run
  const usage = h("p", { class: "muted", "data-testid": "usage" });
  const status = h("p", { class: "muted", "data-testid": "run-status" });
  const inspector = runInspector();
  const talk = conversation({
    run(event, run) {
      runSeen = true;
      if (!thread) thread = adopt(run.thread_id); // a new thread, made with its run
      running = { runId: run.id };
      inspector.sent(run.id, sentAt);
      cancel.disabled = !["queued", "in_progress", "requires_action"].includes(run.status);
      status.textContent = `Run ${run.id}: ${run.status}`;
      status.dataset.status = run.status;
      if (run.usage) usage.textContent = `Tokens: ${run.usage.prompt_tokens} in, ${run.usage.completion_tokens} out, ${run.usage.total_tokens} total`;
      if (run.last_error) status.textContent += ` (${run.last_error.code}: ${run.last_error.message})`;
    },
    first(runId) { inspector.first(runId, performance.now()); },
    ended(run) {
      if (run && run.status !== "requires_action") inspector.ended(run.id, performance.now());
      settle(run);
      inspector.show(thread);
    },
  });

  // Which assistant, which thread.
  const assistantSelect = h("select", { id: "pg-assistant", "data-param": "assistant_id" },
    assistants.data.map((a) => h("option", { value: a.id }, a.name || a.id)));
  const threadSelect = h("select", { id: "pg-thread" }, h("option", { value: "" }, "New thread"),
    threads.data.map((t) => h("option", { value: t.id }, t.id)));
  const metadata = h("textarea", { id: "pg-metadata", "data-param": "metadata", placeholder: '{"key": "value"}' });
  const saveMetadata = h("button", { type: "button" }, "Save metadata");
  const threadBox = h("div", { class: "thread-tools" },
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => openThread(null) }, "New thread"),
      h("button", { type: "button", class: "danger", onclick: () => deleteThread() }, "Delete thread")),
    labeled("Thread metadata (JSON)", metadata), saveMetadata);

  // The run's settings: each left empty is the assistant's.
  const model = h("select", { id: "pg-model", "data-param": "model" }, h("option", { value: "" }, "the assistant's"),
    models.data.map((m) => h("option", { value: m.id }, m.id)));
  const instructions = h("textarea", { id: "pg-instructions", placeholder: "the assistant's", "data-param": "instructions" });
  const toolBoxes = ["code_interpreter", "file_search"].map((type) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: type, "data-tool": type }), ` ${type}`));
  const toolsOverride = h("fieldset", { "data-param": "tools" }, h("legend", {}, "Tools (override)"),
    h("label", { class: "check" }, h("input", { type: "checkbox", "data-tool": "override" }), " use these instead of the assistant's:"), toolBoxes);
  const toolChoice = h("select", { id: "pg-tool-choice", "data-param": "tool_choice" });
  const maxPrompt = number("pg-max-prompt", "max_prompt_tokens", { min: "256", placeholder: "no limit" });
  const maxCompletion = number("pg-max-completion", "max_completion_tokens", { min: "256", placeholder: "no limit" });
  const truncation = h("select", { id: "pg-truncation", "data-param": "truncation_strategy" },
    h("option", { value: "auto" }, "auto"), h("option", { value: "last_messages" }, "last messages"));
  const lastMessages = number("pg-last-messages", "truncation_strategy.last_messages", { min: "1", value: "10" });
  const temperature = number("pg-temperature", "temperature", { min: "0", max: "2", step: "0.1", placeholder: "the assistant's" });
  const surface = h("select", { id: "pg-api", "data-param": "api" },
    h("option", { value: "runs" }, "Assistants: a run on the thread"),
    h("option", { value: "responses" }, "Responses: the thread as a conversation"));
  const runSettings = h("fieldset", { class: "run-settings" }, h("legend", {}, "Run settings"),
    labeled("API", surface), labeled("Model", model), labeled("Tool choice", toolChoice),
    labeled("Instructions (override)", instructions), toolsOverride,
    h("div", { class: "row" }, labeled("Max prompt tokens", maxPrompt), labeled("Max completion tokens", maxCompletion)),
    h("div", { class: "row" }, labeled("Truncation", truncation), labeled("Last messages", lastMessages)),
    labeled("Temperature", temperature));

  // The message: sent (and run), or added without a run, with its role.
  const input = h("textarea", { id: "pg-input", placeholder: "Message (Ctrl+Enter sends)", "aria-label": "Message", "data-param": "content" });
  const role = h("select", { "aria-label": "Role of an added message", "data-param": "role" },
    h("option", { value: "user" }, "user"), h("option", { value: "assistant" }, "assistant"));
  const files = h("input", { type: "file", multiple: true, "aria-label": "Attach files" });
  const send = h("button", { type: "submit", class: "primary" }, "Send");
  const addOnly = h("button", { type: "button", onclick: () => submit(false) }, "Add without running");
  const cancel = h("button", { type: "button", disabled: true, onclick: () => cancelRun() }, "Cancel run");
  const form = h("form", {}, input, h("div", { class: "row" }, files, send, addOnly, role, cancel));

  const layout = h("div", { class: "grid playground" },
    h("div", { class: "card settings" },
      labeled("Assistant", assistantSelect),
      assistants.data.length ? null : h("p", { class: "muted" }, "No assistant yet: ", h("a", { href: "#/assistants" }, "create one"), "."),
      labeled("Thread", threadSelect), threadBox, runSettings, status, usage),
    h("div", { class: "talk" }, h("div", {}, talk.el, form), inspector.el));
  main.append(h("h1", {}, "Playground"), layout);

  // tool_choice: what the chosen assistant (or the override) offers, by name.
  function fillToolChoice() {
    const chosen = assistants.data.find((a) => a.id === assistantSelect.value);
    const builtins = ["file_search", "code_interpreter"].filter((t) => (chosen?.tools || []).some((x) => x.type === t) || toolsOverride.querySelector(`[data-tool="${t}"]`).checked);
    const functions = (chosen?.tools || []).filter((t) => t.type === "function").map((t) => t.function.name);
    const keep = toolChoice.value;
    toolChoice.replaceChildren(h("option", { value: "" }, "the assistant's (auto)"),
      ...["auto", "required", "none"].map((c) => h("option", { value: c }, c)),
      ...builtins.map((t) => h("option", { value: `tool:${t}` }, t)),
      ...functions.map((f) => h("option", { value: `function:${f}` }, `function ${f}`)));
    if ([...toolChoice.options].some((o) => o.value === keep)) toolChoice.value = keep;
  }
  assistantSelect.addEventListener("change", fillToolChoice);
  toolsOverride.addEventListener("change", fillToolChoice);
  fillToolChoice();

  threadSelect.addEventListener("change", () => openThread(threadSelect.value || null));
  saveMetadata.addEventListener("click", async () => {
    clearErrors(threadBox);
    try {
      const meta = metadata.value.trim() ? JSON.parse(metadata.value) : {};
      if (!thread) thread = await newThread(meta);
      else await post(`/threads/${thread}`, { metadata: meta });
    } catch (error) {
      showError(threadBox, error instanceof SyntaxError ? { message: `Invalid JSON: ${error.message}`, param: "metadata" } : error);
    }
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) form.requestSubmit(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(true); });
  if (opened) {
    if (!threadSelect.querySelector(`option[value="${CSS.escape(opened)}"]`)) threadSelect.append(h("option", { value: opened }, opened));
    await openThread(opened);
  } else {
    await inspector.show(null);
  }

  async function openThread(id) {
    thread = id;
    threadSelect.value = id || "";
    metadata.value = "";
    status.textContent = usage.textContent = "";
    if (id) {
      const t = await get(`/threads/${id}`);
      metadata.value = Object.keys(t.metadata).length ? JSON.stringify(t.metadata, null, 1) : "";
    }
    await Promise.all([talk.reopen(id), inspector.show(id)]);
  }

  async function newThread(meta) {
    return adopt((await post("/threads", meta ? { metadata: meta } : {})).id);
  }

  function adopt(id) {
    threadSelect.append(h("option", { value: id }, id));
    threadSelect.value = id;
    return id;
  }

  async function deleteThread() {
    if (!thread || running || !confirm(`Delete ${thread}, with its messages and runs?`)) return;
    await del(`/threads/${thread}`);
    threadSelect.querySelector(`option[value="${CSS.escape(thread)}"]`)?.remove();
    await openThread(null);
  }

  // Send (andRun) or add without running: one path, so both check the same things.
  async function submit(andRun) {
    if (!input.value.trim()) return;
    if (running?.waiting) {
      // The API refuses a message while a run is active; say what to do instead.
      showError(layout, { message: "This run is waiting for your function outputs: submit them above, or cancel the run, before sending another message." });
      return;
    }
    if (running) return;
    if (andRun && !assistantSelect.value) {
      showError(layout, { message: "Choose an assistant first (or create one on the Assistants page).", param: "assistant_id" });
      return;
    }
    clearErrors(layout);
    send.disabled = addOnly.disabled = true;
    const content = input.value;
    let bubble = null;
    runSeen = false;
    try {
      const body = andRun ? runBody() : null;
      const { attachments, names } = await uploads();
      const message = { role: andRun ? "user" : role.value, content, attachments };
      input.value = "";
      files.value = "";
      if (!andRun) {
        if (!thread) thread = await newThread(null);
        talk.message(await post(`/threads/${thread}/messages`, message), names);
        settle(null);
        return;
      }
      // The message goes with the run (additional_messages, or the new thread's own):
      // a run the API refuses leaves no message behind it.
      bubble = talk.userMessage(content, names);
      sentAt = performance.now();
      if (surface.value === "responses") {
        await viaResponses(body, content, attachments);
        return;
      }
      if (thread) await talk.follow(`/threads/${thread}/runs`, { ...body, additional_messages: [message] });
      else await talk.follow("/threads/runs", { ...body, thread: { messages: [message] } });
    } catch (error) {
      if (!runSeen) {
        bubble?.remove();
        input.value = content; // nothing was sent: the text is still there to fix and send
      }
      settle(null); // first: it clears the old errors
      showError(layout, error);
    }
  }

  // The same assistant and thread through /v1/responses: the assistant as the prompt,
  // the thread as the conversation (either id names it).
  async function viaResponses(runBody, content, attachments) {
    if (!thread) thread = adopt((await post("/conversations", {})).id);
    const parts = [{ type: "input_text", text: content }, ...attachments.map((a) => ({ type: "input_file", file_id: a.file_id }))];
    const body = { prompt: { id: runBody.assistant_id }, conversation: thread, input: [{ type: "message", role: "user", content: parts }] };
    if (runBody.model) body.model = runBody.model;
    if (runBody.instructions) body.instructions = runBody.instructions;
    if (runBody.temperature !== undefined) body.temperature = runBody.temperature;
    if (runBody.max_completion_tokens) body.max_output_tokens = runBody.max_completion_tokens;
    const choice = runBody.tool_choice;
    if (choice) body.tool_choice = choice.type === "function" ? { type: "function", name: choice.function.name } : choice;
    const events = new Map();
    running = { runId: null };
    cancel.disabled = true; // a streamed response ends with its stream
    await respond(talk.el, body, {
      event(name, data) {
        runSeen = true; // the response (and the message, its input) exists from here on
        events.set(name, (events.get(name) || 0) + 1);
        if (data.response) {
          status.textContent = `Response ${data.response.id}: ${data.response.status}`;
          status.dataset.status = data.response.status;
          const u = data.response.usage;
          if (u) usage.textContent = `Tokens: ${u.input_tokens} in, ${u.output_tokens} out, ${u.total_tokens} total`;
        }
      },
      ended(response) {
        settle(null);
        if (response) inspector.response(response, events, thread);
      },
    });
  }

  async function uploads() {
    const chosen = assistants.data.find((a) => a.id === assistantSelect.value);
    const tools = (chosen?.tools || []).filter((t) => t.type !== "function").map((t) => ({ type: t.type }));
    const attachments = [];
    const names = [];
    for (const file of files.files) {
      const uploaded = await uploadFile(file, "assistants");
      attachments.push({ file_id: uploaded.id, tools: tools.length ? tools : [{ type: "file_search" }] });
      names.push(uploaded.filename);
    }
    return { attachments, names };
  }

  function runBody() {
    const chosen = assistants.data.find((a) => a.id === assistantSelect.value);
    const body = { assistant_id: assistantSelect.value };
    if (model.value) body.model = model.value;
    if (instructions.value.trim()) body.instructions = instructions.value;
    if (toolsOverride.querySelector('[data-tool="override"]').checked) {
      // The assistant's functions stay; the built-in tools are the ones ticked here.
      body.tools = [
        ...[...toolsOverride.querySelectorAll("input[value]:checked")].map((box) => ({ type: box.value })),
        ...(chosen?.tools || []).filter((t) => t.type === "function"),
      ];
    }
    const choice = toolChoice.value;
    if (choice.startsWith("function:")) body.tool_choice = { type: "function", function: { name: choice.slice(9) } };
    else if (choice.startsWith("tool:")) body.tool_choice = { type: choice.slice(5) };
    else if (choice) body.tool_choice = choice;
    if (maxPrompt.value) body.max_prompt_tokens = Number(maxPrompt.value);
    if (maxCompletion.value) body.max_completion_tokens = Number(maxCompletion.value);
    if (truncation.value === "last_messages") body.truncation_strategy = { type: "last_messages", last_messages: Number(lastMessages.value) };
    if (temperature.value) body.temperature = Number(temperature.value);
    return body;
  }

  // After a stream ends: a run waiting for tool outputs keeps Cancel and holds Send;
  // any other end frees both (every path that follows a run comes through here).
  function settle(run) {
    const waiting = run?.status === "requires_action";
    running = waiting ? { runId: run.id, waiting: true } : null;
    cancel.disabled = !waiting;
    send.disabled = addOnly.disabled = waiting;
    send.title = waiting ? "Submit the function outputs or cancel the run first" : "";
    if (!waiting) clearErrors(layout);
  }

  async function cancelRun() {
    if (!running?.runId || !thread) return;
    cancel.disabled = true;
    const run = await post(`/threads/${thread}/runs/${running.runId}/cancel`);
    if (running?.waiting) {
      // No stream is open for a run waiting on outputs: show its end here.
      status.textContent = `Run ${run.id}: ${run.status}`;
      status.dataset.status = run.status;
      talk.ended("Run cancelled.");
      settle(run);
      inspector.show(thread);
    }
  }
}
