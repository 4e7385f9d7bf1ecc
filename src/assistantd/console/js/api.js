// The console's only way to the server: the public /v1 API, with the key from
// sessionStorage in an Authorization header (never in a URL), OpenAI's error shape
// turned into an ApiError, and server-sent events read from fetch (EventSource
// cannot send headers).

const KEY = "assistantd.apiKey";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.param = error.param || null;
    this.code = error.code || null;
  }
}

export const auth = {
  get key() { return sessionStorage.getItem(KEY) || ""; },
  set key(value) { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); },
  onUnauthorized: () => {},
};

function headers(extra = {}) {
  const h = { "OpenAI-Beta": "assistants=v2", ...extra };
  if (auth.key) h.Authorization = `Bearer ${auth.key}`;
  return h;
}

async function check(response) {
  if (response.ok) return response;
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = new ApiError(response.status, body);
  if (response.status === 401) auth.onUnauthorized(error);
  throw error;
}

export async function api(method, path, body) {
  const init = { method, headers: headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await check(await fetch(`/v1${path}`, init));
  return response.status === 204 ? null : response.json();
}

export const get = (path, params) => api("GET", params ? `${path}?${new URLSearchParams(params)}` : path);
export const post = (path, body) => api("POST", path, body ?? {});
export const del = (path) => api("DELETE", path);

// A File's bytes as an object URL (downloads need the Authorization header too).
export async function fileUrl(fileId) {
  const response = await check(await fetch(`/v1/files/${fileId}/content`, { headers: headers() }));
  return URL.createObjectURL(await response.blob());
}

// POST with `stream: true`; calls onEvent(name, data) for each event until [DONE].
export async function stream(path, body, onEvent, signal) {
  const response = await check(await fetch(`/v1${path}`, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  }));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (!data.length) continue;  // a comment (keep-alive)
      const text = data.join("\n");
      if (text === "[DONE]") return;
      onEvent(event, JSON.parse(text));
    }
  }
}

// Upload with progress: one request up to 8 MB, else an Upload in 8 MB parts.
const PART = 8 * 1024 * 1024;

function sendWithProgress(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1${path}`);
    for (const [name, value] of Object.entries(headers())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const error = new ApiError(xhr.status, body);
        if (xhr.status === 401) auth.onUnauthorized(error);
        reject(error);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { error: { message: "The upload failed (network)." } }));
    xhr.send(form);
  });
}

export async function uploadFile(file, purpose, onProgress = () => {}) {
  if (file.size <= PART) {
    const form = new FormData();
    form.append("purpose", purpose);
    form.append("file", file, file.name);
    return sendWithProgress("/files", form, (sent) => onProgress(sent, file.size));
  }
  const upload = await post("/uploads", {
    filename: file.name, purpose, bytes: file.size, mime_type: file.type || "application/octet-stream",
  });
  const parts = [];
  for (let start = 0; start < file.size; start += PART) {
    const form = new FormData();
    form.append("data", file.slice(start, start + PART), file.name);
    const part = await sendWithProgress(`/uploads/${upload.id}/parts`, form,
      (sent) => onProgress(start + sent, file.size));
    parts.push(part.id);
  }
  const done = await post(`/uploads/${upload.id}/complete`, { part_ids: parts });
  return done.file;
}
