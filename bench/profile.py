"""Summarise a py-spy raw (collapsed stacks) profile: where the samples are spent."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_SHORT = re.compile(r".*/(site-packages|lib/python3\.\d+)/")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = _SHORT.sub("", match["file"])
    path = re.sub(r"^.*?/(services|shared|bench)/", r"\1/", path)
    return f"{match['func']} ({path})"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares of the busiest frames."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        # Thread/process headers from py-spy are not frames.
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "share": round(n / total, 3)} for frame, n in counter.most_common(top)
        ]

    project = Counter({f: n for f, n in inclusive.items() if "(services/" in f or "(shared/" in f})
    return {
        "samples": total,
        "self": shares(own),
        "inclusive": shares(inclusive),
        "project_inclusive": shares(project),
    }
