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


def test_a_word_with_a_possessive_or_contraction_is_corrected_but_not_its_clitic() -> None:
    speller = Speller(VOCAB)
    text, fixes = speller.correct("What is Nvidai’s view of radiolgists' shortgae?")
    assert text == "What is Nvidia’s view of radiologists' shortage?"
    assert [c.fix for c in fixes] == ["Nvidia", "radiologists", "shortage"]
    for question in ("Does O'Neill's devise work?", "They don’t, won’t and can’t."):  # names and negations as typed
        assert speller.correct(question) == (question, []), question


def test_of_the_closest_corpus_words_one_with_the_typed_first_letter_wins() -> None:
    """XQuAD's "Beriods" is one edit from "periods" and from "beroids" (a swap): the more frequent word used to
    win, though first letters are rarely mistyped."""
    speller = Speller({**VOCAB, "periods": 50, "beroids": 3})
    assert speller.correct("What do beriods use as teeth?")[0] == "What do beroids use as teeth?"
    assert speller.correct("Beriods将什么用作牙齿？")[0] == "Beroids将什么用作牙齿？"
    assert speller.correct("Which periodz?")[0] == "Which periods?"  # one candidate: the frequency is moot


def test_a_word_with_a_capital_inside_is_a_name_as_typed() -> None:
    """XQuAD's "BSkyB" (indexed as "b" "sky" "b", split at its capitals) was corrected to "Bsky"."""
    speller = Speller({**VOCAB, "bsky": 4, "flytek": 2})
    for question in ("When did BSkyB announce it?", "BSkyB的体育内容包括什么？", "Does iFlytek sell to hospitals?"):
        assert speller.correct(question) == (question, []), question
    assert speller.correct("When did Bskyb announce it?")[0] == "When did Bsky announce it?"  # one capital: a typo


def test_the_engine_searches_the_corrected_question(engine: Engine) -> None:
    typed = engine.search("How many AI-enabled medical devicse has the FDA cleared?", 5)
    clean = engine.search("How many AI-enabled medical devices has the FDA cleared?", 5)
    assert [(c.word, c.fix) for c in typed.corrections] == [("devicse", "devices")]
    assert typed.question == clean.question and [h.row for h in typed.hits] == [h.row for h in clean.hits]
    assert clean.corrections == []


def test_a_name_typed_run_together_is_split_into_the_corpus_words_it_was_indexed_as() -> None:
    """The reports' "ChatGPT" and "DeepSeek" are indexed split at the capital; typed in lower case they are one
    word no passage has."""
    speller = Speller({**VOCAB, "chat": 4, "gpt": 6, "deep": 9, "seek": 2, "med": 3, "tech": 8})
    text, fixes = speller.correct("how many use chatgpt or deepseek?")
    assert text == "how many use chat gpt or deep seek?"
    assert [(c.word, c.fix) for c in fixes] == [("chatgpt", "chat gpt"), ("deepseek", "deep seek")]
    assert speller.correct("Is ChatGPT used?") == ("Is ChatGPT used?", [])  # split by its capitals already
    assert speller.correct("Did Deepseek say?") == ("Did Deepseek say?", [])  # capitalised: a name as typed
    assert speller.correct("what about deepfakes?") == ("what about deepfakes?", [])  # "fakes": no corpus word
    known = Speller({**VOCAB, "med": 3, "tech": 8}, known=frozenset({"medtech"}))
    assert known.correct("which medtech firms?") == ("which medtech firms?", [])  # a glossary word stays whole


def test_the_engine_finds_a_lower_case_run_together_name(engine: Engine) -> None:
    typed = engine.search("what share of medical questions goes through chatgpt?", 5)
    assert [(c.word, c.fix) for c in typed.corrections] == [("chatgpt", "chat gpt")]
    assert any("ChatGPT" in h.chunk.text for h in typed.hits)
    assert engine.search("which medtech companies use ai?", 5).corrections == []  # the glossary's word


def test_an_english_word_written_against_chinese_text_is_corrected_too() -> None:
    """Chinese questions embed Latin words without a space ("nvidai的调研"); a word boundary of `\\w` (which counts
    Han characters as word characters) never saw them."""
    speller = Speller({**VOCAB, "chat": 4, "gpt": 6})
    text, fixes = speller.correct("nvidai的调研说了什么？")
    assert text == "nvidia的调研说了什么？"
    assert [(c.word, c.fix, c.start, c.end) for c in fixes] == [("nvidai", "nvidia", 0, 6)]
    assert [(c.word, c.fix) for c in speller.corrections("chatgpt在医院里用得多吗？")] == [("chatgpt", "chat gpt")]
    assert speller.correct("COVID-19疫情和AI医疗器械") == ("COVID-19疫情和AI医疗器械", [])
