"""Spelling correction of English question words against the corpus's own vocabulary.

A patient types "radiolgists": the word is in no report, so BM25 and the dictionary translation miss it, and the
abstention model counts it as a term the reports never mention ("unknown") and leans towards refusing. A word is
corrected only when it is neither a corpus word nor a common English word (SymSpell's 82,765-word frequency
list), and some corpus word lies within one edit (two for words of nine letters or more); the closest wins, then
one that keeps the typed first letter, then the most frequent. Names and terms the reports never use
("metformin", "PMDA") stay as typed, so a question about them is still recognised as out of scope, and so do
words with a capital inside ("BSkyB", "iFlytek"): the tokenizer splits them as it split the corpus's own
spelling, and "BSkyB" had become "Bsky". Chinese text is left alone.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Mapping
from dataclasses import dataclass

from symspellpy import SymSpell, Verbosity

MIN_LENGTH = 5  # shorter words have too many neighbours one edit away
LONG_WORD = 9  # from this length on, two edits are allowed
# A plain word: no digits, not part of "COVID-19". Bounded by ASCII only, so a word written against Chinese text
# ("nvidai的调研", "chatgpt在医院") is still a word.
# A possessive or contraction's word is one ("Whta’s" → "What’s"); "O'Neill" and "don't" are not, nor is part of
# a word with an accented letter ("Beyoncé" is not "Beyonc" + "é").
_WORD_RE = re.compile(r"(?<![A-Za-z0-9_'’‘ʼ\u00c0-\u024f-])[A-Za-z]+(?![A-Za-z0-9_\u00c0-\u024f-])"
                      r"(?!['’‘ʼ](?!(?:s|m|d|re|ve|ll)\b)[A-Za-z])")


@dataclass(frozen=True)
class Correction:
    word: str  # as typed
    fix: str  # the corpus word in the typed word's case style, or two corpus words ("chat gpt") for a split
    start: int  # offsets in the question
    end: int


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """SymSpell's English frequency list: words that are spelled right even if no report uses them."""
    text = importlib.resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text("utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


class Speller:
    """Corrects a question's English words to corpus words; built from a snapshot's BM25 document frequencies."""

    def __init__(self, doc_freq: Mapping[str, int], known: frozenset[str] = frozenset()) -> None:
        """`known`: further words spelled right (the glossary's: "medtech", indexed as "med" "tech" from "MedTech",
        must stay whole to be translated)."""
        self.vocabulary = {w: n for w, n in doc_freq.items() if w.isascii() and w.isalpha() and len(w) >= 3}
        self._english = english_words() | known  # loaded here, so the engine's warm-up pays, not a first question
        self._sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in self.vocabulary.items():
            self._sym.create_dictionary_entry(word, count)

    def corrections(self, question: str) -> list[Correction]:
        out = []
        for m in _WORD_RE.finditer(question):
            word = m.group(0)
            low = word.lower()
            if (len(low) < MIN_LENGTH or word.isupper() or low in self.vocabulary or low in self._english
                    or any(ch.isupper() for ch in word[1:])):
                continue  # a capital inside a word ("BSkyB", "iFlytek") marks a name typed with care
            distance = 2 if len(low) >= LONG_WORD else 1
            # never `low`: not in vocabulary. Of the closest, one with the typed first letter wins, then the most
            # frequent: first letters are rarely mistyped, and XQuAD's "Beriods" (beroids) had become "Periods".
            found = self._sym.lookup(low, Verbosity.CLOSEST, max_edit_distance=distance)
            if found:
                term = max(found, key=lambda s: (s.term[0] == low[0], s.count)).term
                fix = term.capitalize() if word[:1].isupper() else term
                out.append(Correction(word, fix, m.start(), m.end()))
            elif word.islower() and (split := self._split(word)):  # "Bannow", capitalised, is a name as typed
                out.append(Correction(word, split, m.start(), m.end()))
        return out

    def _split(self, word: str) -> str | None:
        """Two corpus words a run-together word is made of ("chatgpt" → "chat gpt"): the reports' "ChatGPT" is
        indexed as two tokens, split at its capital, and a name typed in lower case has none. The split whose
        rarer half is the most frequent wins; None when no split has two corpus words (of three letters or more:
        the shortest the vocabulary keeps)."""
        splits = [(min(self.vocabulary[word[:i]], self.vocabulary[word[i:]]), word[:i] + " " + word[i:])
                  for i in range(3, len(word) - 2) if word[:i] in self.vocabulary and word[i:] in self.vocabulary]
        return max(splits)[1] if splits else None

    def correct(self, question: str) -> tuple[str, list[Correction]]:
        """The question with its misspelt words replaced, and the corrections made."""
        fixes = self.corrections(question)
        for c in reversed(fixes):
            question = question[:c.start] + c.fix + question[c.end:]
        return question, fixes
