"""/v1/threads/{thread_id}/runs/{run_id}/steps"""

from __future__ import annotations

from starlette.routing import Route

from assistantd.api.deps import Call, list_params, v1
from assistantd.api.runs import check_include
from assistantd.ids import IdKind


async def list_steps(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    params = list_params(call)
    include = check_include(call)
    return await call.container.runs.list_steps(
        call.project, thread_id, run_id, params, bool(include)
    )


async def get_step(call: Call) -> bytes:
    thread_id = call.path(IdKind.thread, "thread_id")
    run_id = call.path(IdKind.run, "run_id")
    step_id = call.path(IdKind.run_step, "step_id")
    include = check_include(call)
    return await call.container.runs.get_step(
        call.project, thread_id, run_id, step_id, bool(include)
    )


routes = [
    Route("/threads/{thread_id}/runs/{run_id}/steps", v1(list_steps), methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/steps/{step_id}", v1(get_step), methods=["GET"]),
]
