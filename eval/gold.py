"""The gold set: loading rows and locating each evidence quote in its document."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

GOLD_DIR = Path(__file__).resolve().parent / "gold"
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Evidence:
    """One passage a question needs. `also`: other places in the reports that state the same fact in the same
    language (reports repeat their figures in summaries, tables and body text); a passage overlapping any of
    them serves as this evidence."""

    doc_id: str
    quote: str
    also: tuple[Evidence, ...] = ()

    @property
    def language(self) -> str:
        return "zh" if _HAN.search(self.quote) else "en"


@dataclass(frozen=True)
class GoldRow:
    id: str
    question: str
    language: str
    kind: str
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)

    @property
    def pair(self) -> str:
        """Question → evidence language, e.g. `zh→en`; `en→en+zh` when evidence spans both; `en→none` for OOS."""
        langs = sorted({e.language for e in self.evidence})
        return f"{self.language}→{'+'.join(langs) if langs else 'none'}"


def load_gold(path: Path = GOLD_DIR) -> list[GoldRow]:
    """Rows from one .jsonl file or every .jsonl in a directory, in file then line order."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    rows = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(GoldRow(r["id"], r["question"], r["language"], r["kind"], tuple(r["answers"]),
                                    tuple(_evidence(e) for e in r["evidence"])))
    return rows


def _evidence(e: dict[str, object]) -> Evidence:
    also = e.get("also") or []
    assert isinstance(also, list)
    return Evidence(str(e["doc_id"]), str(e["quote"]), tuple(Evidence(str(a["doc_id"]), str(a["quote"])) for a in also))


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Every occurrence of `quote` in `text` as (start, end)."""
    spans, pos = [], text.find(quote)
    while pos >= 0:
        spans.append((pos, pos + len(quote)))
        pos = text.find(quote, pos + 1)
    return spans
