// Markdown in answers, built as DOM nodes: no HTML in a message is ever parsed, so none
// can run (a sanitizer over innerHTML would be the other way; this needs no vendored
// library and cannot be bypassed). The subset models write: paragraphs, headings,
// lists, quotes, fenced code, `code`, **bold**, *italic*, [links](url). Citations and
// sandbox: links are given to it as "refs": placeholders the caller put in the text.
import { h } from "./ui.js";

const REF = /\u0000(\d+)\u0000/g;
const SAFE_URL = /^(https?:|mailto:)/i;

// `refs(n)` makes the node for placeholder n (a footnote mark, a file link).
export function markdown(text, refs) {
  const out = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      const body = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
      i++;
      out.append(h("pre", { class: "code", "data-lang": fence[2] || null }, h("code", {}, body.join("\n"))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Inside a message a heading is only emphasis: h4-h6 keep the page's outline.
      out.append(h(`h${Math.min(6, heading[1].length + 3)}`, { class: "md-h" }, inline(heading[2], refs)));
      i++;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /\d/.test(item.exec(line)[1]);
      const list = h(ordered ? "ol" : "ul");
      for (; i < lines.length && item.test(lines[i]); i++) list.append(h("li", {}, inline(lines[i].replace(item, ""), refs)));
      out.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) quoted.push(lines[i].replace(/^\s*>\s?/, ""));
      out.append(h("blockquote", {}, markdown(quoted.join("\n"), refs)));
      continue;
    }
    if (!line.trim()) { i++; continue; }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !/^\s*(```|~~~|#{1,6}\s|>|[-*+]\s|\d+[.)]\s)/.test(lines[i]); i++) para.push(lines[i]);
    if (!para.length) para.push(lines[i++]); // a line no block rule took
    const p = h("p");
    para.forEach((l, n) => { if (n) p.append(h("br")); p.append(inline(l, refs)); });
    out.append(p);
  }
  return out;
}

// Inline spans, left to right: the earliest match of any rule wins.
const RULES = [
  ["code", /`([^`]+)`/],
  ["link", /\[([^\]]+)\]\(([^)\s]+)\)/],
  ["bold", /\*\*([^*]+)\*\*|__([^_]+)__/],
  ["em", /\*([^*\s][^*]*)\*|\b_([^_]+)_\b/],
  ["ref", /\u0000(\d+)\u0000/],
];

function inline(text, refs) {
  const out = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    let best = null;
    for (const [kind, rule] of RULES) {
      const m = rule.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { kind, m };
    }
    if (!best) { out.append(rest); break; }
    const { kind, m } = best;
    if (m.index) out.append(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
    if (kind === "code") out.append(h("code", {}, m[1]));
    else if (kind === "bold") out.append(h("strong", {}, inline(m[1] ?? m[2], refs)));
    else if (kind === "em") out.append(h("em", {}, inline(m[1] ?? m[2], refs)));
    else if (kind === "ref") out.append(refs(Number(m[1])));
    else out.append(link(m[1], m[2], refs));
  }
  return out;
}

function link(label, url, refs) {
  const ref = /^\u0000(\d+)\u0000$/.exec(url);
  if (ref) return refs(Number(ref[1]), label); // a sandbox: link the server resolved to a File
  if (!SAFE_URL.test(url)) return inline(label.replace(REF, ""), refs); // javascript:, data:...
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, inline(label, refs));
}
