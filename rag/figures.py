"""Does the answer give the figure, date or name a question asks for?

A question that asks for an amount ("How many…", "What percentage…", "多少…") about a subject the reports cover
reads like an answerable one to every abstention signal, which measure how well the passages match the question.
When no sentence the answer would quote holds a figure, the reports discuss the subject without giving the amount
(a market study's sample that prints "US$ XX billion", a rate for one year when another is asked), and quoting
those sentences would be a guess. The same holds for a date ("When do the EU AI Act's obligations start
applying…?" answered with a sentence that the Act classes medical AI as high-risk), for a price or fee, which only
a sum of money answers, not a clock time or a duration, for how long something takes, which a count does not
answer, and for a question asking which hospitals, countries or companies, which only names answer ("with seven
participating hospitals" does not). Only the question's own figures, dates and names are set aside: "from 2025 to
2030" in the question is no answer to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Literal, Protocol

from rag.abstain import _EN_NAME_RE, UNINFORMATIVE_NAMES, entity_terms
from rag.text import _EN_STOPWORDS, normalize, plural, pos_tagger, singular, to_simplified, tokenize

# Narrower than rag/answer.py's QUANTITY_QUESTION, which only weights sentences: a word like "cost" or "rate"
# names an amount there, but "What are the cost benefits?" asks for no figure. 哪几 is "which", not "how many".
# Vague amounts answer an amount question too ("vast areas", "很多次"); measured with and without them
# (docs/experiments.md).
VAGUE_EN = "|several|many|numerous|few|most|majority|vast"
VAGUE_ZH = "|很多|许多|大量|大片|大批|多数|少数|数十|数百|数千|数万|上百|上千|上万|几十|几百|几千|几万"
AMOUNT_QUESTION = re.compile(
    r"\bhow (?:many|much|long|big|large|fast|often)\b"
    r"|\b(?:what|which|by what)(?: exact)? (?:percentage|percent|share|proportion|fraction|number|size|amount|cagr)\b"
    r"|多少|(?<!哪)几(?=[个家名位项种类年月天周倍成次亿万千百十%])|多大|多长|多久|多快|百分之几|比例|占比",
    re.IGNORECASE)
# A year is a date, not an amount, when a date word or punctuation follows it ("in 2024 and 2025,", "2025年") or
# it opens a name ("2025WAIC"); "attended by 2000 guests" is an amount.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_DATE_AFTER = re.compile(r"\s*(?:$|[^\w\s]|(?:and|to|or|through|until|onwards?)\b|[年财至到])|[a-z]", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d")
# Amounts written in words. "one" and 一 are left out: mostly "one of", "one-stop", 一个, 统一; but not before a unit
# of time, a fraction or a scale ("one week", "one-quarter", "one hundred", "一个月", "一年左右"), nor "a single".
# A scale word alone counts only as a vague amount ("hundreds of thousands"): "US$ XX billion" gives none.
_UNITS_EN = r"(?:day|week|month|year|hour|minute|second|quarter|third|half|hundred|thousand|million|billion|dozen)s?"
_EN_NUMBER_WORDS = re.compile(
    r"\b(?:none|zero|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds|thousands|millions|"
    r"billions|dozens|half|halved|double[ds]?|doubling|triple[ds]?|tripling|twice|thrice|quadrupled?|"
    rf"one[ -]{_UNITS_EN}|a single" + VAGUE_EN + r")\b", re.IGNORECASE)
# Chinese numerals, after the words in which they are no amount: 十分 "very", 万一 "in case", 百姓 "the public",
# ordinals (第二) and grades or kinds (三维 "3D", 三甲 "top-grade", 二级, 三期 "phase III", 三类 "class III")
_ZH_NOT_NUMBERS = re.compile(r"十分|万一|千万|百姓|百货|万物|千方百计|第[〇零一两二三四五六七八九十百千]+"
                             r"|[一二三四五六七八九十]+[维甲级期类线]")
_ZH_NUMBER_WORDS = re.compile(r"[〇零两二三四五六七八九十百千万亿]+|百分之|一半|半数|过半|翻[了一两]*[番倍]"
                              r"|一(?=个?(?:年|月|周|星期|天|日|小时|分钟|秒|倍|成))" + VAGUE_ZH)


# A question asking for a date. "when" only as the question word, before its verb: "How many seconds were left
# when the Broncos…" and "What should I look for when picking a clinic?" ask for no date (XQuAD, held-out).
DATE_QUESTION = re.compile(
    r"\bwhen (?:did|do|does|was|were|is|are|will|would|has|have|had|can|could|should)\b"
    r"|\b(?:what|which|in what|in which) (?:year|date|month)\b|哪一?年|何时|什么时候|几月|哪一?天|几号", re.IGNORECASE)
_MONTHS = "january|february|march|april|june|july|august|september|october|november|december"  # not "may"
_ORDINALS = ("first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
             "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first")
# Dates the public sets answer "when" with besides years and months: weekdays, seasons, centuries ("the 14th to 17th
# centuries", "late 14th-century"), era years ("AD 14", "430 BC"), clock times, decades in words; 世纪, 年代 (also
# spaced, "20 世纪 90 年代"), eras (江户时代), weekdays, seasons, festivals and times of day. Without them the check
# refused 62 of SQuAD-minus-XQuAD's 848 and 15 of CMRC's 234 "when" questions against their own answer sentences
# (`python -m eval.answer_checks`, docs/experiments.md).
_DATE_WORDS = re.compile(
    rf"\b(?:{_MONTHS}|may \d{{1,2}}|\d0s|ago|yesterday|today|tomorrow|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekends?|spring|summer|autumn|winter|"
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINALS})(?:[ -]centur(?:y|ies)|\s+(?:and|to|or)\s+\S+\s+centuries)|"
    r"(?:ad|bc|bce|ce)\s?\d{1,4}|\d{1,4}\s?(?:ad|bc|bce|ce|yr bp|bp)|\d{1,2}(?::\d\d)?\s?[ap]\.?m\b\.?|\d{1,2}:\d\d|"
    r"(?:early |mid-?|late )?(?:twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)|"
    r"(?:next|last|this|that|the same|the following) (?:year|month|week|day|spring|summer|autumn|fall|winter)|"
    r"recently|currently)\b"
    r"|[\d〇零一二两三四五六七八九十百千万亿]+\s?(?:年|月|日|号|世纪)|今年|去年|明年|前年|近年|年初|年底|年末|年中|上半年|下半年|季度"
    r"|上个月|下个月|目前|现在|当时|如今|时代|时期|年间|朝代|王朝|星期[一二三四五六日天]|礼拜[一二三四五六日天]|周[一二三四五六日末]"
    r"|[初早晚深暮盛][春夏秋冬]|[春夏秋冬](?:季|天)|春节|中秋|元旦|除夕|\d{1,2}[:：]\d\d|\d{1,2}\s?[点时](?:\d{1,2}分)?"
    r"|凌晨|清晨|早上|上午|中午|下午|傍晚|晚上|夜间|夜里",
    re.IGNORECASE)
_ANY_YEAR = re.compile(r"(?<![\d.,])(?:1\d|20)\d\d(?![\d%]|[.,]\d)")


def asks_for_amount(question: str) -> bool:
    return AMOUNT_QUESTION.search(normalize(question)) is not None


def _numbers(text: str) -> list[tuple[str, bool]]:
    """Each number in `text` and whether it reads as a year (a date, not an amount)."""
    return [(m.group(0), bool(_YEAR.fullmatch(m.group(0))) and _DATE_AFTER.match(text, m.end()) is not None)
            for m in _NUMBER.finditer(text)]


def asks_for_date(question: str) -> bool:
    return DATE_QUESTION.search(normalize(question)) is not None


def gives_date(sentence: str, question: str) -> bool:
    """Whether `sentence` states a date that `question` does not already hold: a year, a month, a decade or
    century, a relative date ("last year", "去年")."""
    sentence, question = normalize(sentence), normalize(question)
    asked = set(_ANY_YEAR.findall(question)) | {m.group(0) for m in _DATE_WORDS.finditer(question)}
    return any(y not in asked for y in _ANY_YEAR.findall(sentence)) or any(
        m.group(0) not in asked for m in _DATE_WORDS.finditer(sentence))


def years(text: str) -> set[str]:
    """The years 1900-2099 `text` names ("2025", "2025财年", "FY2025", "from 2025 to 2030"); not 1500 or 2.5%."""
    return {y for y in _ANY_YEAR.findall(normalize(text)) if _YEAR.fullmatch(y)}


def gives_figure(sentence: str, question: str, passage: str = "") -> bool:
    """Whether `sentence` states an amount that `question` does not already hold: a number other than a year, or
    a number word ("doubled", "两倍", "dozens").

    When the question names a year ("…revenue in fiscal 2026", "2025年…规模"), the amount counts only if the sentence
    or its `passage` names one of those years too: a figure for another year (the reports' 2028 forecast for a 2025
    question) is no answer to it. Gold out of scope refused 0.900 → 0.933 with no answerable question refused
    more, near misses 0.173 → 0.192 (docs/experiments.md).
    """
    asked_years = years(question)
    if asked_years and not asked_years & years(sentence) and not asked_years & years(passage):
        return False
    sentence, question = to_simplified(normalize(sentence)), to_simplified(normalize(question))  # 兩個 is 两个
    asked = {n for n, _ in _numbers(question)}
    if any(not year and n not in asked for n, year in _numbers(sentence)):
        return True
    asked_words = set(re.findall(r"[a-z]+", question.lower()))
    if any(m.group(0).lower() not in asked_words for m in _EN_NUMBER_WORDS.finditer(sentence)):
        return True
    return any(w not in question for w in _ZH_NUMBER_WORDS.findall(_ZH_NOT_NUMBERS.sub("", sentence)))


# A question asking what something costs: its answer is a sum of money, not any number (a question on Meituan's
# delivery fee was answered with "晚上10点" and a title's "2026"; docs/experiments.md). Only where the amount asked is
# the money itself: "how much" with a money word, "the cost/price/fee of", 多少钱, a fee or price 多少; not "What
# percentage of patients pay…" or 消费者占多少.
_EN_MONEY = (r"costs?|costing|price[sd]?|pricing|fees?|charge[sd]?|charging|pay|pays|paid|paying|spend|spends|spent|"
             r"spending|money|expensive")
MONEY_QUESTION = re.compile(
    rf"\bhow much\b(?!\s+(?:time|longer|shorter|faster|sooner|effort|more time|less time)\b)"
    rf"(?=[^?]*\b(?:{_EN_MONEY})\b)"
    r"|\bwhat (?:is|are|was|were|will be|would be)(?: the| a)? (?:\w+ )?(?:cost|price|fee|charge)s?"
    r"(?=\s+(?:of|for|to|in|at|with)\b|\s*[?.]|$)"
    r"|多少钱|(?:费用|价格|价钱|价位|收费|售价|定价|[^消浪]费|花了?|付)(?:是|要|为|大概|大约|约|一般)?多少"
    r"(?!时间|分钟|小时|天|周|个?月|年|精力|努力|[人家个位名项种次倍%])"
    r"|多少(?:[^，。？\s]{0,4}费|费用|价钱)|要多少钱",
    re.IGNORECASE)
# A sum of money: a number with a currency sign, code or word before or after it, or "free".
_CURRENCY = (r"(?:us\$|hk\$|\$|¥|￥|€|£|rmb|cny|usd|eur|gbp|hkd|yuan|dollars?|euros?|pounds?|yen|won|rupees?|rubles?|"
             r"francs?|marks?|lira|lire|元|美元|人民币|欧元|英镑|港元|港币|日元|韩元|加元|澳元|台币|卢布|法郎|金?马克|里拉|"
             r"块钱|块)")
_MONEY = re.compile(
    rf"{_CURRENCY}\s?[\d〇零一二两三四五六七八九十百千万亿]"
    rf"|[\d〇零一二两三四五六七八九十百千万亿][\d.,]*\s?(?:thousand|million|billion|trillion|k|m|bn|万|亿|千)?"
    rf"\s?{_CURRENCY}"
    r"|\bfree(?: of charge)?\b|\bat no (?:extra )?cost\b|\bno charge\b|免费|不收费|零元",
    re.IGNORECASE)


# A price that rose or fell is answered by a rate as well as by a sum ("risen by less than two percent per year"), and
# a price compared with another by a ratio ("What is the cost of DeepSeek-R1 compared with GPT-4?": "at just 5% of
# the operational cost"; "17 times that of").
_CHANGE = re.compile(r"\b(?:increase|rise|rose|risen|grow|grew|drop|fall|fell|decline)|涨|增|降|跌", re.IGNORECASE)
_COMPARED = re.compile(r"\b(?:compared?|comparison|versus|vs|relative to|than)\b|相比|比较|相对于|比起"
                       r"|比[^，。？?]{1,8}?(?:高|低|多|少|贵|便宜|大|小)", re.IGNORECASE)
_RATE = re.compile(r"%|\bpercent|百分之")
_RATIO = re.compile(r"%|\bpercent|百分之|\b(?:times|fold|half)\b|倍|一半|几分之一|分之")


def asks_for_money(question: str) -> bool:
    return MONEY_QUESTION.search(to_simplified(normalize(question))) is not None


def gives_money(sentence: str, question: str = "") -> bool:
    """Whether `sentence` states a sum of money ("2,800 yuan ($400)", "USD 13.26 billion", "31.8亿元", "free"), or,
    for a question about a price that changed, a rate, or about one price compared with another, a ratio."""
    text = to_simplified(normalize(sentence))
    return (_MONEY.search(text) is not None or bool(_CHANGE.search(question) and _RATE.search(text))
            or bool(_COMPARED.search(question) and _RATIO.search(text)))


# A question asking how long something takes or lasts: its answer is a span of time, not any number ("How long does
# the NMPA take to approve a Class III AI imaging device?" was answered with the count of 132 approvals, a near
# miss). "how long" alone also asks for lengths ("How long is the river?"), so it counts only with a verb of time;
# 几月 and 几号 ask for a date (DATE_QUESTION).
_TIME_UNITS_EN = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|nights?)"
DURATION_QUESTION = re.compile(
    rf"\bhow many {_TIME_UNITS_EN}\b|\bhow much (?:time|longer)\b|\bhow soon\b"
    r"|\bhow long\b(?=[^?]*\b(?:take[sn]?|took|taking|wait(?:s|ed|ing)?|stay(?:s|ed|ing)?|last(?:s|ed|ing)?|"
    r"spen[dt]|spending|needs?|needed|until|before|after|ago|live[sd]?|survive[sd]?|recover(?:y|s|ed)?)\b)"
    r"|多长时间|多久(?!一次)|多少(?:年|个月|周|个?星期|天|小时|分钟|秒)"
    r"|(?<![哪好几元那这头来近])几(?:个月|年|周|个?星期|天|个?小时|分钟|秒)",
    re.IGNORECASE)
# A span of time: a number or number word before a unit ("six-hour", "2 seconds", "a few weeks", "30分钟内", "两年",
# "5.15亿年"), a unit alone in the plural ("within minutes", "for years"), a clock reading ("with 3:08 left"), how often
# ("every year", 每年), until when ("until the 19th century", 直到), or a word for one ("overnight", 当天, 次日). A year
# before 年 is a date (2025年), not a span. Each was a public set's answer sentence the first version refused
# (`python -m eval.answer_checks`, docs/experiments.md).
_SPAN_EN = re.compile(
    rf"(?:\d[\d.,]*|\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    rf"forty|fifty|sixty|hundred|few|several|couple of|half an?|a half))\s?-?\s?{_TIME_UNITS_EN}\b"
    r"|\b(?:seconds|minutes|hours|days|weeks|months|years|decades)\b|\b(?:overnight|same-day|next-day|instantly|"
    r"immediately|real[- ]time|annually|yearly|monthly|weekly|daily|until|till)\b"
    rf"|\b(?:every|each|per|a) {_TIME_UNITS_EN}\b|\b\d{{1,2}}:\d\d\b",
    re.IGNORECASE)
_SPAN_ZH = re.compile(r"(?<![\d.])(?!(?:19|20)\d\d年)[\d.〇零一二两三四五六七八九十百千万亿几数半多]+[余来]?\s?(?:个)?"
                      r"(?:年|月|周|星期|天|日|小时|分钟|秒|赛季|学期)|半[年天]|每(?:年|个?月|周|星期|天|日|小时)"
                      r"|当天|当日|次日|隔天|隔日|即时|实时|立即|马上|秒级|分钟级|直到|直至|一直到|\d{1,2}[:：]\d\d")


def asks_for_duration(question: str) -> bool:
    return DURATION_QUESTION.search(to_simplified(normalize(question))) is not None


# Time saved is answered by a rate as well as by a span ("cuts reading time by 53%").
_SAVING = re.compile(r"\b(?:sav(?:e|es|ed|ing)|cut|cuts|reduc(?:e|es|ed|ing)|shorten(?:s|ed)?|faster|quicker|speed)\b"
                     r"|节省|节约|缩短|减少|加快|提速|更快", re.IGNORECASE)


def gives_duration(sentence: str, question: str = "") -> bool:
    """Whether `sentence` states a span of time ("a six-hour procedure", "within 30 minutes", "两年", "次日达"), or,
    for a question about time saved, a rate."""
    text = to_simplified(normalize(sentence))
    if _SPAN_EN.search(text) is not None or _SPAN_ZH.search(text) is not None:
        return True
    return bool(_SAVING.search(to_simplified(normalize(question))) and _RATE.search(text))


# A question asking which places, organisations or people: its answer is one or more names. "Which seven hospitals
# took part…?" answered with "…launched in 2019 with seven participating hospitals" names none, though every signal
# reads the passage as on topic (a calibration near miss). Only such nouns after "which"/"what" (up to two modifiers,
# none a function word: "What is the city centre…" asks for no name), and 哪 + such a noun; not "who", whose SQuAD
# answers are as often "the city council" or "students" as a name, nor 谁, for the same reason in CMRC.
_NAME_NOUNS_EN = (r"countries|country|cities|city|hospitals?|compan(?:y|ies)|firms?|ministr(?:y|ies)|departments?|"
                  r"agenc(?:y|ies)|organi[sz]ations?|institutions?|universit(?:y|ies)|provinces?|brands?|apps?|"
                  r"platforms?|doctors?|surgeons?|person|enterprises?|startups?|manufacturers?|vendors?")
_FUNCTION = r"of|is|are|was|were|do|does|did|the|a|an|has|have|had|can|could|will|would|should|in|on|for|to"
NAME_QUESTION = re.compile(
    rf"\b(?:which|what)\s+(?:(?!(?:{_FUNCTION})\b)[a-z-]+\s+){{0,2}}?(?:{_NAME_NOUNS_EN})\b"
    r"|哪(?:个|些|几|一)?(?:家|个|位|款)?(?:国家|城市|医院|公司|企业|机构|部门|部委|省份?|品牌|平台|医生|厂商|APP|应用)"
    r"|哪国|哪家|哪位|哪几家",
    re.IGNORECASE)
# Choosing between names the question already gives ("Tempus和Recursion相比，哪家…更高", "which is larger, A or B"):
# the answer is one of the question's own names.
_CHOICE = re.compile(r"相比|比较|还是|[更最][高多大低少快长好早晚]|\b(?:or|versus|vs|compared?|more|higher|larger|"
                     r"bigger|faster|most|highest|largest)\b", re.IGNORECASE)
# Names entity_terms leaves out: a capitalised word opening a sentence or line ("Jordan and Brunei…"), a title in
# 《》 or 「」, a dotted acronym ("U.S.").
_INITIAL = re.compile(r"(?:^|(?<=[.?!:;]\s)|(?<=\n))([A-Z][A-Za-z0-9&-]*[A-Za-z0-9])")
_TITLE = re.compile(r"《([^》]{1,30})》|「([^」]{1,30})」")
_DOTTED = re.compile(r"\b[A-Z]\.(?:[A-Z]\.?)+")


def asks_for_name(question: str) -> bool:
    q = to_simplified(normalize(question))
    return NAME_QUESTION.search(q) is not None and _CHOICE.search(q) is None


def names_in(sentence: str) -> list[str]:
    """Names a sentence holds: capitalised words and acronyms, jieba's person, place and organisation words."""
    names = entity_terms(sentence)
    names += [m.group(1) for m in _INITIAL.finditer(sentence) if m.group(1).lower() not in _EN_STOPWORDS]
    names += [m.group(1) or m.group(2) for m in _TITLE.finditer(sentence)]
    names += [m.group(0) for m in _DOTTED.finditer(sentence)]
    return names


def gives_name(sentence: str, known: AbstractSet[str]) -> bool:
    """Whether `sentence` holds a name with a word outside `known`: the question's own tokens and their
    translations, so "Shanghai" does not answer "上海…哪几家医院" and "Beijing" does not answer "…when Beijing…"."""
    for name in names_in(sentence):
        if any(t not in known and not t.isdigit() and t not in UNINFORMATIVE_NAMES for t in tokenize(name)):
            return True
    return False


Kind = Literal["amount", "date", "money", "duration", "name"]
# Whether a sentence (quoted from the passage given second) gives what one check asks for.
Gives = Callable[[str, str], bool]


def answer_checks(question: str, translations: Iterable[str] = ()) -> list[tuple[Kind, Gives]]:
    """The checks `question` calls for, in the order they are applied: each kind of answer it asks for, with a test
    of whether a sentence and its passage give one. `translations` are the question's words in the other language
    (read only for a name question), whose names a cross-lingual answer does not give anew ("Shanghai" for 上海).
    Engine.missing_answer and eval/answer_checks.py both take their checks from here."""
    checks: list[tuple[Kind, Gives]] = []
    if asks_for_amount(question):
        checks.append(("amount", lambda sentence, passage: gives_figure(sentence, question, passage)))
    if asks_for_date(question):
        checks.append(("date", lambda sentence, _: gives_date(sentence, question)))
    if asks_for_money(question):
        checks.append(("money", lambda sentence, _: gives_money(sentence, question)))
    if asks_for_duration(question):
        checks.append(("duration", lambda sentence, _: gives_duration(sentence, question)))
    if asks_for_name(question):
        known = set(tokenize(question)) | set(translations)
        checks.append(("name", lambda sentence, _: gives_name(sentence, known)))
    return checks


# Whom a figure is about. "How many AI-enabled devices has Health Canada licensed?" was answered with the FDA's
# count: the amount check passed on it. A figure answers only when its passage, the text just before it (a story
# names its subject once: "…no hospital in Mongolia could…" ahead of the cost) or its report's title also names
# what the question names. Names in Latin script are matched by any of their words ("Cam Newton" by "Newton") or
# translations. Chinese names are read more strictly (QueryExpander.chinese_names): jieba's name tags alone split
# 中美两国 into 中/美/两/国 and tag 宝宝 or 康复, which refused 4 answerable gold questions (docs/experiments.md).
SUBJECT_CONTEXT = 500  # characters before the quote that may name its subject
_NAME_GAP = re.compile(r"[\s-]*")
_LATIN_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9&-]*[A-Za-z0-9])?")
_HAN = re.compile(r"[\u3400-\u9fff]")


def subject_names(question: str) -> list[str]:
    """The names a question asks about, in Latin script: runs of capitalised words and acronyms ("Renji Hospital",
    "EMA", "DeepSeek-R1"), possessives apart ("EU's EMA" is two); none made only of "AI", single letters or digits."""
    runs: list[tuple[int, int]] = []
    # In a Chinese question a Latin word opening it is a name too ("DeepSeek-R1模型…")
    pattern = _LATIN_WORD if _HAN.search(question) else _EN_NAME_RE
    for m in pattern.finditer(question):
        # "AI-based", "AI-enabled": a capital only in "AI" makes no name
        parts = [p for p in re.split(r"[^A-Za-z0-9]+", m.group(0)) if p.lower() not in UNINFORMATIVE_NAMES]
        if not any(p[:1].isupper() and len(p) > 1 and not p.isdigit() for p in parts):
            continue
        if runs and _NAME_GAP.fullmatch(question, runs[-1][1], m.start()):
            runs[-1] = (runs[-1][0], m.end())
        else:
            runs.append((m.start(), m.end()))
    return [question[s:e] for s, e in runs]


class NameReader(Protocol):
    """How a word's translations, and a Chinese question's names, are read (rag/translate.py, QueryExpander)."""

    def token_group(self, tok: str) -> set[str]: ...

    def chinese_names(self, question: str) -> list[set[str]]: ...


def subject_groups(question: str, reader: NameReader, doc_freq: Mapping[str, int], common: float,
                   lowercase: AbstractSet[str]) -> list[set[str]]:
    """The question's `subject_names` that a figure's passage must hold, each as the set of its telling words and
    their translations. A word the corpus also writes in lower case (`lowercase`) is a common word, no sign of the
    name: "health" in "Health Canada", "hospital" in "Renji Hospital", "state" in "State of AI…"; not "Newton" in
    "Cam Newton". A name none of whose telling words is distinctive is what the whole corpus is about ("China",
    "Chinese", "US") and is left out: a word is distinctive when neither it nor a translation is in `common`
    passages or more (`doc_freq`). A Chinese question's names (`NameReader.chinese_names`) follow."""

    def distinctive(word: str) -> bool:
        return all(doc_freq.get(t, 0) < common for t in reader.token_group(word) | {word})

    def group(words: list[str]) -> set[str]:
        out = set(words).union(*(reader.token_group(w) for w in words))
        # A name translated as one word takes that word's readings too: "British" is 英国, which the reports write
        # "U.K."; "Mongolian" is 蒙古, which they write "Mongolia".
        han = [t for t in out if not t.isascii()]
        if len(han) == 1:
            out |= reader.token_group(han[0])
        return {t for t in out if (t not in lowercase if t.isascii() else doc_freq.get(t, 0) < common)}

    names = ([w for w in tokenize(name) if w not in lowercase] for name in subject_names(question))
    groups = [group(words) for words in names if any(distinctive(w) for w in words)]
    if _HAN.search(question):
        # A Chinese name with its pieces, translations and spellings; one the corpus is about (中美 is "China-USA") is
        # left out, as in English. Its English translations the corpus writes in lower case are common words, no
        # sign of the name ("health" of "Alibaba Health").
        for name in reader.chinese_names(question):
            kept = {t for t in name if not (t.isascii() and t in lowercase)}
            if all(doc_freq.get(t, 0) < common for t in kept):
                groups.append(kept)
    return [g for g in groups if g]


# What a count is of. "How many beds does Renji Hospital have?" and "DeepSeek-R1模型有多少参数？" were answered with the
# nearest figures (its online consultations, "5% of the operational cost"): the reports never mention beds or a
# model's parameters. A count of something the corpus never names, in either language, cannot be in it. Only the
# counted thing, not measure words ("times", "people", "比例", "金额", "长度"), which an answer gives as a unit or not
# at all: those left the counted noun missing from the answer's own paragraph for 13–46% of public "how many"
# questions (docs/experiments.md).
_COUNT_EN = re.compile(
    r"\bhow many\s+((?:[\w'-]+\s+){0,3}?[\w'-]+)(?=\s+(?:do|does|did|has|have|had|is|are|was|were|will|would|can"
    r"|could|should|in|of|per|at|for|on|to|that|which|who|from|by|with|since|during|before|after|there|each|a|an"
    r"|the)\b|\s*[?,.;]|\s*$)", re.IGNORECASE)
_CLASSIFIERS = frozenset("个家名位项种款台张所座条份次人件只例篇部本株颗支幅首")
_COUNT_ZH_TAIL = re.compile(r"(?:是|有|为|达|约|共|一共|共有|大概|大约|的)+$")
_MEASURE_WORDS = frozenset(
    """比例 百分比 金额 长度 售价 价格 体长 全长 人数 数量 面积 温度 速度 时间 时候 距离
    高度 重量 比分 分数 得分 次数 年龄 规模 费用 成本 收入 营收 人口 份额 占比 增长率
    概率 几率 水深 深度 宽度 总数 数目 数额
    times people persons percent percentage kilometers kilometres km miles meters metres feet pounds kg kgs tons
    years months days hours minutes seconds weeks decades centuries dollars points ago""".split()  # noqa: SIM905
)
_HAN_COMPOUND = re.compile(r"[\u3400-\u9fff]{2,}")  # a Chinese word of two or more characters


def counted_words(question: str) -> list[str]:
    """The words naming what a "how many" / "多少" question counts: the words after "how many" (no past participles:
    "how many executives reported"), or the noun after 多少 (and its classifier) or before "是多少"; measure words
    left out."""
    m = _COUNT_EN.search(question)
    if m:
        words = [w for w in tokenize(m.group(1)) if not w.endswith("ed")]
    else:
        text = to_simplified(normalize(question))
        at = text.find("多少")
        if at < 0:
            return []
        after = text[at + 2:]
        after = after[1:] if after[:1] in _CLASSIFIERS else after
        head = list(pos_tagger().cut(after))[:2]
        if head and head[0].flag.startswith("n") and _HAN_COMPOUND.fullmatch(head[0].word):
            words = [p.word for p in head if p.flag.startswith("n") and _HAN_COMPOUND.fullmatch(p.word)]
        else:
            before = list(pos_tagger().cut(_COUNT_ZH_TAIL.sub("", text[:at])))
            ok = bool(before) and before[-1].flag.startswith("n") and _HAN_COMPOUND.fullmatch(before[-1].word)
            words = [before[-1].word] if ok else []
    return [w for w in words if w not in _MEASURE_WORDS and singular(w) not in _MEASURE_WORDS]


def counted_groups(question: str, reader: NameReader) -> list[set[str]]:
    """Each counted word (`counted_words`) with its inflections and translations; a Chinese word also with its
    translations' Chinese words (树木 → "trees" → 树, 奖杯 → "cup" → 杯), since a corpus may use a synonym."""
    groups = []
    for word in counted_words(question):
        group = {word, singular(word), plural(word) or word} | reader.token_group(word)
        if not word.isascii():
            group |= {z for t in list(group) if t.isascii() for z in reader.token_group(t)}
        groups.append(group)
    return groups


def counted_named(groups: Iterable[AbstractSet[str]], doc_freq: Mapping[str, int], han_text: str) -> bool:
    """Whether the corpus names a counted word (`counted_groups`): a token of it (`doc_freq`), or a Chinese word of two
    or more characters inside a longer one (公司 in 上市公司; not one character: 床 "bed" is in 临床 "clinical"), as
    `han_text` (the corpus's Chinese tokens or text) holds it."""
    return any(doc_freq.get(t, 0) or (len(t) > 1 and not t.isascii() and t in han_text) for g in groups for t in g)


def lowercase_words(text: str) -> set[str]:
    """The words `text` writes in lower case: common words, not names (`subject_groups`)."""
    return set(re.findall(r"\b[a-z][a-z0-9]+\b", text))


def names_covered(groups: Iterable[AbstractSet[str]], text: str) -> bool:
    """Whether `text` holds a word of each name group (a name's words and their translations): an English word as a
    word, plurals as singulars; a Chinese one anywhere in the text, as 野马 is in 野马队 ("the Broncos")."""
    seen = {singular(t) for t in tokenize(text)}
    han = to_simplified(normalize(text))
    return all(any(singular(t) in seen if t.isascii() else t in han for t in group) for group in groups)
