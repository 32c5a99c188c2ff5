"""How often the answer checks (rag/figures.py) would wrongly refuse a public question:
`python -m eval.answer_checks [--data DIR] [--out DIR]`.

Each SQuAD-format question (SQuAD-minus-XQuAD, XQuAD en / zh, CMRC 2018, DRCD) that a check reads as asking for an
amount, a date, a sum of money, a span of time or a name is paired with the sentence of its own paragraph that holds
the answer span, which answers it by construction. A check that finds nothing it asks for in that sentence (for the
year rule, in its paragraph) would refuse an answerable question: every refusal counted here is a false one. The
"subject" column counts the questions asking for a figure, date, price or span that name something
(`rag.figures.subject_groups`, the article's paragraphs standing in for the corpus) and, of those, the ones whose
paragraph, with the end of the paragraph before it and the article's title, does not name it. The "counted" column
counts the "how many" questions whose counted thing (`rag.figures.counted_groups`) the article never names. Run it
before changing a check: the money check's first version refused 5 of the 51 money questions, the name check's first
one 110 of SQuAD's 1,192 "who"/"which" questions (docs/experiments.md).

Writes `<out>/answer_checks.json` and `<out>/answer_checks.md` and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.benchmarks import DEFAULT_DATA, DEFAULT_OUT
from rag.abstain import GENERIC_SHARE
from rag.figures import (
    SUBJECT_CONTEXT,
    Kind,
    NameReader,
    answer_checks,
    counted_groups,
    counted_named,
    lowercase_words,
    names_covered,
    subject_groups,
)
from rag.stores.manifest import write_atomic
from rag.text import normalize, split_sentences, to_simplified, tokenize

# name → (file under the data directory, label)
SETS = {"squad": ("squad/squad1.1.dev.minus-xquad.json", "squad-minus-xquad en"),
        "xquad_en": ("xquad/xquad.dev.en.json", "xquad en"), "xquad_zh": ("xquad/xquad.dev.zh.json", "xquad zh"),
        "cmrc": ("cmrc2018/cmrc2018_dev.json", "cmrc2018 zh"), "drcd": ("drcd/DRCD_dev.json", "drcd zh-Hant")}
EXAMPLES = 5  # wrongly refused questions listed per set and check
# The checks rag/figures.py `answer_checks` hands out, in its order; the report's "figure" is the amount check.
CHECKS: dict[Kind, str] = {"amount": "figure", "date": "date", "money": "money", "duration": "duration",
                            "name": "name"}
COLUMNS = (*CHECKS.values(), "subject", "counted")


@dataclass
class Tally:
    asked: int = 0
    refused: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)


def answer_sentence(context: str, start: int, length: int) -> str:
    """The sentence of `context` holding the answer span's start, stretched to the span's end if it runs over."""
    for s, e in split_sentences(context):
        if s <= start < e:
            return context[s:max(e, start + length)]
    return context[start:start + length]


def _reader() -> NameReader:
    from rag.translate import QueryExpander  # loads CC-CEDICT: only when a set is checked

    return QueryExpander()


def check_set(path: Path, reader: NameReader | None = None) -> tuple[int, dict[str, Tally]]:
    """(questions in the file, per check: questions it reads as asking, and those it would refuse)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    tallies = {name: Tally() for name in COLUMNS}
    reader = reader or _reader()
    total = 0
    for article in data:
        paragraphs = article["paragraphs"]
        doc_freq = Counter(t for para in paragraphs for t in set(tokenize(para["context"])))
        lowercase = lowercase_words("\n".join(para["context"] for para in paragraphs))
        han = to_simplified(normalize("\n".join(para["context"] for para in paragraphs)))  # a Chinese word in any token
        for i, para in enumerate(paragraphs):
            context = para["context"]
            before = paragraphs[i - 1]["context"][-SUBJECT_CONTEXT:] if i else ""
            for qa in para["qas"]:
                total += 1
                if not qa.get("answers"):
                    continue
                question, answer = qa["question"].strip(), qa["answers"][0]
                sentence = answer_sentence(context, int(answer["answer_start"]), len(answer["text"]))
                checks = answer_checks(question)
                for kind, gives in checks:
                    _count(tallies[CHECKS[kind]], gives(sentence, context), question, answer["text"], sentence)
                if any(kind != "name" for kind, _ in checks):
                    groups = subject_groups(question, reader, doc_freq, GENERIC_SHARE * len(paragraphs), lowercase)
                    if groups:
                        covered = names_covered(groups, f"{article.get('title', '')}\n{before}\n{context}")
                        _count(tallies["subject"], covered, question, answer["text"], sentence)
                if any(kind == "amount" for kind, _ in checks) and (counted := counted_groups(question, reader)):
                    _count(tallies["counted"], counted_named(counted, doc_freq, han), question, answer["text"],
                           sentence)
    return total, tallies


def _count(tally: Tally, answered: bool, question: str, answer: str, sentence: str) -> None:
    tally.asked += 1
    if not answered:
        tally.refused += 1
        if len(tally.examples) < EXAMPLES:
            tally.examples.append({"question": question, "answer": answer, "sentence": sentence})


def run(data_dir: Path, sets: Sequence[str]) -> dict[str, object]:
    rows = []
    reader = _reader()
    for name in sets:
        rel, label = SETS[name]
        total, tallies = check_set(data_dir / rel, reader)
        rows.append({"set": label, "questions": total,
                     "checks": {c: {"asked": t.asked, "refused": t.refused, "examples": t.examples}
                                for c, t in tallies.items()}})
    return {"command": "python -m eval.answer_checks " + shlex.join(sys.argv[1:]), "sets": rows}


def markdown(report: dict[str, object]) -> str:
    rows = report["sets"]
    assert isinstance(rows, list)
    head = "| set | questions | " + " | ".join(f"{c}: asked / wrongly refused" for c in COLUMNS) + " |"
    lines = [f"Command: `{report['command']}`", "", head, "|---|---:|" + "---:|" * len(COLUMNS)]
    for r in rows:
        cells = [f"{r['checks'][c]['asked']} / {r['checks'][c]['refused']}" for c in COLUMNS]
        lines.append(f"| {r['set']} | {r['questions']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.answer_checks", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data (default ../shared/benchmarks)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "answer_checks", help="where to write the report")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)}")
    args = p.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        p.error(f"unknown set(s): {', '.join(unknown)}; choose from {', '.join(SETS)}")
    missing = [str(args.data / SETS[s][0]) for s in sets if not (args.data / SETS[s][0]).is_file()]
    if missing:
        p.error(f"benchmark file(s) not found: {', '.join(missing)}")
    report = run(args.data, sets)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "answer_checks.json", json.dumps(report, ensure_ascii=False, indent=2).encode())
    md = markdown(report)
    write_atomic(args.out / "answer_checks.md", md.encode())
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
