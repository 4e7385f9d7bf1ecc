// The console's shell: a hash router over the pages, and the API key prompt.
import { auth, get } from "./api.js";
import { banner } from "./ui.js";
import { assistantsPage } from "./assistants.js";
import { playgroundPage } from "./playground.js";
import { threadsPage } from "./threads.js";
import { filesPage, vectorStoresPage } from "./storage.js";

const pages = {
  playground: playgroundPage,
  assistants: assistantsPage,
  threads: threadsPage,
  files: filesPage,
  vector_stores: vectorStoresPage,
};

const dialog = document.getElementById("key-dialog");
const keyError = document.getElementById("key-error");

function askForKey(error) {
  keyError.hidden = !error;
  keyError.textContent = error
    ? `The server refused ${auth.key ? "this key" : "the request without a key"}: ${error.message}`
    : "";
  if (!dialog.open) dialog.showModal();
  document.getElementById("key-input").focus();
}

auth.onUnauthorized = (error) => {
  // The server's words once, in the dialog that asks for the key; the banner only
  // says why the page is empty.
  banner("Unauthorized (401): enter a valid API key.");
  askForKey(error);
};

document.getElementById("key-form").addEventListener("submit", () => {
  auth.key = document.getElementById("key-input").value.trim();
  document.getElementById("key-input").value = "";
  banner("");
  route();
});
document.getElementById("key-button").addEventListener("click", () => askForKey(null));

async function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "playground").split("/");
  const page = pages[name] || playgroundPage;
  document.querySelectorAll(".top nav a").forEach((a) => {
    a.classList.toggle("active", a.getAttribute("href") === `#/${name}`);
    if (a.classList.contains("active")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const main = document.getElementById("main");
  main.replaceChildren();
  try {
    await page(main, rest);
  } catch (error) {
    if (error.status !== 401) banner(error.message);
  }
}

window.addEventListener("hashchange", route);
// One cheap call first: with keys required and none stored, ask before anything else.
get("/models").then(() => banner(""), () => {}).finally(route);
