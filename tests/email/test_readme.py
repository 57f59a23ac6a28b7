"""The email page's curl examples (docs/email.md), run as written against the dev defaults."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from services.email.app import create_app
from services.email.settings import EmailSettings
from tests.support import readme
from tests.support.server import serving

MAKE_RUN_URL = "http://127.0.0.1:8001"


def shell_blocks() -> list[str]:
    return readme.shell_blocks("Email connector", page="docs/email.md")


@pytest.mark.usefixtures("stack_env")
async def test_every_curl_of_the_readme_is_accepted(tmp_path: Path) -> None:
    blocks = shell_blocks()
    assert sum("curl" in block for block in blocks) == 4
    assert shutil.which("curl")
    assert shutil.which("openssl")
    answers = []
    async with serving(create_app(EmailSettings())) as url:
        for block in blocks:
            process = await asyncio.create_subprocess_exec(
                "bash",
                "-euo",
                "pipefail",
                "-c",
                block.replace(MAKE_RUN_URL, url),
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            if "curl" in block:
                answers.append(json.loads(out))
    assert [sorted(answer) for answer in answers] == [
        ["automated", "conversation_key", "event_id", "parse_warnings"]
    ] * 4, answers
    assert [answer["conversation_key"] for answer in answers] == [
        "email:readme-1@example.org",
        "email:readme-1@example.org",
        "email:readme-2@example.org",
        "email:readme-3@example.org",
    ]
