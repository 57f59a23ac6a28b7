"""The README and the pages of ``docs/``, read by the tests that run their examples."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEADING = re.compile(r"(#{1,6}) (.*)")


def section(heading: str, page: str = "README.md") -> str:
    """The text of the section of ``page`` whose heading starts with ``heading``.

    The section runs up to the next heading of its level or higher; lines in fenced code
    blocks are never headings (a shell comment starts with ``#`` too).
    """
    taken: list[str] = []
    level = 0
    fenced = False
    for line in (ROOT / page).read_text().splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        found = None if fenced else HEADING.match(line)
        if found is not None:
            if level and len(found.group(1)) <= level:
                break
            if not level and found.group(2).startswith(heading):
                level = len(found.group(1))
        if level:
            taken.append(line)
    if not taken:
        raise ValueError(f"{page} has no section {heading!r}")
    return "".join(taken)


def shell_blocks(heading: str, page: str = "README.md") -> list[str]:
    """The ```sh blocks of a section of ``page``."""
    return re.findall(r"```sh\n(.*?)```", section(heading, page), flags=re.DOTALL)
