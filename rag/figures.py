"""Does the answer give the figure or date a question asks for?

A question that asks for an amount ("How many…", "What percentage…", "多少…") about a subject the reports cover
reads like an answerable one to every abstention signal, which measure how well the passages match the question.
When no sentence the answer would quote holds a figure, the reports discuss the subject without giving the amount
(a market study's sample that prints "US$ XX billion", a rate for one year when another is asked), and quoting
those sentences would be a guess. The same holds for a date ("When do the EU AI Act's obligations start
applying…?" answered with a sentence that the Act classes medical AI as high-risk), and for a price or fee, which
only a sum of money answers, not a clock time or a duration. Only the question's own
figures and dates are set aside: "from 2025 to 2030" in the question is no answer to it.
"""

from __future__ import annotations

import re

from rag.text import normalize, to_simplified

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
# Amounts written in words. "one" and 一 are left out: mostly "one of", "one-stop", 一个, 统一. A scale word counts
# only as a vague amount ("hundreds of thousands"): "US$ XX billion" gives none.
_EN_NUMBER_WORDS = re.compile(
    r"\b(?:none|zero|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds|thousands|millions|billions|dozens|half|halved|double[ds]?|doubling|"
    r"triple[ds]?|tripling|twice|thrice|quadrupled?" + VAGUE_EN + r")\b", re.IGNORECASE)
# Chinese numerals, after the words in which they are no amount: 十分 "very", 万一 "in case", 百姓 "the public",
# ordinals (第二) and grades or kinds (三维 "3D", 三甲 "top-grade", 二级, 三期 "phase III", 三类 "class III")
_ZH_NOT_NUMBERS = re.compile(r"十分|万一|千万|百姓|百货|万物|千方百计|第[〇零一两二三四五六七八九十百千]+"
                             r"|[一二三四五六七八九十]+[维甲级期类线]")
_ZH_NUMBER_WORDS = re.compile(r"[〇零两二三四五六七八九十百千万亿]+|百分之|一半|半数|过半|翻[了一两]*[番倍]" + VAGUE_ZH)


# A question asking for a date. "when" only as the question word, before its verb: "How many seconds were left
# when the Broncos…" and "What should I look for when picking a clinic?" ask for no date (XQuAD, held-out).
DATE_QUESTION = re.compile(
    r"\bwhen (?:did|do|does|was|were|is|are|will|would|has|have|had|can|could|should)\b"
    r"|\b(?:what|which|in what|in which) (?:year|date|month)\b|哪一?年|何时|什么时候|几月|哪一?天|几号", re.IGNORECASE)
_MONTHS = "january|february|march|april|june|july|august|september|october|november|december"  # not "may"
_DATE_WORDS = re.compile(
    rf"\b(?:{_MONTHS}|may \d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)? century|\d0s|ago|yesterday|today|tomorrow|"
    r"(?:next|last|this|that|the same|the following) (?:year|month|week|day|spring|summer|autumn|fall|winter)|"
    r"recently|currently)\b"
    r"|[\d〇零一二两三四五六七八九十百千万亿]+(?:年|月|日|号)|今年|去年|明年|前年|近年|年初|年底|年末|年中|上半年|下半年|季度"
    r"|上个月|下个月|目前|现在|当时|如今", re.IGNORECASE)
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
    sentence, question = normalize(sentence), normalize(question)
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


# A price that rose or fell is answered by a rate as well as by a sum ("risen by less than two percent per year").
_CHANGE = re.compile(r"\b(?:increase|rise|rose|risen|grow|grew|drop|fall|fell|decline)|涨|增|降|跌", re.IGNORECASE)
_RATE = re.compile(r"%|\bpercent|百分之")


def asks_for_money(question: str) -> bool:
    return MONEY_QUESTION.search(to_simplified(normalize(question))) is not None


def gives_money(sentence: str, question: str = "") -> bool:
    """Whether `sentence` states a sum of money ("2,800 yuan ($400)", "USD 13.26 billion", "31.8亿元", "free"), or,
    for a question about a price that changed, a rate."""
    text = to_simplified(normalize(sentence))
    return _MONEY.search(text) is not None or bool(_CHANGE.search(question) and _RATE.search(text))
