"""The answer-check audit: each public question against the sentence holding its own answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.answer_checks import SETS, answer_sentence, check_set, main
from eval.benchmarks import DEFAULT_DATA


def _squad(path: Path, context: str, qas: list[tuple[str, str]]) -> Path:
    """A one-paragraph SQuAD v1.1 file; each answer's start is its first place in the context."""
    rows = [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
            for i, (q, a) in enumerate(qas)]
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": rows}]}]}), encoding="utf-8")
    return path


def test_the_answer_sentence_is_the_one_holding_the_span() -> None:
    context = "Warsaw was rebuilt. In 1950 the Old Town was restored. Tourists came later."
    assert answer_sentence(context, context.index("1950"), 4) == "In 1950 the Old Town was restored."


def test_a_check_finding_nothing_in_the_answer_sentence_counts_as_a_wrong_refusal(tmp_path: Path) -> None:
    context = ("The festival is held every year on the Tuesday afternoon before the game. Seven hospitals joined, "
               "among them Mercy General. The fee is 40 dollars.")
    path = _squad(tmp_path / "set.json", context, [
        ("When is the festival held?", "the Tuesday afternoon"),  # a weekday: a date the check must read
        ("Which hospitals joined?", "Mercy General"),
        ("How much is the fee?", "40 dollars"),
        ("Why did they come?", "Seven hospitals"),  # asks for none of the four
    ])
    total, tallies = check_set(path)
    assert total == 4
    assert (tallies["name"].asked, tallies["name"].refused) == (1, 0)
    assert (tallies["money"].asked, tallies["money"].refused) == (1, 0)
    assert (tallies["figure"].asked, tallies["figure"].refused) == (1, 0)
    assert (tallies["date"].asked, tallies["date"].refused) == (1, 0)
    # a question whose own sentence does not give what it asks for is counted, with the sentence to look at
    path = _squad(tmp_path / "miss.json", "In all, seven hospitals joined.", [("Which hospitals joined?", "seven")])
    _, tallies = check_set(path)
    assert (tallies["name"].asked, tallies["name"].refused) == (1, 1)
    assert tallies["name"].examples[0]["sentence"] == "In all, seven hospitals joined."


def test_the_command_writes_its_report_and_refuses_unknown_sets(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "squad").mkdir(parents=True)
    _squad(data / SETS["squad"][0], "Mercy General joined in 2019.", [("Which hospital joined?", "Mercy General")])
    assert main(["--data", str(data), "--out", str(tmp_path / "out"), "--sets", "squad"]) == 0
    report = json.loads((tmp_path / "out" / "answer_checks.json").read_text(encoding="utf-8"))
    assert report["sets"][0]["checks"]["name"] == {"asked": 1, "refused": 0, "examples": []}
    assert "| squad-minus-xquad en | 1 |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(data), "--sets", "nope"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--data", str(data), "--sets", "cmrc"])  # no such file under --data


@pytest.mark.parametrize("name", ["xquad_en", "xquad_zh"])
def test_no_check_wrongly_refuses_more_than_a_tenth_of_the_xquad_questions_it_reads(name: str) -> None:
    """A guard on the regexes: against their own answer sentences, XQuAD's questions are wrongly refused by the
    amount check 3 / 91 (en) and 7 / 114 (zh) times, by the name check 0 / 13 and 1 / 29, by the others never
    (2026-12-07). A change that reads many more questions as asking, or finds the answer in fewer sentences,
    shows here first."""
    path = DEFAULT_DATA / SETS[name][0]
    assert path.is_file(), f"missing {path}"
    _, tallies = check_set(path)
    for check, tally in tallies.items():
        if check in ("subject", "counted"):  # XQuAD's few paragraphs per article are too few to stand in for a
            continue  # corpus (what it is about, what it names): the SQuAD test below
        assert tally.refused <= max(2, tally.asked // 10), (check, tally.asked, tally.refused, tally.examples)
    assert tallies["figure"].asked > 50 and tallies["date"].asked > 40  # the question regexes still read them


def test_a_figure_question_naming_what_its_paragraph_never_names_counts_against_the_subject_check(
        tmp_path: Path) -> None:
    """A name counts as the article's subject, and is not asked of every paragraph, when it is in a fifth of them:
    here one paragraph of six names Mercy General."""
    context = "Mercy General opened in 2019. It has 300 beds."
    qas = [("How many beds does Mercy General have?", "300 beds"),  # named in its paragraph
           ("How many beds does St Olaf have?", "300 beds"),  # no paragraph names it
           ("How many beds are there?", "300 beds")]  # names nothing: not checked
    rows = [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
            for i, (q, a) in enumerate(qas)]
    others = [{"context": f"The town's {n} school was built of brick.", "qas": []}
              for n in ("first", "second", "third", "fourth", "fifth")]
    path = tmp_path / "set.json"
    article = {"title": "Town", "paragraphs": [{"context": context, "qas": rows}, *others]}
    path.write_text(json.dumps({"data": [article]}), encoding="utf-8")
    _, tallies = check_set(path)
    assert (tallies["subject"].asked, tallies["subject"].refused) == (2, 1)
    assert tallies["subject"].examples[0]["question"] == "How many beds does St Olaf have?"


def test_the_subject_and_counted_checks_wrongly_refuse_at_most_a_tenth_of_the_squad_questions_they_read() -> None:
    """Measured on SQuAD-minus-XQuAD, whose articles keep all their paragraphs: the subject check 49 of 842
    (2026-12-07), mostly a name the paragraph writes otherwise ("TV" for its "commercial", "San Francisco" for "the
    Bay Area"); the counted check 10 of 447 (2026-12-08: "contestants", "siblings" the article never names, and
    misspellings). XQuAD keeps a few paragraphs per article, too few to stand in for a corpus, and is left to the
    guard above."""
    path = DEFAULT_DATA / SETS["squad"][0]
    assert path.is_file(), f"missing {path}"
    _, tallies = check_set(path)
    for check in ("subject", "counted"):
        tally = tallies[check]
        assert tally.asked > 400 and tally.refused <= tally.asked // 10, (check, tally.refused, tally.examples)


def test_a_count_of_what_no_paragraph_of_its_article_names_counts_against_the_counted_check(tmp_path: Path) -> None:
    """The article stands in for the corpus: beds are named, ambulances are not; "times" is a measure word, not a
    counted thing."""
    path = _squad(tmp_path / "set.json", "Mercy General opened in 2019. It has 300 beds and 2 wings.", [
        ("How many beds does Mercy General have?", "300 beds"),
        ("How many ambulances does Mercy General have?", "2"),
        ("How many times was Mercy General rebuilt?", "2"),
    ])
    _, tallies = check_set(path)
    assert (tallies["counted"].asked, tallies["counted"].refused) == (2, 1)
    assert tallies["counted"].examples[0]["question"] == "How many ambulances does Mercy General have?"
