"""The overview's filter: what each row is found by (its name, and tag values where it has tags).

The same text drives the filter in the browser (static/filter.js reads data-search) and the
server-side ?q= filter that keeps the page usable without JavaScript; neither calls AWS again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Service
from .web import bp


@bp.app_template_global()
def search_text(service: Service, item: Any) -> str:
    """The lowercased words a row is found by: its label (first column), name and tag values."""
    words = [str(getattr(item, service.columns[0].attr, "") or "")]
    words.append(str(getattr(item, "name", "") or ""))
    tags = getattr(item, "tags", None)
    if isinstance(tags, Mapping):
        words += [str(value) for value in tags.values()]
    return " ".join(dict.fromkeys(w for w in words if w)).lower()


@bp.app_template_global()
def search_filter(service: Service, items: Sequence[Any], query: str) -> list[Any]:
    """The rows whose search text holds the query (case-insensitive); all rows for no query."""
    needle = query.strip().lower()
    return [item for item in items if needle in search_text(service, item)]
