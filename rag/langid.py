"""Which language a question is written in, when it is one the service does not read.

The service reads English and Chinese. A question in another script (Hangul, Cyrillic, Arabic…) is told apart by
its letters (`rag.text.in_unread_script`). One in another Latin-script language (French, Spanish, German,
Vietnamese…) looks like English to a script count; it was refused as "not covered", the wrong reason, after the
speller had "corrected" its words into English ones ("Combien" → "Combine", "Markt" → "Market"). Telling it
apart needs a language identifier: py3langid (langid.py's naive Bayes model over byte n-grams, shipped in its
wheel, offline, ~20 µs a question).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from rag.text import detect_language, in_unread_script

# The Latin-script languages the identifier chooses between for a question that looks English by its script.
# Choosing among these rather than all 97 keeps English text from being read as a close relative that shares its
# words (Nigerian Pidgin, Scots): over 10,167 English questions (gold, held-out, calibration, SQuAD and XQuAD),
# none was read as another language with probability ≥ 0.8 but one, a question quoting a German hymn title
# (0.8–0.9), and none at ≥ 0.9 (docs/experiments.md).
LATIN_LANGUAGES = ("en", "fr", "es", "de", "pt", "it", "nl", "ca", "ro", "sv", "da", "no", "fi", "et", "lv", "lt",
                   "pl", "cs", "sk", "sl", "hr", "hu", "tr", "vi", "id", "ms", "tl", "sw")
MIN_PROBABILITY = 0.9
MIN_WORDS = 3  # a name or two ("Ant Health Affu", "Tencent Miying") is no language of its own
_WORD_RE = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=1)
def _identifiers() -> tuple[Any, Any]:
    """The identifier over all its 97 languages, and a copy choosing among `LATIN_LANGUAGES` only."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # the model shipped in the wheel

    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    latin = copy.copy(full)  # shares the model arrays; set_languages replaces the copy's, never changes them
    latin.set_languages(LATIN_LANGUAGES)
    return full, latin


def warm_up() -> None:
    """Load the model (~0.6 s) before the first question needs it."""
    _identifiers()


def unread_language(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is written in when the service does not read it, else None.

    "other" when the script is foreign but the identifier names no language for it.
    """
    if in_unread_script(text):
        label = str(_identifiers()[0].classify(text)[0])
        return label if label not in ("en", "zh") else "other"
    if detect_language(text) != "en" or len(_WORD_RE.findall(text)) < MIN_WORDS:
        return None
    label, probability = _identifiers()[1].classify(text)
    return str(label) if label != "en" and probability >= MIN_PROBABILITY else None
