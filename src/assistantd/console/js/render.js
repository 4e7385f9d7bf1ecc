// How a message's content is shown, on every page: text with its citations as numbered
// footnotes, images from their files, and a note for any other part.
import { fileUrl } from "./api.js";
import { markdown } from "./markdown.js";
import { h } from "./ui.js";

export function image(fileId) {
  const img = h("img", { alt: `image ${fileId}` });
  fileUrl(fileId).then((url) => { img.src = url; }, () => { img.alt = `image ${fileId} (unavailable)`; });
  return img;
}

function download(fileId, label) {
  return h("a", { href: "#", onclick: async (e) => {
    e.preventDefault();
    const a = h("a", { href: await fileUrl(fileId), download: label });
    a.click();
  } }, label);
}

// A finished text part, as markdown: citations become numbered footnotes linking the
// cited file; a sandbox: link (a code_interpreter output) downloads its file.
function renderText(text) {
  const out = h("div", { class: "text md" });
  let value = text.value;
  const notes = [];
  const targets = [];
  text.annotations.forEach((ann, n) => {
    const fileId = ann.file_citation?.file_id || ann.file_path?.file_id;
    // A citation's text is its marker, 【k:i†filename】; a link's is sandbox:/mnt/data/NAME.
    const name = ann.type === "file_path" ? ann.text.split("/").pop() : (ann.text.match(/†([^】]*)/) || [])[1];
    value = value.replace(ann.text, `\u0000${n}\u0000`);
    targets.push({ type: ann.type, fileId, name: name || fileId });
    notes.push(h("div", { class: "footnote" }, `[${n + 1}] `, download(fileId, name || fileId)));
  });
  const refs = (n, label) => {
    const t = targets[n];
    if (!t) return "";
    if (label !== undefined) return download(t.fileId, label); // [label](sandbox:...)
    return t.type === "file_path" ? `[file ${n + 1}]` : h("sup", { class: "ref" }, `[${n + 1}]`);
  };
  out.append(markdown(value, refs));
  if (notes.length) out.append(h("div", { class: "footnotes" }, notes));
  return out;
}

export function renderContent(el, content) {
  el.replaceChildren(...content.map((part) =>
    part.type === "text" ? renderText(part.text)
      : part.type === "image_file" ? image(part.image_file.file_id)
        : h("span", { class: "muted" }, `[${part.type}]`)));
}

// A message cut short (a cancelled or failed run) must not read as a finished answer.
export function markEnded(el, message) {
  el.dataset.status = message.status;
  el.querySelector(".stopped")?.remove();
  if (message.status === "incomplete") {
    const why = message.incomplete_details?.reason;
    el.append(h("div", { class: "muted stopped" }, `Stopped before the end${why ? ` (${why.replaceAll("_", " ")})` : ""}.`));
  }
}
