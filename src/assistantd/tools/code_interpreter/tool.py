"""The code_interpreter tool: the model's Python → the thread's sandboxed session → a
`code_interpreter` step entry (input, logs, images) and the text the model reads.

Images the code displays become Files (`assistants_output`) and `image` outputs, and
the run's next message shows them as `image_file` parts (`lead_parts`). Files the code
writes stay in the session's `/mnt/data` until the answer links them
(`sandbox:/mnt/data/NAME`): then `annotate` turns each link into a File and a
`file_path` annotation.

Its state in a run: the files put in /mnt/data, by id (`files`, read once when the run
starts), and the images displayed but not yet shown in a message (`images`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypedDict

from assistantd.protocol.objects import RunDoc
from assistantd.providers.base import GRAMMAR_MAX_LENGTH
from assistantd.tools.base import JSON, BaseServerTool, ToolFailed, ToolOutcome, ToolRequest
from assistantd.tools.code_interpreter.code import code_of, sandbox_links, streamed_code
from assistantd.tools.code_interpreter.sandbox import BWRAP_MISSING, SandboxError
from assistantd.tools.code_interpreter.sessions import CallResult, SessionPool

__all__ = ["CodeInterpreter", "Files", "InputFiles"]

log = logging.getLogger(__name__)

MAX_CODE_CHARS = 512  # what the embedded model may write per call (its grammar's bound)


class InputFiles(Protocol):
    async def __call__(self, project: str, run: RunDoc) -> dict[str, str]:
        """file_id → file name of every file the run's code may read."""
        ...


class Files(Protocol):
    async def read_bytes(
        self, project: str, file_id: str, max_bytes: int
    ) -> tuple[str, bytes] | None: ...

    async def save_output(self, project: str, filename: str, data: bytes) -> str: ...


def _unique_names(files: dict[str, str]) -> dict[str, str]:
    """Two files of one name: the later ones are put as `<file_id>-<name>`."""
    taken: set[str] = set()
    out = {}
    for file_id, name in files.items():
        shown = name if name not in taken else f"{file_id}-{name}"
        taken.add(shown)
        out[file_id] = shown
    return out


class CodeInterpreterState(TypedDict, total=False):
    files: dict[str, str]  # file_id → its name in /mnt/data
    images: list[str]  # image Files displayed since the last message


class CodeInterpreter(BaseServerTool):
    type = "code_interpreter"

    def __init__(
        self,
        pool: SessionPool | None,
        inputs: InputFiles,
        files: Files,
        *,
        max_file_bytes: int,
        max_files: int = 20,
    ) -> None:
        self.pool = pool
        self.inputs = inputs
        self.files = files
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files  # sandbox files one answer may turn into Files

    def definition(self, run: RunDoc, state: JSON) -> JSON:
        names = list((state.get("files") or {}).values())
        files = (
            " The user's files are in /mnt/data: "
            + ", ".join(f"/mnt/data/{n}" for n in names)
            + "."
            if names
            else ""
        )
        return {
            "type": "function",
            "function": {
                "name": "code_interpreter",
                "description": "Run Python in a stateful Jupyter session (numpy, pandas and "
                "matplotlib are installed; there is no internet). Variables persist between "
                "calls. Print what you need to see; display charts with matplotlib. Save "
                "files for the user in /mnt/data and link them as sandbox:/mnt/data/NAME." + files,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "code": {
                            "type": "string",
                            "description": "The Python code to run.",
                            # The embedded model's bound; upstreams never see it.
                            GRAMMAR_MAX_LENGTH: MAX_CODE_CHARS,
                        }
                    },
                    "required": ["code"],
                },
            },
        }

    def first_entry(self, run: RunDoc, call_id: str) -> JSON:
        return {
            "id": call_id,
            "type": "code_interpreter",
            "code_interpreter": {"input": "", "outputs": []},
        }

    def input_so_far(self, arguments: str) -> str | None:
        return streamed_code(arguments)

    def result_delta(self, entry: JSON) -> JSON | None:
        outputs = entry["code_interpreter"]["outputs"]
        return {
            "type": "code_interpreter",
            "code_interpreter": {"outputs": [{"index": i, **o} for i, o in enumerate(outputs)]},
        }

    async def prepare(self, project: str, run: RunDoc, state: JSON) -> JSON:
        # Read once per run: a run's thread takes no new messages while it is active.
        return {**state, "files": _unique_names(await self.inputs(project, run))}

    def lead_parts(self, state: JSON) -> tuple[list[JSON], JSON]:
        """Images displayed since the last message lead the next one, as on OpenAI;
        once in a message they are no longer pending."""
        images = state.get("images") or []
        if not images:
            return [], state
        parts = [{"type": "image_file", "image_file": {"file_id": f}} for f in images]
        return parts, {k: v for k, v in state.items() if k != "images"}

    def restore(self, flat: Mapping[str, Any]) -> JSON:
        """Rows from before typed run state kept `code_files` and `code_images` at the top."""
        state: CodeInterpreterState = {}
        if flat.get("code_files") is not None:
            state["files"] = dict(flat["code_files"])
        if flat.get("code_images"):
            state["images"] = list(flat["code_images"])
        return dict(state)

    async def call(self, request: ToolRequest) -> ToolOutcome:
        # Only a run that calls it fails: one that never needs code still answers.
        if self.pool is None:
            raise ToolFailed("server_error", BWRAP_MISSING)
        problem = await self.pool.unavailable()
        if problem is not None:
            raise ToolFailed("server_error", problem)
        run = request.run
        code = code_of(request.arguments)
        entry = self.first_entry(run, request.call_id)
        entry["code_interpreter"]["input"] = code
        try:
            session = self.pool.session(request.project, run["thread_id"])
        except SandboxError as error:
            result = CallResult(logs=f"The code was not run: {error}. Try again later.")
        else:
            async with session.lock:
                names = request.state.get("files")
                if names is None:
                    names = _unique_names(await self.inputs(request.project, run))
                try:
                    await self.pool.put_files(session, names, self._read(request.project))
                except SandboxError as error:
                    await self.pool.restart(session)
                    result = CallResult(logs=f"The Python session could not start: {error}")
                else:
                    result = await self.pool.execute(session, code)
        logs = result.logs
        if result.images_dropped:
            # Each kept image becomes a File: a call that displays thousands would make
            # thousands. The rest are counted, for the model, the step and the log.
            note = (
                f"[{result.images_dropped} more image(s) were displayed but not kept: at "
                f"most {len(result.images)} per call]"
            )
            logs = f"{logs}\n{note}" if logs else note
            log.warning("a code call displayed %d images past the cap", result.images_dropped)
        outputs: list[dict[str, Any]] = []
        if logs:
            outputs.append({"type": "logs", "logs": logs})
        images = list(request.state.get("images") or [])
        for n, png in enumerate(result.images):
            file_id = await self.files.save_output(
                request.project, f"code_interpreter_image_{request.round}_{n}.png", png
            )
            outputs.append({"type": "image", "image": {"file_id": file_id}})
            images.append(file_id)
        entry["code_interpreter"]["outputs"] = outputs
        told = logs or ("(no output)" if not result.images else "")
        if result.images:
            told += f"\n[{len(result.images)} image(s) displayed to the user]"
        return ToolOutcome(entry=entry, output=told, state={**request.state, "images": images})

    def _read(self, project: str) -> Callable[[str], Awaitable[bytes | None]]:
        async def read(file_id: str) -> bytes | None:
            found = await self.files.read_bytes(project, file_id, self.max_file_bytes)
            return found[1] if found else None

        return read

    async def annotate(self, project: str, run: RunDoc, state: JSON, text: str) -> list[JSON]:
        """`file_path` annotations for the answer's sandbox links whose file exists in
        the thread's session (each linked file becomes a File once per message)."""
        links = sandbox_links(text)
        if not links or self.pool is None:
            return []
        session = self.pool.sessions.get((project, run["thread_id"]))
        if session is None:
            return []
        saved: dict[str, str] = {}
        annotations = []
        async with session.lock:
            for start, end, name in links:
                if name not in saved and len(saved) >= self.max_files:
                    log.warning("an answer linked more than %d sandbox files", self.max_files)
                    continue  # its link stays as text, without an annotation
                if name not in saved:
                    data = await self.pool.fetch(session, name, self.max_file_bytes)
                    if data is None:
                        continue
                    saved[name] = await self.files.save_output(project, name, data)
                annotations.append(
                    {
                        "type": "file_path",
                        "text": text[start:end],
                        "start_index": start,
                        "end_index": end,
                        "file_path": {"file_id": saved[name]},
                    }
                )
        return annotations
