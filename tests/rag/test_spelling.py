from rag.engine import Engine
from rag.spelling import Speller

VOCAB = {"radiologists": 3, "shortage": 2, "imaging": 40, "clearance": 1, "devices": 30, "nvidia": 5}


def test_a_misspelt_word_becomes_the_corpus_word_with_offsets_and_case_kept() -> None:
    text, fixes = Speller(VOCAB).correct("Is there a shortgae of radiolgists? Nvidai says so.")
    assert text == "Is there a shortage of radiologists? Nvidia says so."
    assert [(c.word, c.fix) for c in fixes] == [("shortgae", "shortage"), ("radiolgists", "radiologists"),
                                                  ("Nvidai", "Nvidia")]
    question = "Is there a shortgae of radiolgists? Nvidai says so."
    assert all(question[c.start:c.end] == c.word for c in fixes)


def test_real_words_names_acronyms_and_chinese_stay_as_typed() -> None:
    speller = Speller(VOCAB)
    # "metformin" is not in the corpus but is a real word far from any corpus word; "devises" is a real English
    # word one edit from "devices"; "PMDA" is an acronym; short words are too ambiguous to correct.
    for question in ("Can I stop taking metformin?", "Who devises the rules?", "Has the PMDA approved any?",
                     "Any devs here?", "影像设备有哪些？", "Which deviecs-related rules?"):
        assert speller.correct(question) == (question, []), question
    assert speller.correct("Which imagign devices?")[0] == "Which imaging devices?"


def test_the_engine_searches_the_corrected_question(engine: Engine) -> None:
    typed = engine.search("How many AI-enabled medical devicse has the FDA cleared?", 5)
    clean = engine.search("How many AI-enabled medical devices has the FDA cleared?", 5)
    assert [(c.word, c.fix) for c in typed.corrections] == [("devicse", "devices")]
    assert typed.question == clean.question and [h.row for h in typed.hits] == [h.row for h in clean.hits]
    assert clean.corrections == []
