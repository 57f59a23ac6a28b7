"""The chat page's examples (docs/chat.md), run as written against the development defaults."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.chat.conftest import chat_app
from tests.support import readme
from tests.support.server import serving

MAKE_RUN_URL = "http://127.0.0.1:8003"
SECTION = Path(__file__).resolve().parents[2] / "services" / "chat" / "README.section.md"


def sources() -> list[Any]:
    """The section as merged into docs/chat.md, and as this service writes it (until merged)."""
    texts = [pytest.param(readme.section("Chat connector", page="docs/chat.md"), id="docs/chat.md")]
    if SECTION.exists():
        texts.append(pytest.param(SECTION.read_text(), id="README.section.md"))
    return texts


def answers_of(output: str) -> list[dict[str, Any]]:
    """The JSON documents curl printed back to back."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while at < len(output.strip()):
        document, at = decoder.raw_decode(output, at)
        found.append(document)
        while at < len(output) and output[at].isspace():
            at += 1
    return found


@pytest.mark.parametrize("text", sources())
@pytest.mark.usefixtures("stack_env")
async def test_every_curl_of_the_section_is_answered_without_error(
    text: str, tmp_path: Path
) -> None:
    assert shutil.which("curl")
    assert shutil.which("openssl")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    assert blocks
    answered: list[dict[str, Any]] = []
    async with serving(chat_app()) as url:
        for block in blocks:
            process = await asyncio.create_subprocess_exec(
                "bash", "-euo", "pipefail", "-c", block.replace(MAKE_RUN_URL, url),
                cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            answers = answers_of(out.decode())
            printed = [line for line in block.splitlines() if line.startswith("curl ")]
            assert len(answers) == len(printed), out.decode()
            answered.extend(answers)
    assert [a for a in answered if "error" in a] == []
    assert any(a.get("event_ids") for a in answered)
