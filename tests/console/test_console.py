"""The web console, end to end: Debian's chromium driven by Playwright against a real
server on loopback. Each test saves a screenshot under test-artifacts/console/."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import make_client
from tests.contract.test_auth import mint
from tests.requires import requires
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, never a download
ARTIFACTS = Path(os.environ.get("ASSISTANTD_TEST_ARTIFACTS", "test-artifacts")) / "console"
pytestmark = requires("chromium")
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            # As the machine page says: without these Chromium keeps calling home.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def console_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("console"), route_env(upstream)) as srv:
        yield srv


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == []  # no uncaught script error, nothing the CSP had to block


@pytest.fixture
def api(console_server: Server) -> Iterator[openai.OpenAI]:
    with make_client(console_server.base_url) as client:
        yield client


PAGES = [
    ("playground", "Playground"),
    ("assistants", "Assistants"),
    ("threads", "Threads"),
    ("files", "Files"),
    ("vector_stores", "Vector stores"),
]


def _each_page(page: Page, base_url: str) -> Iterator[str]:
    """Every page of the console in turn, once its heading shows and its requests end."""
    for name, heading in PAGES:
        page.goto(f"{base_url}/#/{name}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        yield name


def test_every_page_renders_offline_and_same_origin(page: Page, console_server: Server) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    for name in _each_page(page, console_server.base_url):
        page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"))
    assert requested
    assert all(url.startswith(console_server.base_url) for url in requested), requested
    home = httpx.get(f"{console_server.base_url}/")
    assert home.headers["content-security-policy"].startswith("default-src 'self'")
    assert home.headers["x-content-type-options"] == "nosniff"


def test_no_page_is_wider_than_a_phone(
    browser: Browser, console_server: Server, api: openai.OpenAI
) -> None:
    """Issue 24, bug 8: at 390 px nothing overflows sideways (the Files table and its
    Delete buttons included), and the playground puts the conversation first."""
    api.files.create(
        file=("a-rather-long-file-name-for-a-phone-screen-" + "x" * 40 + ".txt", b"long"),
        purpose="assistants",
    )
    api.beta.threads.create(metadata={"note": "y" * 200})
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for name in _each_page(page, console_server.base_url):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= page.evaluate("window.innerWidth"), f"{name} is {wide} px wide"
            if name == "files":
                delete = page.get_by_role("button", name=re.compile("^Delete a-rather-long"))
                box = delete.bounding_box()
                assert box is not None
                assert box["x"] + box["width"] <= 390
            if name == "playground":
                chat = page.get_by_label("Conversation", exact=True).bounding_box()
                settings = page.get_by_label("Assistant", exact=True).bounding_box()
                assert chat is not None
                assert settings is not None
                assert chat["y"] < settings["y"]
    finally:
        context.close()


AXE = Path(__file__).parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"


def test_axe_finds_no_serious_violation_on_any_page(
    browser: Browser, console_server: Server, api: openai.OpenAI
) -> None:
    """axe-core (tests/node, from npm), injected into every page at desktop and phone
    sizes: no violation of serious or critical impact. The page's CSP would refuse an
    injected script, so this context bypasses it (nothing else here does)."""
    source = AXE.read_text()
    api.beta.assistants.create(model="scripted-gpt", name="Axe")
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        page = context.new_page()
        try:
            for name in _each_page(page, console_server.base_url):
                page.evaluate(source)
                found = page.evaluate("async () => (await axe.run(document)).violations")
                serious = [
                    f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
                    for v in found
                    if v["impact"] in ("serious", "critical")
                ]
                assert serious == [], f"{name} at {width} px: {serious}"
        finally:
            context.close()


def test_vector_store_detail_keeps_what_is_typed_and_manages_its_files(
    page: Page, console_server: Server, api: openai.OpenAI
) -> None:
    """Issue 24, bug 6: ingesting does not redraw the panel (a query being typed stays);
    files are listed by name; two files of one name can be told apart in the picker; a
    file can be detached and the store deleted."""
    first = api.files.create(file=("twins.txt", b"Penguins eat krill."), purpose="assistants")
    api.files.create(file=("twins.txt", b"Seals eat fish."), purpose="assistants")
    store = api.vector_stores.create(name="twin store")
    page.goto(f"{console_server.base_url}/#/vector_stores")
    page.get_by_role("button", name="twin store", exact=True).click()
    pick = page.get_by_label("File to add", exact=True)
    twins = pick.locator("option", has_text="twins.txt")
    expect(twins).to_have_count(2)
    labels = twins.all_inner_texts()
    assert labels[0] != labels[1]
    assert first.id[-8:] in " ".join(labels)
    query = page.get_by_label("Search query", exact=True)
    query.fill("what do penguins eat")
    pick.select_option(first.id)
    page.get_by_role("button", name="Add file", exact=True).click()
    status = page.get_by_test_id("store-status")
    expect(status).to_contain_text("1 completed", timeout=60_000)
    expect(query).to_have_value("what do penguins eat")
    files = page.get_by_role("table", name="Files in this store")
    expect(files.locator("tr")).to_have_count(1)
    expect(files.locator("td").first).to_contain_text("twins.txt")
    files.get_by_role("button", name="Detach twins.txt", exact=True).click()
    expect(files.locator("tr")).to_have_count(0)
    assert api.vector_stores.files.list(store.id).data == []
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete store", exact=True).click()
    expect(page.get_by_role("button", name="twin store", exact=True)).to_have_count(0)
    with pytest.raises(openai.NotFoundError):
        api.vector_stores.retrieve(store.id)


def test_vector_store_polling_lasts_as_long_as_ingestion(
    page: Page, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """Issue 24, bug 6: polling went silent after 120 looks (about 1.5 minutes) while a
    file was still ingesting. With no ingestion worker the file stays in progress; on the
    page's fake clock the panel keeps looking, less often, past 130 looks."""
    env = {**route_env(upstream), "ASSISTANTD_INGEST_WORKERS": "0",
           "ASSISTANTD_VECTOR_STORE_INLINE_WAIT_S": "0"}  # fmt: skip
    with running_server("sqlite", tmp_path, env) as srv:
        with make_client(srv.base_url) as client:
            f = client.files.create(file=("slow.txt", b"Never ingested."), purpose="assistants")
            store = client.vector_stores.create(name="stuck")
        looks: list[str] = []
        page.on(
            "request",
            lambda r: looks.append(r.url) if f"/vector_stores/{store.id}/files" in r.url else None,
        )
        page.clock.install()
        page.goto(f"{srv.base_url}/#/vector_stores")
        page.get_by_role("button", name="stuck", exact=True).click()
        page.get_by_label("File to add", exact=True).select_option(f.id)
        page.get_by_role("button", name="Add file", exact=True).click()
        expect(page.get_by_test_id("store-status")).to_contain_text("1 in progress")
        for _ in range(130):
            seen = len(looks)
            for _ in range(300):  # up to 5 fake minutes for the next look
                page.clock.run_for(1000)
                page.wait_for_timeout(10)  # the look itself is a real request
                if len(looks) > seen:
                    break
            status = page.get_by_test_id("store-status").inner_text()
            assert len(looks) > seen, f"polling stopped after {seen} looks ({status})"
        expect(page.locator("[data-store-id]")).to_have_attribute("data-polling", "on")


def test_create_an_assistant(page: Page, console_server: Server, api: openai.OpenAI) -> None:
    page.goto(f"{console_server.base_url}/#/assistants")
    page.get_by_role("button", name="New assistant", exact=True).click()
    form = page.get_by_role("form", name="New assistant", exact=True)
    form.get_by_label("Name", exact=True).fill("Console poet")
    form.get_by_label("Instructions", exact=True).fill("Write short poems.")
    form.get_by_label("Model", exact=True).select_option("smollm2-135m-instruct")
    form.get_by_label("code_interpreter", exact=True).check()
    form.get_by_label("Temperature", exact=True).fill("0.5")
    form.get_by_label("Metadata (JSON object)", exact=True).fill('{"team": "docs"}')
    form.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("button", name="Console poet", exact=True)).to_be_visible()
    made = next(a for a in api.beta.assistants.list(limit=100) if a.name == "Console poet")
    assert made.instructions == "Write short poems."
    assert made.model == "smollm2-135m-instruct"
    assert [t.type for t in made.tools] == ["code_interpreter"]
    assert made.temperature == 0.5
    assert made.metadata == {"team": "docs"}


def test_a_validation_error_is_shown_next_to_its_field(page: Page, console_server: Server) -> None:
    page.goto(f"{console_server.base_url}/#/assistants")
    page.get_by_role("button", name="New assistant", exact=True).click()
    form = page.get_by_role("form", name="New assistant", exact=True)
    form.get_by_label("Temperature", exact=True).fill("5")  # the server allows 0 to 2
    form.get_by_role("button", name="Create", exact=True).click()
    error = form.locator('[data-error-for="temperature"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("temperature")
    # The message sits right after the field it is about, which is marked invalid.
    field = form.locator('input[data-param="temperature"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    assert error.evaluate("e => e.previousElementSibling.dataset.param") == "temperature"
    # A client-side JSON error lands next to its field the same way.
    form.get_by_label("Temperature", exact=True).fill("1")
    form.get_by_label("Metadata (JSON object)", exact=True).fill("{not json")
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form.locator('[data-error-for="metadata"]')).to_contain_text("Invalid JSON")


def test_a_bad_function_is_named_by_its_place_among_the_functions(
    page: Page, console_server: Server
) -> None:
    """Issue 24, bug 5: the API counts built-in tools first (`tools[2]` here); the form
    names the first function, at the functions box, and leaves the rest of Tools alone."""
    page.goto(f"{console_server.base_url}/#/assistants")
    page.get_by_role("button", name="New assistant", exact=True).click()
    form = page.get_by_role("form", name="New assistant", exact=True)
    form.get_by_label("code_interpreter", exact=True).check()
    form.get_by_label("file_search", exact=True).check()
    functions = form.locator('textarea[data-param="tools.functions"]')
    functions.fill('[{"name": "no spaces allowed"}]')
    form.get_by_role("button", name="Create", exact=True).click()
    error = form.locator('[data-error-for="tools.functions"]')
    expect(error).to_contain_text("Function 1, name:")
    expect(error).not_to_contain_text("tools[2]")
    expect(functions).to_have_attribute("aria-invalid", "true")
    expect(form.locator('fieldset[data-param="tools"]')).not_to_have_class(
        re.compile("field-error")
    )


def test_chat_on_the_embedded_model_streams_in_steps(
    page: Page, console_server: Server, api: openai.OpenAI
) -> None:
    assistant = api.beta.assistants.create(
        model="smollm2-135m-instruct", name="Tiny", instructions="Answer in three sentences."
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("Message", exact=True).fill("Tell me about penguins.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg.user")).to_have_text("Tell me about penguins.")
    # An intermediate state: the answer is on screen while its run is still going. Read
    # in one tick of the page, so the run cannot finish between two looks.
    partial = page.wait_for_function(
        """() => {
            const m = document.querySelector('.msg.assistant[data-status=streaming]');
            const run = document.querySelector('[data-testid=run-status]').dataset.status;
            return m && m.textContent.length > 0 && run === 'in_progress' ? m.textContent : null;
        }""",
        timeout=60_000,
    ).json_value()
    assert isinstance(partial, str)
    status = page.get_by_test_id("run-status")
    done = page.locator(
        '.msg.assistant[data-status="completed"], .msg.assistant[data-status="incomplete"]'
    )
    expect(done).to_be_visible(timeout=120_000)

    # The finished answer is rendered as markdown, the streaming one as it came: compare
    # them without markdown's marks and spacing.
    def plain(text: str) -> str:
        return re.sub(r"[*_`#>\s\-]", "", text)

    final = plain(done.text_content() or "")
    assert len(final) >= len(plain(partial)) > 0
    assert final.startswith(plain(partial)[:5])
    # (The 135M model may ramble into a limit: incomplete is a normal end too.)
    ended = re.compile("^(completed|incomplete)$")
    expect(status).to_have_attribute("data-status", ended, timeout=10_000)
    expect(page.get_by_test_id("usage")).to_contain_text("Tokens:")
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    assert api.beta.threads.messages.list(thread_id).data[0].content[0].text.value  # type: ignore[union-attr]


def test_a_function_call_round_trip_through_the_form(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = api.beta.assistants.create(
        model="scripted-gpt", name="Weather", tools=[{"type": "function", "function": WEATHER}]
    )
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Oslo"}')]),
        Reply(text="It is sunny in Oslo."),
        Reply(text="Take sunglasses."),
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("Message", exact=True).fill("Weather in Oslo?")
    send = page.get_by_role("button", name="Send", exact=True)
    send.click()
    form = page.get_by_role("form", name="Submit tool outputs", exact=True)
    expect(form).to_contain_text('get_weather({"city": "Oslo"})')
    form.get_by_label("Output of get_weather", exact=True).fill('{"sky": "sunny"}')
    form.get_by_role("button", name="Submit outputs", exact=True).click()
    expect(page.locator('.msg.assistant[data-status="completed"]')).to_have_text(
        "It is sunny in Oslo."
    )
    tool_messages = [m for m in upstream.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == '{"sky": "sunny"}'
    # Issue 24, bug 1: Send works again after outputs were submitted, without a reload.
    page.get_by_label("Message", exact=True).fill("What should I bring?")
    send.click()
    expect(page.locator('.msg.assistant[data-status="completed"]').last).to_have_text(
        "Take sunglasses."
    )
    expect(send).to_be_enabled()


def test_a_run_waiting_for_outputs_holds_send_and_can_be_cancelled(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    """Issue 24, bug 2: during requires_action Cancel is enabled and Send is not; trying
    to send anyway says what to do (not the API's raw refusal), and the note goes once
    the run has ended."""
    assistant = api.beta.assistants.create(
        model="scripted-gpt", name="Waits", tools=[{"type": "function", "function": WEATHER}]
    )
    upstream.script(Reply(tool_calls=[("get_weather", '{"city": "Bergen"}')]))
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    message = page.get_by_label("Message", exact=True)
    message.fill("Weather in Bergen?")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("form", name="Submit tool outputs", exact=True)).to_be_visible()
    send = page.get_by_role("button", name="Send", exact=True)
    cancel = page.get_by_role("button", name="Cancel run", exact=True)
    expect(cancel).to_be_enabled()
    expect(send).to_be_disabled()
    message.fill("Hello?")
    message.press("Control+Enter")
    note = page.locator('.error[data-error-for="form"]')
    expect(note).to_contain_text("waiting for your function outputs")
    expect(note).not_to_contain_text("Can't add messages")
    cancel.click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "cancelled")
    expect(note).to_have_count(0)
    expect(send).to_be_enabled()
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    assert api.beta.threads.runs.list(thread_id).data[0].status == "cancelled"
    assert len(api.beta.threads.messages.list(thread_id).data) == 1  # "Hello?" never sent


def test_sending_with_no_assistant_says_so_and_leaves_no_thread(
    page: Page, upstream: ScriptedUpstream, tmp_path: Path
) -> None:
    """Issue 24, bug 4: with no assistant to choose, Send explains instead of creating a
    thread, posting the message and showing the API's 400."""
    with running_server("sqlite", tmp_path, route_env(upstream)) as empty:
        page.goto(f"{empty.base_url}/#/playground")
        page.get_by_label("Message", exact=True).fill("Anyone there?")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator(".error[data-error-for]")).to_contain_text("Choose an assistant first")
        listed = httpx.get(f"{empty.base_url}/v1/threads", timeout=10).json()
        assert listed["data"] == []


def test_upload_a_file_and_see_it_listed(
    page: Page, console_server: Server, api: openai.OpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "console-notes.txt"
    path.write_text("notes from the console\n" * 1000)
    page.goto(f"{console_server.base_url}/#/files")
    page.get_by_label("File to upload", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("link", name="console-notes.txt", exact=True)).to_be_visible()
    uploaded = next(f for f in api.files.list() if f.filename == "console-notes.txt")
    assert uploaded.bytes == path.stat().st_size


def test_a_wrong_api_key_shows_the_401_message(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("console-keys")
    with running_server("sqlite", tmp, {"ASSISTANTD_KEY_CACHE_TTL_S": "0"}) as srv:
        key = mint(srv, "console")
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = context.new_page()
        page.goto(f"{srv.base_url}/#/assistants")
        dialog = page.locator("#key-dialog")
        expect(dialog).to_be_visible()  # keys exist and none is stored: it asks first
        page.get_by_label("Key", exact=True).fill("sk-ad-not-a-real-key")
        page.get_by_role("button", name="Use this key", exact=True).click()
        expect(page.locator("#banner")).to_contain_text("Unauthorized (401)")
        expect(page.locator("#key-error")).to_contain_text("refused this key")
        # Issue 24, bug 9: the server's words once (in the dialog), and how to get a key.
        server_words = page.locator("#key-error").inner_text().split(": ", 1)[1]
        expect(page.locator("#banner")).not_to_contain_text(server_words)
        expect(page.locator("#key-help")).to_contain_text("assistantd keys create --project")
        page.get_by_label("Key", exact=True).fill(key)
        page.get_by_role("button", name="Use this key", exact=True).click()
        expect(page.get_by_role("button", name="New assistant", exact=True)).to_be_visible()
        expect(page.locator("#banner")).to_be_hidden()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "keys-phone.png"), full_page=True)
        assert key not in page.url
        context.close()
    # The key never reached a URL or a log line.
    assert key not in (tmp / "server.log").read_text()


@requires("bwrap")
def test_code_interpreter_code_logs_and_chart_show_inline(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = api.beta.assistants.create(model="scripted-gpt", name="Analyst")
    code = "import matplotlib.pyplot as plt\nprint('plotting squares')\nplt.plot([1, 4, 9, 16]);"
    upstream.script(
        Reply(tool_calls=[("code_interpreter", json.dumps({"code": code}))]),
        Reply(text="Here is the chart of the squares."),
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    # The assistant has no tools: the playground adds code_interpreter for this run.
    page.get_by_label("use these instead of the assistant's:").check()
    page.get_by_label("code_interpreter", exact=True).check()
    page.get_by_label("Message", exact=True).fill("Plot the first four squares.")
    page.get_by_role("button", name="Send", exact=True).click()
    call = page.locator('.call[data-type="code_interpreter"]')
    expect(call.locator("pre.input")).to_have_text(code, timeout=30_000)
    expect(call.locator("pre.logs")).to_have_text("plotting squares\n")
    expect(call.locator("img")).to_have_attribute("src", re.compile("^blob:"))
    answer = page.locator('.msg.assistant[data-status="completed"]')
    expect(answer).to_contain_text("Here is the chart of the squares.")
    expect(answer.locator("img")).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    run = api.beta.threads.runs.list(page.get_by_label("Thread", exact=True).input_value()).data[0]
    assert [t.type for t in run.tools] == ["code_interpreter"]
    # The run inspector: the run, its timings and usage, the code, its logs and chart.
    inspected = page.get_by_role("region", name="Run inspector").locator(
        f'[data-run-id="{run.id}"]'
    )
    expect(inspected).to_have_attribute("data-status", "completed")
    expect(inspected.locator(".pairs")).to_contain_text("first token")
    expect(inspected.locator(".pairs")).to_contain_text(f"{run.usage.total_tokens} total")  # type: ignore[union-attr]
    ci = inspected.locator('.inspected-call[data-type="code_interpreter"]')
    expect(ci.locator("pre.input")).to_have_text(code)
    expect(ci.locator("pre.logs")).to_have_text("plotting squares\n")
    expect(ci.locator("img")).to_have_attribute("src", re.compile("^blob:"))
    expect(inspected.locator(".inspected-step")).to_have_count(2)
    # The README's screenshot of the playground (docs/console-playground.png).
    page.evaluate("document.querySelector('.chat').scrollTop = 0")
    page.screenshot(path=str(ARTIFACTS / "playground.png"))


def _librarian(api: openai.OpenAI, page: Page) -> str:
    """An assistant with file_search over one file, "foods.txt"; its id."""
    f = api.files.create(
        file=("foods.txt", b"Filip's favorite food is cake."), purpose="assistants"
    )
    store = api.vector_stores.create(name="foods", file_ids=[f.id])
    for _ in range(100):
        if api.vector_stores.retrieve(store.id).status == "completed":
            break
        page.wait_for_timeout(100)
    return api.beta.assistants.create(
        model="scripted-gpt",
        name="Librarian",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    ).id


def test_file_search_citations_become_numbered_footnotes(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id = _librarian(api, page)
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip food"}))]),
        Reply(text="Filip likes cake【0:0†foods.txt】."),
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant_id)
    page.get_by_label("Message", exact=True).fill("What does Filip like?")
    page.get_by_role("button", name="Send", exact=True).click()
    answer = page.locator('.msg.assistant[data-status="completed"]')
    expect(answer.locator(".text").first).to_contain_text("Filip likes cake[1].")
    footnote = answer.locator(".footnote")
    expect(footnote).to_have_text("[1] foods.txt")
    expect(page.locator('.call[data-type="file_search"]')).to_contain_text("foods.txt (score")
    with page.expect_download() as download:
        footnote.get_by_role("link", name="foods.txt").click()
    assert Path(download.value.path()).read_bytes() == b"Filip's favorite food is cake."
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    # Issue 24, bug 3: the Threads page shows the same answer, and the run with its steps.
    page.goto(f"{console_server.base_url}/#/threads/{thread_id}")
    answer = page.locator(".msg.assistant")
    expect(answer.locator(".text").first).to_contain_text("Filip likes cake[1].")
    expect(answer.locator(".footnote")).to_have_text("[1] foods.txt")
    run = page.locator("[data-run-id]")
    expect(run).to_contain_text("completed")
    expect(run.locator("li")).to_have_count(2)  # the file_search call, the answer
    body = page.locator("main").inner_text()
    assert "[object" not in body
    assert "【" not in body
    # Bug 7: reopened in the playground, the thread keeps its tool call, in its place.
    page.get_by_role("link", name="Open in the playground", exact=True).click()
    expect(page.get_by_label("Thread", exact=True)).to_have_value(thread_id)
    shown = page.locator(".chat > *")
    expect(shown).to_have_count(3)
    expect(shown.nth(0)).to_have_text("What does Filip like?")
    expect(shown.nth(1).locator('.call[data-type="file_search"]')).to_contain_text("foods.txt")
    expect(shown.nth(2).locator(".text")).to_contain_text("Filip likes cake[1].")
    # The run inspector, after reopening: the file_search call with its scored results
    # and their text, the message it wrote, and each object's JSON.
    run = api.beta.threads.runs.list(thread_id).data[0]
    inspected = page.get_by_role("region", name="Run inspector").locator(
        f'[data-run-id="{run.id}"]'
    )
    expect(inspected).to_have_attribute("data-status", "completed")
    results = inspected.locator('.inspected-call[data-type="file_search"] .results li')
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("foods.txt score")
    expect(results.first.locator(".snippet")).to_contain_text("Filip's favorite food is cake.")
    expect(inspected.locator('[data-step-type="message_creation"]')).to_contain_text("wrote msg_")
    inspected.get_by_text(f"JSON of {run.id}", exact=True).click()
    raw = json.loads(inspected.locator("details.raw pre").last.inner_text())
    assert raw["id"] == run.id
    assert raw["status"] == "completed"


def test_answers_render_as_markdown_with_citations_and_no_html(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    """Markdown in an answer becomes structure; a citation inside it is a footnote; HTML
    in it stays text (nothing of it runs); a link may only be http(s)."""
    assistant_id = _librarian(api, page)
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "Filip food"}))]),
        Reply(
            text="## What Filip likes\n\nFilip likes **cake**【0:0†foods.txt】, and `tea`.\n\n"
            '- birthdays\n- Sundays\n\n<img src=x onerror="window.pwned=1">'
            " [docs](https://example.com) [bad](javascript:window.pwned=2)"
        ),
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant_id)
    page.get_by_label("Message", exact=True).fill("What does Filip like?")
    page.get_by_role("button", name="Send", exact=True).click()
    answer = page.locator('.msg.assistant[data-status="completed"] .text')
    expect(answer.locator("h5")).to_have_text("What Filip likes")
    expect(answer.locator("strong")).to_have_text("cake")
    expect(answer.locator("code")).to_have_text("tea")
    expect(answer.locator("li")).to_have_count(2)
    expect(answer.locator("p").first).to_have_text("Filip likes cake[1], and tea.")
    expect(answer.locator(".footnote")).to_have_text("[1] foods.txt")
    expect(answer.locator("img")).to_have_count(0)
    expect(answer).to_contain_text('<img src=x onerror="window.pwned=1">')
    expect(answer.get_by_role("link", name="docs")).to_have_attribute("href", "https://example.com")
    expect(answer.get_by_role("link", name="bad")).to_have_count(0)
    assert page.evaluate("window.pwned") is None


def test_tool_choice_forces_a_function_on_the_embedded_model(
    page: Page, console_server: Server, api: openai.OpenAI
) -> None:
    """With a small local model, forcing a tool is the way to try one: the run settings'
    tool_choice makes the embedded model call the function."""
    assistant = api.beta.assistants.create(
        model="smollm2-135m-instruct",
        name="Forced",
        tools=[{"type": "function", "function": WEATHER}],
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("Tool choice", exact=True).select_option("function:get_weather")
    # Below the API's minimum first: the 400 is shown at the field, nothing is written.
    page.get_by_label("Max completion tokens", exact=True).fill("64")
    page.get_by_label("Message", exact=True).fill("Hello there.")
    page.get_by_role("button", name="Send", exact=True).click()
    note = page.locator('[data-error-for="max_completion_tokens"]')
    expect(note).to_contain_text("max_completion_tokens")
    expect(page.get_by_label("Max completion tokens", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hello there.")
    expect(page.locator(".msg.user")).to_have_count(0)
    expect(page.get_by_label("Thread", exact=True)).to_have_value("")  # no thread was made
    page.get_by_label("Max completion tokens", exact=True).fill("256")
    page.get_by_role("button", name="Send", exact=True).click()
    form = page.get_by_role("form", name="Submit tool outputs", exact=True)
    expect(form).to_contain_text("get_weather(", timeout=120_000)
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    run = api.beta.threads.runs.list(thread_id).data[0]
    assert run.status == "requires_action"
    assert run.tool_choice.type == "function"  # type: ignore[union-attr]
    assert run.max_completion_tokens == 256
    inspected = page.get_by_role("region", name="Run inspector").locator(
        f'[data-run-id="{run.id}"]'
    )
    expect(inspected.locator(".pairs")).to_contain_text('"name":"get_weather"')
    expect(inspected.locator('.inspected-call[data-type="function"]')).to_contain_text("(none yet)")


def test_add_messages_without_running_and_manage_the_thread(
    page: Page, console_server: Server, api: openai.OpenAI, tmp_path: Path
) -> None:
    """A message added with its role and no run; the attachment's file name on it; the
    thread's metadata saved; a new thread; the thread deleted."""
    notes = tmp_path / "trip-notes.txt"
    notes.write_text("Bring a coat.")
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Message", exact=True).fill("I packed a coat.")
    page.get_by_label("Attach files").set_input_files(notes)
    page.get_by_role("button", name="Add without running", exact=True).click()
    user = page.locator(".msg.user")
    expect(user).to_contain_text("I packed a coat.")
    expect(user.locator(".attached")).to_have_text("attached: trip-notes.txt")
    page.get_by_label("Message", exact=True).fill("Good idea.")
    page.get_by_label("Role of an added message", exact=True).select_option("assistant")
    page.get_by_role("button", name="Add without running", exact=True).click()
    expect(page.locator(".msg.assistant")).to_contain_text("Good idea.")
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    listed = api.beta.threads.messages.list(thread_id, order="asc").data
    assert [m.role for m in listed] == ["user", "assistant"]
    assert api.beta.threads.runs.list(thread_id).data == []
    page.get_by_label("Thread metadata (JSON)", exact=True).fill('{"trip": "oslo"}')
    page.get_by_role("button", name="Save metadata", exact=True).click()
    for _ in range(50):
        if api.beta.threads.retrieve(thread_id).metadata == {"trip": "oslo"}:
            break
        page.wait_for_timeout(100)
    assert api.beta.threads.retrieve(thread_id).metadata == {"trip": "oslo"}
    page.get_by_role("button", name="New thread", exact=True).click()
    expect(page.get_by_label("Thread", exact=True)).to_have_value("")
    expect(page.locator(".chat > *")).to_have_count(0)
    page.get_by_label("Thread", exact=True).select_option(thread_id)
    expect(page.get_by_label("Thread metadata (JSON)", exact=True)).to_have_value(
        re.compile("oslo")
    )
    expect(page.locator(".msg.user .attached")).to_have_text("attached: trip-notes.txt")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete thread", exact=True).click()
    expect(page.get_by_label("Thread", exact=True)).to_have_value("")
    with pytest.raises(openai.NotFoundError):
        api.beta.threads.retrieve(thread_id)


def test_the_playground_runs_the_thread_through_responses(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    """The same assistant (as the prompt) and thread (as the conversation) through
    /v1/responses: a function call answered from the form, the answer as markdown, and
    the inspector's view of the response: its streaming events and the conversation's
    items. The Assistants API sees the same thread."""
    assistant = api.beta.assistants.create(
        model="scripted-gpt", name="Responder", tools=[{"type": "function", "function": WEATHER}]
    )
    upstream.script(
        Reply(tool_calls=[("get_weather", '{"city": "Rome"}')]),
        Reply(text="Sunny in **Rome**."),
    )
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("API", exact=True).select_option("responses")
    page.get_by_label("Message", exact=True).fill("Weather in Rome?")
    page.get_by_role("button", name="Send", exact=True).click()
    form = page.get_by_role("form", name="Submit tool outputs", exact=True)
    expect(form).to_contain_text('get_weather({"city": "Rome"})')
    form.get_by_label("Output of get_weather", exact=True).fill('{"sky": "clear"}')
    form.get_by_role("button", name="Submit outputs", exact=True).click()
    answer = page.locator('.msg.assistant[data-status="completed"]')
    expect(answer.locator("strong")).to_have_text("Rome")
    conversation = page.get_by_label("Thread", exact=True).input_value()
    assert conversation.startswith("conv_")
    inspected = page.get_by_role("region", name="Run inspector").locator("[data-response-id]")
    expect(inspected).to_have_attribute("data-status", "completed")
    expect(inspected.locator(".events")).to_contain_text("response.output_text.delta")
    expect(inspected.locator(".events")).to_contain_text("response.completed")
    kinds = inspected.locator(".items li").evaluate_all("els => els.map(e => e.dataset.itemType)")
    assert kinds == ["message", "function_call_output", "function_call", "message"]
    tool_messages = [m for m in upstream.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == '{"sky": "clear"}'
    roles = [m.role for m in api.beta.threads.messages.list(conversation, order="asc").data]
    assert roles == ["user", "assistant"]


def test_thinking_shows_until_the_first_token(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = api.beta.assistants.create(model="scripted-gpt", name="Ponders")
    upstream.script(Reply(text="Well then.", first_delay_s=1.5))
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("Message", exact=True).fill("Think first.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Thinking…")
    expect(page.locator('.msg.assistant[data-status="completed"]')).to_have_text("Well then.")
    expect(page.locator(".thinking")).to_have_count(0)


def test_threads_filter_survives_opening_a_thread_and_asks_for_a_value(
    page: Page, console_server: Server, api: openai.OpenAI
) -> None:
    """Issue 24, bug 3: opening a thread keeps the metadata filter; a key without a value
    asks for one rather than showing nothing."""
    tagged = api.beta.threads.create(metadata={"team": "penguins"})
    api.beta.threads.create(metadata={"team": "seals"})
    page.goto(f"{console_server.base_url}/#/threads")
    filter_form = page.get_by_role("form", name="Filter threads", exact=True)
    filter_form.get_by_label("Metadata key", exact=True).fill("team")
    filter_form.get_by_role("button", name="Filter", exact=True).click()
    expect(filter_form.locator(".error")).to_contain_text("Enter the value to match")
    filter_form.get_by_label("Metadata value", exact=True).fill("penguins")
    filter_form.get_by_role("button", name="Filter", exact=True).click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    assert "null" not in page.locator("main .grid > div").first.inner_text()  # was a stray one
    page.get_by_role("link", name=tagged.id, exact=True).click()
    expect(page.get_by_role("heading", name=tagged.id, exact=True)).to_be_visible()
    expect(filter_form.get_by_label("Metadata key", exact=True)).to_have_value("team")
    expect(filter_form.get_by_label("Metadata value", exact=True)).to_have_value("penguins")
    expect(rows).to_have_count(1)


def test_cancel_a_run_from_the_playground(
    page: Page, console_server: Server, api: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant = api.beta.assistants.create(model="scripted-gpt", name="Slow")
    upstream.script(Reply(text="word " * 200, token_delay_s=0.05))
    page.goto(f"{console_server.base_url}/#/playground")
    page.get_by_label("Assistant", exact=True).select_option(assistant.id)
    page.get_by_label("Message", exact=True).fill("Talk for a while.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator('.msg.assistant[data-status="streaming"]')).to_contain_text("word")
    page.get_by_role("button", name="Cancel run", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "cancelled")
    expect(page.locator(".msg.assistant")).to_have_attribute("data-status", "incomplete")
    thread_id = page.get_by_label("Thread", exact=True).input_value()
    assert api.beta.threads.runs.list(thread_id).data[0].status == "cancelled"
    # Issue 24, bug 7: the cancelled answer says it stopped, and what streamed is counted.
    expect(page.locator(".msg.assistant .stopped")).to_contain_text("Stopped before the end")
    expect(page.get_by_test_id("usage")).not_to_contain_text(" 0 out")
    expect(page.get_by_test_id("usage")).to_contain_text(re.compile(r"[1-9]\d* out"))


def test_usable_by_keyboard_alone(page: Page, console_server: Server) -> None:
    page.goto(f"{console_server.base_url}/#/playground")
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible()

    def tab_to(text: str) -> None:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == text:
                return
        raise AssertionError(f"Tab never reached {text!r}")

    tab_to("Assistants")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Assistants", exact=True)).to_be_visible()
    tab_to("New assistant")
    page.keyboard.press("Enter")
    # The form takes the focus at its first field; Enter in a field submits it.
    expect(page.locator('form input[name="name"]')).to_be_focused()
    page.keyboard.type("Keyboard made")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Keyboard made", exact=True)).to_be_visible()
    # The focus is visible wherever it is (an outline, not the browser's default none).
    tab_to("New assistant")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
