"""Accuracy and cost of the connectors' language detection (``python -m bench.language``).

Reads the labelled short messages of ``tests/shared/language_samples.py`` (20 per language for
en, fr, de, es; 10 for it, pt, nl; and the fixtures' and email corpus' texts), and prints how
many are right, unanswered (``None``) and wrong, the CPU time per message and the memory the
model takes. Not part of ``make bench``: it runs in a few seconds on its own.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.shared.language_samples import FIXTURE_TEXTS, SAMPLES

if TYPE_CHECKING:
    from shared.language import LanguageDetector


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _score(detector: LanguageDetector, labelled: list[tuple[str, str]]) -> str:
    found = [(language, detector.detect(text)) for language, text in labelled]
    right = sum(1 for language, got in found if got == language)
    unsure = sum(1 for _, got in found if got is None)
    return f"{right}/{len(found)} right, {unsure} none, {len(found) - right - unsure} wrong"


def _cpu_us(detector: LanguageDetector, texts: list[str], seconds: float = 2.0) -> float:
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for text in texts:
            detector.detect(text)
        done += len(texts)
    return (time.process_time() - start) / done * 1e6


def main() -> None:
    # A service has pydantic loaded already: what counts is the detector's import and model.
    importlib.import_module("pydantic_settings")
    before = _rss_mb()
    start = time.process_time()
    language = importlib.import_module("shared.language")
    detector: LanguageDetector = language.LanguageDetector()
    detector.warm_up()
    cpu_s, rss_mb = time.process_time() - start, _rss_mb() - before
    print(f"import and load: {cpu_s:.2f} s CPU, +{rss_mb:.0f} MB RSS")
    labelled = [(language, text) for language, texts in SAMPLES.items() for text in texts]
    print(f"labelled short messages: {_score(detector, labelled)}")
    print(f"fixtures and email corpus: {_score(detector, list(FIXTURE_TEXTS))}")
    texts = [text for _, text in labelled] + [text for _, text in FIXTURE_TEXTS]
    print(f"CPU per short message: {_cpu_us(detector, texts):.0f} us")
    long_mail = ["Hola, mi pedido todavía no ha llegado. " * 200]
    print(f"CPU per long mail (first 200 characters read): {_cpu_us(detector, long_mail):.0f} us")
    print(f"CPU per text too short to tell: {_cpu_us(detector, ['Hi.']):.1f} us")


if __name__ == "__main__":
    main()
