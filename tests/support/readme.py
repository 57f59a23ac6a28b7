"""The README, read by the tests that run its examples."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(heading: str) -> str:
    """The text of the README's ``### <heading>...`` section, up to the next one of its level."""
    text = README.read_text()
    start = text.index(f"\n### {heading}")
    following = re.search(r"\n#{2,3} ", text[start + 1 :])
    return text[start : start + 1 + following.start()] if following else text[start:]


def shell_blocks(heading: str) -> list[str]:
    """The ```sh blocks of a README section."""
    return re.findall(r"```sh\n(.*?)```", section(heading), flags=re.DOTALL)
