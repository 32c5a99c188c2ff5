"""Sanity checks for the gold evaluation set in eval/gold/*.jsonl.

Every answerable row must cite exact substrings of the shipped corpus (corpus/<doc_id>.txt), so
that retrieval and extractive answers can be scored against it. Uses only the standard library
and pytest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLD_DIR = REPO_ROOT / "eval" / "gold"
CORPUS_DIR = REPO_ROOT / "corpus"

LANGUAGES = {"en", "zh"}
KINDS = {"same_language", "cross_lingual", "patient", "table", "comparison", "out_of_scope"}
ANSWERABLE_KINDS = KINDS - {"out_of_scope"}
ID_PREFIX = {
    "same_language": "sl-",
    "cross_lingual": "xl-",
    "patient": "pt-",
    "table": "tb-",
    "comparison": "cp-",
    "out_of_scope": "oos-",
}
REQUIRED_FIELDS: dict[str, type] = {
    "id": str,
    "question": str,
    "language": str,
    "kind": str,
    "answers": list,
    "evidence": list,
}
# Minimum number of rows per (kind, language); None = both languages together.
MIN_COUNTS: dict[tuple[str, str | None], int] = {
    ("same_language", "en"): 25,
    ("same_language", "zh"): 25,
    ("cross_lingual", "en"): 20,
    ("cross_lingual", "zh"): 20,
    ("patient", None): 15,
    ("table", None): 15,
    ("comparison", None): 10,
    ("out_of_scope", None): 25,
}
# Kinds that must have questions in both languages, with at least this many per language.
MIN_PER_LANGUAGE = {"patient": 5, "table": 5, "comparison": 3, "out_of_scope": 10}
MIN_TOTAL = 170
QUOTE_MIN_CHARS, QUOTE_MAX_CHARS = 20, 200

# Han ideographs (incl. extension A and compatibility), CJK punctuation, kana, fullwidth forms.
_CJK_RE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    """True if the text contains CJK characters (used to tell Chinese text from English)."""
    return bool(_CJK_RE.search(text))


def text_language(text: str) -> str:
    return "zh" if has_cjk(text) else "en"


def _load_rows(directory: Path = GOLD_DIR) -> list[tuple[str, int, dict[str, Any]]]:
    rows: list[tuple[str, int, dict[str, Any]]] = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                rows.append((path.name, lineno, json.loads(line)))
    return rows


ROWS = _load_rows()
# eval/heldout: the same schema, checked by the same per-row tests; never used to tune or calibrate (its README).
HELDOUT_DIR = REPO_ROOT / "eval" / "heldout"
HELDOUT = _load_rows(HELDOUT_DIR)
# eval/heldout_patient: plain-language patient questions, held out the same way (its README).
PATIENT_DIR = REPO_ROOT / "eval" / "heldout_patient"
PATIENT = _load_rows(PATIENT_DIR)
# eval/dev: a development set written blind from the reports; may steer decisions (its README).
DEV_DIR = REPO_ROOT / "eval" / "dev"
DEV = _load_rows(DEV_DIR)
ALL_ROWS = ROWS + HELDOUT + PATIENT + DEV
ANSWERABLE = [r for _, _, r in ALL_ROWS if r.get("kind") in ANSWERABLE_KINDS]


def _row_id(row: dict[str, Any]) -> str:
    return str(row.get("id", "?"))


_corpus_cache: dict[str, str] = {}


def corpus_text(doc_id: str) -> str:
    if doc_id not in _corpus_cache:
        path = CORPUS_DIR / f"{doc_id}.txt"
        if not path.is_file():
            pytest.fail(f"corpus document not found: {path}")
        _corpus_cache[doc_id] = path.read_text(encoding="utf-8")
    return _corpus_cache[doc_id]


def test_gold_files_exist() -> None:
    assert GOLD_DIR.is_dir(), f"missing {GOLD_DIR}"
    assert list(GOLD_DIR.glob("*.jsonl")), f"no *.jsonl files in {GOLD_DIR}"
    assert ROWS, "gold set is empty"


def test_corpus_dir_exists() -> None:
    assert CORPUS_DIR.is_dir(), f"missing corpus directory {CORPUS_DIR}"


def test_fields_and_types() -> None:
    problems: list[str] = []
    for fname, lineno, row in ALL_ROWS:
        where = f"{fname}:{lineno} ({_row_id(row)})"
        row_problems: list[str] = []
        for field, typ in REQUIRED_FIELDS.items():
            if field not in row:
                row_problems.append(f"{where}: missing field {field!r}")
            elif not isinstance(row[field], typ):
                row_problems.append(f"{where}: field {field!r} should be {typ.__name__}")
        if row_problems:
            problems.extend(row_problems)
            continue
        if not row["id"].strip() or not row["question"].strip():
            problems.append(f"{where}: empty id or question")
        if not all(isinstance(a, str) and a.strip() for a in row["answers"]):
            problems.append(f"{where}: answers must be non-empty strings")
        for ev in row["evidence"]:
            if not (isinstance(ev, dict) and isinstance(ev.get("doc_id"), str) and isinstance(ev.get("quote"), str)):
                problems.append(f"{where}: evidence entries need string doc_id and quote")
    assert not problems, "\n".join(problems)


def test_ids_unique_and_prefixed() -> None:
    counts = Counter(_row_id(r) for _, _, r in ALL_ROWS)
    dups = sorted(i for i, n in counts.items() if n > 1)
    assert not dups, f"duplicate ids: {dups}"
    bad = [_row_id(r) for _, _, r in ROWS if not _row_id(r).startswith(ID_PREFIX.get(str(r.get("kind")), "\0"))]
    bad += [_row_id(r) for _, _, r in HELDOUT
            if not _row_id(r).startswith("ho-" + ID_PREFIX.get(str(r.get("kind")), "\0"))]
    bad += [_row_id(r) for _, _, r in PATIENT
            if not _row_id(r).startswith("hp-" + ID_PREFIX.get(str(r.get("kind")), "\0"))]
    bad += [_row_id(r) for _, _, r in DEV
            if not _row_id(r).startswith("dv-" + ID_PREFIX.get(str(r.get("kind")), "\0"))]
    assert not bad, f"ids not prefixed by their kind: {bad}"


def test_heldout_set_asks_other_questions() -> None:
    assert len(HELDOUT) >= 50, "eval/heldout needs its 50 rows"
    gold = {str(r["question"]).strip() for _, _, r in ROWS}
    same = [_row_id(r) for _, _, r in HELDOUT if str(r["question"]).strip() in gold]
    assert not same, f"held-out rows repeat gold questions: {same}"
    kinds = Counter(r["kind"] for _, _, r in HELDOUT)
    assert set(kinds) == KINDS, f"held-out set lacks kinds: {KINDS - set(kinds)}"


def test_patient_set_is_plain_language_questions_asked_nowhere_else() -> None:
    kinds = Counter((r["kind"], r["language"]) for _, _, r in PATIENT)
    assert kinds == {("patient", "en"): 20, ("patient", "zh"): 20, ("out_of_scope", "en"): 5, ("out_of_scope", "zh"): 5}
    earlier = {str(r["question"]).strip() for _, _, r in ROWS + HELDOUT}
    assert not [_row_id(r) for _, _, r in PATIENT if str(r["question"]).strip() in earlier]
    # a sixth or more are answered only in the other language's text, as a patient's question often is
    crossing = [r for _, _, r in PATIENT if r["kind"] == "patient"
                and all(text_language(ev["quote"]) != r["language"] for ev in r["evidence"])]
    assert len(crossing) >= 10


def test_language_and_kind_values() -> None:
    bad_lang = [_row_id(r) for _, _, r in ALL_ROWS if r.get("language") not in LANGUAGES]
    bad_kind = [_row_id(r) for _, _, r in ALL_ROWS if r.get("kind") not in KINDS]
    assert not bad_lang, f"language must be one of {sorted(LANGUAGES)}: {bad_lang}"
    assert not bad_kind, f"kind must be one of {sorted(KINDS)}: {bad_kind}"


def test_language_matches_question_text() -> None:
    bad = [_row_id(r) for _, _, r in ALL_ROWS if text_language(str(r.get("question", ""))) != r.get("language")]
    assert not bad, f"language field disagrees with the question's script: {bad}"


def test_counts_meet_minimums() -> None:
    by_kind_lang = Counter((r.get("kind"), r.get("language")) for _, _, r in ROWS)
    by_kind = Counter(r.get("kind") for _, _, r in ROWS)
    problems: list[str] = []
    for (kind, lang), minimum in MIN_COUNTS.items():
        n = by_kind[kind] if lang is None else by_kind_lang[(kind, lang)]
        if n < minimum:
            problems.append(f"{kind}/{lang or 'all'}: {n} < {minimum}")
    for kind, minimum in MIN_PER_LANGUAGE.items():
        for lang in sorted(LANGUAGES):
            if by_kind_lang[(kind, lang)] < minimum:
                problems.append(f"{kind}/{lang}: {by_kind_lang[(kind, lang)]} < {minimum} (needs both languages)")
    if len(ROWS) < MIN_TOTAL:
        problems.append(f"total rows {len(ROWS)} < {MIN_TOTAL}")
    assert not problems, "\n".join(problems)


def test_out_of_scope_rows_have_no_evidence() -> None:
    bad = [_row_id(r) for _, _, r in ALL_ROWS
           if r.get("kind") == "out_of_scope" and (r.get("evidence") or r.get("answers"))]
    assert not bad, f"out_of_scope rows must have empty evidence and answers: {bad}"


@pytest.mark.parametrize("row", ANSWERABLE, ids=_row_id)
def test_answerable_row_evidence(row: dict[str, Any]) -> None:
    evidence = row["evidence"]
    assert evidence, "answerable rows need evidence"
    assert row["answers"], "answerable rows need at least one acceptable answer"
    for ev in evidence:
        quote = ev["quote"]
        assert QUOTE_MIN_CHARS <= len(quote) <= QUOTE_MAX_CHARS, f"quote length {len(quote)}: {quote!r}"
        assert quote in corpus_text(ev["doc_id"]), f"quote not found in {ev['doc_id']}: {quote!r}"
    joined = "\n".join(ev["quote"] for ev in evidence)
    assert any(a in joined for a in row["answers"]), f"no answer string occurs in the evidence: {row['answers']}"


@pytest.mark.parametrize("row", [r for r in ANSWERABLE if r["kind"] == "comparison"], ids=_row_id)
def test_comparison_rows_cite_two_passages(row: dict[str, Any]) -> None:
    quotes = [(ev["doc_id"], ev["quote"]) for ev in row["evidence"]]
    assert len(set(quotes)) >= 2, "comparison rows need two distinct evidence passages"


@pytest.mark.parametrize("row", [r for r in ANSWERABLE if r["kind"] == "cross_lingual"], ids=_row_id)
def test_cross_lingual_evidence_in_other_language(row: dict[str, Any]) -> None:
    for ev in row["evidence"]:
        assert text_language(ev["quote"]) != row["language"], (
            f"cross_lingual evidence must be in the other language: {ev['quote']!r}"
        )


@pytest.mark.parametrize("row", [r for r in ANSWERABLE if r["kind"] == "same_language"], ids=_row_id)
def test_same_language_evidence_in_same_language(row: dict[str, Any]) -> None:
    for ev in row["evidence"]:
        assert text_language(ev["quote"]) == row["language"], (
            f"same_language evidence must be in the question's language: {ev['quote']!r}"
        )


ROWS_WITH_ALSO = [r for r in ANSWERABLE if any(ev.get("also") for ev in r["evidence"])]


@pytest.mark.parametrize("row", ROWS_WITH_ALSO, ids=_row_id)
def test_also_quotes_state_the_fact_elsewhere_in_the_same_language(row: dict[str, Any]) -> None:
    """`also`: other places stating an evidence entry's fact. Each is an exact corpus substring in the entry's own
    language (so cross-lingual rows stay cross-lingual), holds an answer string, and is not the entry's own place."""
    for ev in row["evidence"]:
        own = corpus_text(ev["doc_id"]).find(ev["quote"])
        for alt in ev.get("also", []):
            assert isinstance(alt.get("doc_id"), str) and isinstance(alt.get("quote"), str)
            quote, text = alt["quote"], corpus_text(alt["doc_id"])
            assert QUOTE_MIN_CHARS // 2 <= len(quote) <= QUOTE_MAX_CHARS, f"quote length {len(quote)}: {quote!r}"
            assert quote in text, f"quote not found in {alt['doc_id']}: {quote!r}"
            assert text_language(quote) == text_language(ev["quote"]), f"not in the evidence's language: {quote!r}"
            assert any(a in quote for a in row["answers"]), f"no answer string in {quote!r}"
            start = text.find(quote)
            same_place = alt["doc_id"] == ev["doc_id"] and start < own + len(ev["quote"]) and own < start + len(quote)
            assert not same_place and quote != ev["quote"], f"the evidence quote itself: {quote!r}"
