import json
import random
import subprocess
import sys
from pathlib import Path

from symspellpy.editdistance import DistanceAlgorithm, EditDistance

from eval.gold import GOLD_DIR, load_gold
from eval.typos import misspell


def _edits(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (what one typo is): SymSpell's Damerau OSA."""
    return int(EditDistance(DistanceAlgorithm.DAMERAU_OSA).compare(a, b, 5))


def test_one_long_word_gets_one_typo_and_short_or_capitalised_words_none() -> None:
    rng = random.Random(0)
    for question in ("How many medical devices has the FDA cleared?", "Which hospitals joined the initiative?"):
        typed = misspell(question, rng)
        changed = [(a, b) for a, b in zip(question.split(), typed.split(), strict=True) if a != b]
        assert len(changed) == 1 and len(changed[0][0]) >= 6 and _edits(*changed[0]) == 1, typed
    assert misspell("Is AI used by NVIDIA now?", rng) == "Is AI used by NVIDIA now?"


def test_the_misspelt_copy_keeps_the_english_rows_and_loads_as_gold(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "eval.typos", str(tmp_path), "--seed", "3"], check=True,
                   capture_output=True)
    english = [r for r in load_gold(GOLD_DIR) if r.language == "en"]
    copy = {r.id: r for r in load_gold(tmp_path)}
    assert set(copy) == {r.id for r in english}
    assert sum(copy[r.id].question != r.question for r in english) >= 0.9 * len(english)
    assert all(copy[r.id].evidence == r.evidence for r in english)
    first = (tmp_path / "same_language.jsonl").read_text(encoding="utf-8")
    again = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "eval.typos", str(again), "--seed", "3"], check=True, capture_output=True)
    assert (again / "same_language.jsonl").read_text(encoding="utf-8") == first  # seeded: the same copy
    assert json.loads(first.splitlines()[0])["language"] == "en"


def test_the_lower_case_copy_lower_cases_every_english_question(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "eval.typos", str(tmp_path), "--lower"], check=True, capture_output=True)
    english = {r.id: r for r in load_gold(GOLD_DIR) if r.language == "en"}
    copy = load_gold(tmp_path)
    assert {r.id for r in copy} == set(english)
    assert all(r.question == english[r.id].question.lower() and r.evidence == english[r.id].evidence for r in copy)
