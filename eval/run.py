"""`rag eval`: run the gold set in-process or against a server, score it, write report.json/.md and a chart."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.gold import GoldRow, load_gold, quote_spans
from eval.metrics import answer_contains, ci95, hit_at, ndcg_at, overlaps, percentile, reciprocal_rank

RETRIEVAL_K = 10  # passages requested per question: hit@10, MRR@10 and nDCG@10 need ten


@dataclass
class Response:
    """What one question got back, from either backend."""

    passages: list[tuple[str, int, int]]  # (doc_id, start, end) in rank order
    answered: bool
    answer: str
    citations: list[int]
    latency_ms: float
    confidence: float = 0.0
    quotes: list[tuple[str, int, int]] = field(default_factory=list)  # (doc_id, start, end) of quoted sentences


@dataclass
class Scored:
    id: str
    kind: str
    pair: str
    language: str
    answerable: bool
    answered: bool
    latency_ms: float
    hit1: float = 0.0
    hit3: float = 0.0
    hit5: float = 0.0
    hit10: float = 0.0
    mrr10: float = 0.0
    ndcg10: float = 0.0
    answer_ok: float = 0.0
    cite_precision: float | None = None
    cite_recall: float = 0.0
    quote_precision: float | None = None  # share of quoted sentences that overlap an evidence quote
    quote_recall: float = 0.0  # share of evidence quotes that a quoted sentence overlaps
    first_relevant_rank: int | None = None
    # hit@5 and MRR@10 counting only each evidence entry's own quote, not the `also` places stating the same fact
    hit5_primary: float = 0.0
    mrr10_primary: float = 0.0
    confidence: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


Asker = Callable[[str], Response]


def in_process_asker(index_dir: Path | None) -> tuple[Asker, Callable[[str], str]]:
    """Ask through the library (the same Engine the API serves)."""
    from rag.config import Settings
    from rag.engine import Engine

    settings = Settings()
    if index_dir is not None:
        settings = settings.model_copy(update={"index_dir": index_dir})
    engine = Engine.from_settings(settings)

    def ask(question: str) -> Response:
        t0 = time.perf_counter()
        a = engine.ask(question, top_k=RETRIEVAL_K)
        ms = (time.perf_counter() - t0) * 1e3
        return Response([(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in a.hits], a.answered, a.text,
                        a.citations, ms, a.confidence, [(q.doc_id, q.start, q.end) for q in a.quotes])

    return ask, lambda doc_id: engine.document(doc_id).text


def http_asker(url: str) -> tuple[Asker, Callable[[str], str]]:
    """Ask a running server over HTTP; documents come from its /v1/documents/{id}."""
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=60)

    def ask(question: str) -> Response:
        t0 = time.perf_counter()
        r = client.post("/v1/ask", json={"question": question, "top_k": RETRIEVAL_K})
        ms = (time.perf_counter() - t0) * 1e3
        r.raise_for_status()
        b = r.json()
        return Response([(p["doc_id"], p["start"], p["end"]) for p in b["passages"]], b["answered"], b["answer"],
                        b["citations"], ms, float(b.get("confidence", 0.0)),
                        [(q["doc_id"], q["start"], q["end"]) for q in b.get("quotes", [])])

    def doc_text(doc_id: str) -> str:
        r = client.get(f"/v1/documents/{doc_id}")
        r.raise_for_status()
        return str(r.json()["text"])

    return ask, doc_text


Span = tuple[str, tuple[int, int]]  # (doc_id, (start, end))


def evidence_groups(row: GoldRow, doc_text: Callable[[str], str], *, also: bool = True) -> list[list[Span]]:
    """One group per evidence entry: its quote's place and, with `also`, the places stating the same fact."""
    groups = []
    for e in row.evidence:
        if also:  # every place the same words stand serves too
            groups.append([(p.doc_id, span) for p in (e, *e.also) for span in quote_spans(doc_text(p.doc_id), p.quote)])
        else:
            groups.append([(e.doc_id, span) for span in quote_spans(doc_text(e.doc_id), e.quote)[:1]])
    return groups


def _covers(place: tuple[str, int, int], group: list[Span]) -> bool:
    doc_id, start, end = place
    return any(d == doc_id and overlaps((start, end), span) for d, span in group)


def _ranked(passages: Sequence[tuple[str, int, int]], groups: list[list[Span]]) -> tuple[list[bool], list[float]]:
    """Per rank: does the passage serve any evidence entry, and does it serve one not served higher up."""
    covered: set[int] = set()
    relevant, gains = [], []
    for p in passages:
        hits = {i for i, g in enumerate(groups) if _covers(p, g)}
        relevant.append(bool(hits))
        gains.append(1.0 if hits - covered else 0.0)
        covered |= hits
    return relevant, gains


def _precision_recall(places: Sequence[tuple[str, int, int]], groups: list[list[Span]]) -> tuple[float | None, float]:
    """Share of places that serve some evidence entry, and share of entries served by some place."""
    precision = sum(any(_covers(p, g) for g in groups) for p in places) / len(places) if places else None
    recall = sum(any(_covers(p, g) for p in places) for g in groups) / max(1, len(groups))
    return precision, recall


def score(row: GoldRow, resp: Response, doc_text: Callable[[str], str]) -> Scored:
    """Retrieval, answer, citation and abstention scores of one response."""
    s = Scored(row.id, row.kind, row.pair, row.language, row.answerable, resp.answered, resp.latency_ms,
               confidence=resp.confidence)
    if not row.answerable:
        return s
    groups = evidence_groups(row, doc_text)
    passages = resp.passages[:RETRIEVAL_K]
    relevant, gains = _ranked(passages, groups)
    s.hit1, s.hit3, s.hit5, s.hit10 = (hit_at(relevant, k) for k in (1, 3, 5, 10))
    s.mrr10 = reciprocal_rank(relevant, 10)
    s.ndcg10 = ndcg_at(gains, len(groups), 10)
    s.first_relevant_rank = next((i + 1 for i, r in enumerate(relevant) if r), None)
    primary, _ = _ranked(passages, evidence_groups(row, doc_text, also=False))
    s.hit5_primary, s.mrr10_primary = hit_at(primary, 5), reciprocal_rank(primary, 10)
    s.answer_ok = 1.0 if resp.answered and answer_contains(resp.answer, row.answers) else 0.0
    cited = [resp.passages[n - 1] for n in resp.citations if 1 <= n <= len(resp.passages)]
    s.cite_precision, s.cite_recall = _precision_recall(cited, groups)
    s.quote_precision, s.quote_recall = _precision_recall(resp.quotes, groups)
    return s


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


# Metrics reported with a 95% bootstrap interval over questions (`<metric>_ci95` in report.json): the figures that
# targets are set on. Per-question values are 0/1 or a reciprocal rank, so the interval is that of a mean.
INTERVAL_METRICS = ("hit1", "hit5", "mrr10", "answer_ok", "oos_refused", "answerable_refused")


def aggregate(rows: Sequence[Scored]) -> dict[str, object]:
    """Averages over a group: retrieval and answer metrics over answerable rows, refusals over both."""
    ans = [r for r in rows if r.answerable]
    oos = [r for r in rows if not r.answerable]
    out: dict[str, object] = {"n": len(rows), "answerable": len(ans), "out_of_scope": len(oos)}
    for m in ("hit1", "hit3", "hit5", "hit10", "mrr10", "ndcg10", "hit5_primary", "mrr10_primary", "answer_ok",
              "cite_precision", "cite_recall", "quote_precision", "quote_recall"):
        out[m] = _mean([getattr(r, m) for r in ans])
    refused = {"oos_refused": [0.0 if r.answered else 1.0 for r in oos],
               "answerable_refused": [0.0 if r.answered else 1.0 for r in ans]}
    out.update({m: _mean(values) for m, values in refused.items()})
    for m in INTERVAL_METRICS:
        out[f"{m}_ci95"] = ci95(refused[m] if m in refused else [getattr(r, m) for r in ans])
    lat = [r.latency_ms for r in rows]
    out["latency_p50_ms"] = round(percentile(lat, 50), 1) if lat else None
    out["latency_p95_ms"] = round(percentile(lat, 95), 1) if lat else None
    return out


def refusal_quality(rows: Sequence[Scored]) -> dict[str, float | None]:
    """Precision and recall of refusals: a refusal is correct when the question is out of scope."""
    refused = [r for r in rows if not r.answered]
    oos = [r for r in rows if not r.answerable]
    tp = sum(1 for r in refused if not r.answerable)
    return {"precision": round(tp / len(refused), 4) if refused else None,
            "recall": round(tp / len(oos), 4) if oos else None}


def build_report(scored: Sequence[Scored], meta: dict[str, object]) -> dict[str, object]:
    by_pair: dict[str, list[Scored]] = defaultdict(list)
    by_kind: dict[str, list[Scored]] = defaultdict(list)
    for r in scored:
        by_pair[r.pair].append(r)
        by_kind[r.kind].append(r)
    same = [r for r in scored if r.answerable and r.pair in ("en→en", "zh→zh")]
    cross = [r for r in scored if r.answerable and r.pair in ("en→zh", "zh→en")]
    return {
        "meta": meta,
        "overall": aggregate(scored),
        "same_language": aggregate(same),
        "cross_language": aggregate(cross),
        "refusals": refusal_quality(scored),
        "by_language_pair": {k: aggregate(v) for k, v in sorted(by_pair.items())},
        "by_kind": {k: aggregate(v) for k, v in sorted(by_kind.items())},
        "questions": [asdict(r) for r in scored],
    }


def compare(report: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Question by question against an earlier report on the same set: which questions moved, and whether the
    change in the headline figures exceeds what resampling the questions gives (a paired bootstrap interval of
    the per-question difference; an interval that holds 0 is no evidence of a change)."""
    old = {q["id"]: q for q in previous.get("questions", [])}
    new = {q["id"]: q for q in report.get("questions", [])}
    common = [i for i in new if i in old]
    groups = {"answerable": [i for i in common if new[i]["answerable"]],
              "out_of_scope": [i for i in common if not new[i]["answerable"]]}

    def refused(q: dict[str, Any]) -> float:
        return 0.0 if q["answered"] else 1.0

    measures: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
        "hit1": ("answerable", lambda q: float(q["hit1"])), "hit5": ("answerable", lambda q: float(q["hit5"])),
        "mrr10": ("answerable", lambda q: float(q["mrr10"])), "answerable_refused": ("answerable", refused),
        "oos_refused": ("out_of_scope", refused)}
    summary: dict[str, dict[str, Any]] = {}
    for name, (group, value) in measures.items():
        ids = groups[group]
        diffs = [value(new[i]) - value(old[i]) for i in ids]
        summary[name] = {"before": _mean([value(old[i]) for i in ids]), "after": _mean([value(new[i]) for i in ids]),
                         "difference": _mean(diffs), "ci95": ci95(diffs),
                         "up": sum(d > 0 for d in diffs), "down": sum(d < 0 for d in diffs)}
    changed = [{"id": i, "pair": new[i]["pair"], "kind": new[i]["kind"],
                "rank_before": old[i].get("first_relevant_rank"), "rank_after": new[i].get("first_relevant_rank"),
                "answered_before": old[i]["answered"], "answered_after": new[i]["answered"]}
               for i in common if (old[i].get("first_relevant_rank"), old[i]["answered"])
               != (new[i].get("first_relevant_rank"), new[i]["answered"])]
    meta = previous.get("meta", {})
    return {"previous": {k: meta.get(k) for k in ("command", "date", "index_version")}, "questions": len(common),
            "only_before": sorted(set(old) - set(new)), "only_after": sorted(set(new) - set(old)),
            "summary": summary, "changed": changed}


def load_report(path: Path) -> dict[str, Any]:
    """A report written by `rag eval --out`: its report.json, or the file itself."""
    file = path / "report.json" if path.is_dir() else path
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data


COLUMNS = ["n", "hit1", "hit3", "hit5", "hit10", "mrr10", "ndcg10", "answer_ok", "cite_precision", "cite_recall",
           "quote_precision", "quote_recall", "oos_refused", "answerable_refused", "latency_p50_ms", "latency_p95_ms"]


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else "–"


def markdown(report: dict[str, Any]) -> str:
    def table(groups: dict[str, dict[str, Any]]) -> list[str]:
        lines = ["| group | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for name, g in groups.items():
            cells = ["–" if g.get(c) is None else (f"{g[c]:.3f}" if isinstance(g[c], float) else str(g[c]))
                     for c in COLUMNS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines

    meta = report["meta"]
    assert isinstance(meta, dict)
    head = {"overall": report["overall"], "same-language": report["same_language"],
            "cross-language": report["cross_language"]}
    out = [f"# Gold-set evaluation ({meta.get('questions')} questions)", "",
           f"Command: `{meta.get('command')}`  ", f"Index: {meta.get('index_version')} · {meta.get('date')}", "",
           "## Summary", *table(head), "", "## By language pair (question → evidence)",
           *table(report["by_language_pair"]),
           "", "## By kind", *table(report["by_kind"]), "",
           f"Refusals: precision {report['refusals']['precision']}, recall {report['refusals']['recall']}", "",
           "A passage counts as evidence when it overlaps an evidence quote or one of its `also` quotes (the same "
           "fact stated elsewhere in the same language). Counting only the quotes themselves: hit@5 "
           f"{_fmt(report['overall'].get('hit5_primary'))}, MRR@10 {_fmt(report['overall'].get('mrr10_primary'))} "
           f"(same-language {_fmt(report['same_language'].get('hit5_primary'))} / "
           f"{_fmt(report['same_language'].get('mrr10_primary'))}, cross-language "
           f"{_fmt(report['cross_language'].get('hit5_primary'))} / "
           f"{_fmt(report['cross_language'].get('mrr10_primary'))}).", "", *_intervals(report)]
    if report.get("comparison"):
        out += ["", *_comparison(report["comparison"])]
    return "\n".join(out) + "\n"


def _span(ci: object) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if isinstance(ci, list) else "–"


def _intervals(report: dict[str, Any]) -> list[str]:
    groups = {"overall": report["overall"], "same-language": report["same_language"],
              "cross-language": report["cross_language"], **report["by_language_pair"]}
    lines = ["## 95% intervals (bootstrap over questions)", "",
             "How far each figure could move on another set of questions like these. Whether a change made a "
             "difference is better told by `rag eval --compare`, a paired test on the same questions.", "",
             "| group | " + " | ".join(INTERVAL_METRICS) + " |", "|---" * (len(INTERVAL_METRICS) + 1) + "|"]
    for name, g in groups.items():
        lines.append(f"| {name} | " + " | ".join(_span(g.get(f"{m}_ci95")) for m in INTERVAL_METRICS) + " |")
    return lines


def _comparison(c: dict[str, Any]) -> list[str]:
    prev = c["previous"]
    lines = [f"## Compared with {prev.get('date')} (index {prev.get('index_version')})", "",
             f"{c['questions']} questions in both reports; difference = this run − the earlier one, per question, "
             "with a paired bootstrap interval (holding 0: no measurable change).", "",
             "| measure | before | after | difference | 95% interval | questions up | questions down |",
             "|---|---|---|---|---|---|---|"]
    for name, m in c["summary"].items():
        lines.append(f"| {name} | {_fmt(m['before'])} | {_fmt(m['after'])} | {_fmt(m['difference'])} | "
                     f"{_span(m['ci95'])} | {m['up']} | {m['down']} |")
    if c["changed"]:
        lines += ["", "| question | pair | kind | first relevant rank | answered |", "|---|---|---|---|---|"]
        for q in c["changed"]:
            lines.append(f"| {q['id']} | {q['pair']} | {q['kind']} | {q['rank_before'] or '–'} → "
                         f"{q['rank_after'] or '–'} | {q['answered_before']} → {q['answered_after']} |")
    return lines


def chart(report: dict[str, object], path: Path) -> None:
    """Bar chart of hit@5 and MRR@10 per language pair and kind, plus refusal rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {**{f"pair {k}": v for k, v in report["by_language_pair"].items()},  # type: ignore[attr-defined]
              **{f"kind {k}": v for k, v in report["by_kind"].items()}}  # type: ignore[attr-defined]
    names = [n for n, g in groups.items() if g.get("hit5") is not None]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [groups[n]["hit5"] for n in names], 0.4, label="hit@5")
    ax.bar([x + 0.2 for x in xs], [groups[n]["mrr10"] for n in names], 0.4, label="MRR@10")
    ax.set_xticks(list(xs), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    o = report["overall"]
    ax.set_title(f"gold set: out-of-scope refused {o['oos_refused']}, answerable refused {o['answerable_refused']}")  # type: ignore[index]
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


THRESHOLDS = {
    "min_hit5": ("overall", "hit5", ">="),
    "min_mrr": ("overall", "mrr10", ">="),
    "min_same_hit5": ("same_language", "hit5", ">="),
    "min_cross_hit5": ("cross_language", "hit5", ">="),
    "min_answer": ("overall", "answer_ok", ">="),
    "min_oos_refused": ("overall", "oos_refused", ">="),
    "max_answerable_refused": ("overall", "answerable_refused", "<="),
}


def check_thresholds(report: dict[str, object], limits: dict[str, float | None]) -> list[str]:
    """Messages for every threshold that the report misses (empty when all pass)."""
    failures = []
    for name, limit in limits.items():
        if limit is None:
            continue
        group, metric, op = THRESHOLDS[name]
        value = report[group][metric]  # type: ignore[index]
        ok = value is not None and (value >= limit if op == ">=" else value <= limit)
        if not ok:
            failures.append(f"{group}.{metric} = {value} (required {op} {limit})")
    return failures


def run(gold: Path, out: Path | None, index_dir: Path | None = None, url: str | None = None,
        limits: dict[str, float | None] | None = None, quiet: bool = False,
        previous: dict[str, Any] | None = None) -> tuple[dict[str, object], list[str]]:
    """Ask every question of `gold`, score and report; `previous` (an earlier report) adds a comparison."""
    rows = load_gold(gold)
    ask, doc_text = http_asker(url) if url else in_process_asker(index_dir)
    text_cache: dict[str, str] = {}

    def cached_text(doc_id: str) -> str:
        if doc_id not in text_cache:
            text_cache[doc_id] = doc_text(doc_id)
        return text_cache[doc_id]

    ask("warm-up question")
    scored = [score(r, ask(r.question), cached_text) for r in rows]
    meta = {"command": " ".join(["rag", "eval", *sys.argv[2:]]) if sys.argv[1:2] == ["eval"] else "rag eval",
            "questions": len(rows), "date": time.strftime("%Y-%m-%d %H:%M"), "gold": str(gold),
            "backend": url or "in-process", "index_version": _index_version(index_dir, url)}
    report = build_report(scored, meta)
    if previous is not None:
        report["comparison"] = compare(report, previous)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "report.md").write_text(markdown(report), encoding="utf-8")
        chart(report, out / "report.png")
    if not quiet:
        print(markdown({**report, "questions": []}))
    return report, check_thresholds(report, limits or {})


def _index_version(index_dir: Path | None, url: str | None) -> str:
    try:
        if url:
            import httpx

            return str(httpx.get(url.rstrip("/") + "/readyz", timeout=5).json().get("index_version", ""))
        from rag.config import Settings
        from rag.index import current_snapshot_dir

        return current_snapshot_dir(index_dir or Settings().index_dir).name
    except Exception:  # noqa: BLE001 - the version is informational only
        return ""
