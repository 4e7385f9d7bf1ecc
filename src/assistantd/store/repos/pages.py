"""Keyset pagination over id order, and rendering a page as OpenAI's list object.

Ids are creation-ordered (see `assistantd.ids`), so `after`/`before` compare ids
directly: no cursor lookup, no OFFSET, and an index on (scope, id) makes every page
cost the same however long the list is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from assistantd.protocol.common import ListParams

__all__ = ["Page", "fetch_page", "render_list"]


@dataclass(frozen=True, slots=True)
class Page:
    ids: list[str]
    docs: list[str]
    has_more: bool


def _page_query(
    table: Table, where: Sequence[ColumnElement[bool]], params: ListParams
) -> Select[tuple[Any, Any]]:
    id_col = table.c.id
    query = select(id_col, table.c.doc).where(*where)
    descending = params.order == "desc"
    # In the requested order, `after` bounds the start and `before` the end.
    if params.after is not None:
        query = query.where(id_col < params.after if descending else id_col > params.after)
    if params.before is not None:
        query = query.where(id_col > params.before if descending else id_col < params.before)
    # `before` alone reads backwards from the cursor, so the page is the nearest items.
    backwards = params.before is not None and params.after is None
    ascending = descending == backwards
    return query.order_by(id_col.asc() if ascending else id_col.desc()).limit(params.limit + 1)


async def fetch_page(
    conn: AsyncConnection,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    params: ListParams,
) -> Page:
    rows = list((await conn.execute(_page_query(table, where, params))).all())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if params.before is not None and params.after is None:
        rows.reverse()
    return Page(ids=[r[0] for r in rows], docs=[r[1] for r in rows], has_more=has_more)


def render_list(page: Page) -> bytes:
    """The list object, splicing stored documents in without parsing them.

    An empty page has `first_id`/`last_id` null, as OpenAI answered (the schema's
    "required string" cannot describe an empty list; CONTRACT.md section 3).
    """
    first = orjson.dumps(page.ids[0] if page.ids else None)
    last = orjson.dumps(page.ids[-1] if page.ids else None)
    return b"".join(
        (
            b'{"object":"list","data":[',
            ",".join(page.docs).encode(),
            b'],"first_id":',
            first,
            b',"last_id":',
            last,
            b',"has_more":',
            b"true" if page.has_more else b"false",
            b"}",
        )
    )
