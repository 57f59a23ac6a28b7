"""Hypothesis strategies that break a real provider payload a little at a time.

Random JSON rarely gets past a parser's first check; a real payload with a few values swapped
for others of any type, keys dropped or added, goes deep into the code that reads it.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from shared.errors import SwitchboardError
from shared.events import InteractionEvent

__all__ = ["assert_events_or_4xx", "json_values", "mutated"]

Path = tuple[str | int, ...]

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e400", "2026-13-45T99:00:00Z", "+1 (555) 0100", "\u0000"]),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=12), children, max_size=3),
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every path below ``node`` (not the root itself)."""
    found: list[Path] = []
    items: list[tuple[str | int, Any]] = (
        list(node.items()) if isinstance(node, dict) else list(enumerate(node))
    )
    for key, child in items:
        found.append((*prefix, key))
        if isinstance(child, dict | list):
            found.extend(_paths(child, (*prefix, key)))
    return found


def _parent(document: Any, path: Path) -> Any:
    for key in path[:-1]:
        document = document[key]
    return document


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any], max_changes: int = 3) -> dict[str, Any]:
    """``document`` with one to ``max_changes`` values replaced, removed or added."""
    result = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_changes))):
        paths = _paths(result)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(result, path), path[-1]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "remove":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return result


def assert_events_or_4xx(parse: Any, *args: Any) -> list[InteractionEvent]:
    """Call ``parse(*args)``: it returns events that survive their own JSON, or refuses with a
    4xx; any other exception fails the test."""
    refusal: SwitchboardError | None = None
    try:
        events: list[InteractionEvent] = parse(*args)
    except SwitchboardError as exc:
        refusal, events = exc, []
    if refusal is not None:
        assert 400 <= refusal.status_code < 500, refusal
    for event in events:
        assert InteractionEvent.from_json(event.to_json()) == event
    return events
