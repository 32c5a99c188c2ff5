"""A carelessly typed copy of a gold set: `python -m eval.typos OUT [--gold DIR] [--seed N] [--lower]`, then
`rag eval --gold OUT`.

Keeps the English rows only and puts one typo (a letter dropped, two swapped or one replaced, never the first or
last) into one word of six or more lower-case letters of each question, chosen by a seeded random generator.
Evidence and answers stay as they are, so `rag eval` on the copy, with `RAG_SPELLING` on and off, measures what
rag/spelling.py recovers (README, Evaluation, "Misspelt and lower-case questions"). With `--lower` the
questions are instead typed all in lower case, as on a phone ("how many ai devices has health canada
licensed"): names and acronyms lose the capitals that tell them apart.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from eval.gold import GOLD_DIR

_WORD_RE = re.compile(r"(?<![\w'-])[a-z]{6,}(?![\w'-])")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("drop", "swap", "replace"))
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice(_LETTERS.replace(word[i], "")) + word[i + 1:]


def misspell(question: str, rng: random.Random) -> str:
    """The question with one long lower-case word misspelt (unchanged if it has none)."""
    words = list(_WORD_RE.finditer(question))
    if not words:
        return question
    m = rng.choice(words)
    return question[:m.start()] + typo(m.group(0), rng) + question[m.end():]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--gold", type=Path, default=GOLD_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lower", action="store_true", help="lower-case every question instead of misspelling it")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    changed = 0
    for path in sorted(args.gold.glob("*.jsonl")):
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and (row := json.loads(line))["language"] == "en":
                question = row["question"].lower() if args.lower else misspell(row["question"], rng)
                changed += question != row["question"]
                rows.append(json.dumps(dict(row, question=question), ensure_ascii=False))
        (args.out / path.name).write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    print(f"{changed} questions {'lower-cased' if args.lower else 'misspelt'} in {args.out}")


if __name__ == "__main__":
    main()
