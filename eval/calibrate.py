"""Fit the abstention model on the gold set: `python -m eval.calibrate [--gold DIR] [--write]`.

Logistic regression over rag.abstain.FEATURES with leave-one-out predictions, so the reported refusal
precision/recall are for questions the model did not see. The threshold is the highest one that keeps
wrongly refused answerable questions at or under --max-false-refusal (default 0.05). Also reported: the share
refused of general-domain SQuAD and CMRC 2018 questions (`off_topic_refused`), which no report here answers
and the fit never sees.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from eval.benchmarks import DEFAULT_DATA
from eval.gold import GOLD_DIR, load_gold
from rag.abstain import FEATURES, MODEL_FILE
from rag.config import Settings
from rag.engine import Engine


def collect(engine: Engine, gold: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rows = load_gold(gold)
    ys = np.array([1 if r.answerable else 0 for r in rows])
    return collect_questions(engine, [r.question for r in rows]), ys, [r.id for r in rows]


def collect_questions(engine: Engine, questions: list[str]) -> np.ndarray:
    """The abstention signals of each question, one row per question."""
    return np.array([engine.signals(engine.search(q, 10)).vector() for q in questions])


def off_topic_questions(data_dir: Path, n: int) -> dict[str, list[str]]:
    """`n` questions each from SQuAD (English) and CMRC 2018 (Chinese), picked by a fixed seed: general-domain
    questions no report here answers, so a check of refusals on questions the model was not fitted on."""
    files = {"squad_en": data_dir / "squad" / "squad1.1.dev.minus-xquad.json",
             "cmrc_zh": data_dir / "cmrc2018" / "cmrc2018_dev.json"}
    out = {}
    for name, path in files.items():
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))["data"]
            questions = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
            random.Random(0).shuffle(questions)
            out[name] = questions[:n]
    return out


def rates(p: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    refused = p < threshold
    oos = y == 0
    return {"oos_refused": float(refused[oos].mean()), "answerable_refused": float(refused[~oos].mean()),
            "refusal_precision": float((refused & oos).sum() / max(1, refused.sum()))}


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default=str(GOLD_DIR))
    ap.add_argument("--max-false-refusal", type=float, default=0.05)
    ap.add_argument("--write", action="store_true", help=f"write {MODEL_FILE}")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmarks for the off-topic check")
    ap.add_argument("--off-topic", type=int, default=150, help="questions per off-topic set (0: skip)")
    args = ap.parse_args()
    engine = Engine.from_settings(Settings())
    x, y, ids = collect(engine, Path(args.gold))
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000))
    p_cv = cross_val_predict(model, x, y, cv=LeaveOneOut(), method="predict_proba")[:, 1]
    candidates = sorted(set(np.round(p_cv, 4).tolist()))
    ok = [t for t in candidates if rates(p_cv, y, t)["answerable_refused"] <= args.max_false_refusal]
    threshold = max(ok) if ok else 0.5
    cv = rates(p_cv, y, threshold)
    model.fit(x, y)
    fitted = rates(model.predict_proba(x)[:, 1], y, threshold)
    scaler, lr = model[0], model[1]
    result = {"features": list(FEATURES), "weights": lr.coef_[0].round(4).tolist(),
              "bias": round(float(lr.intercept_[0]), 4), "mean": scaler.mean_.round(5).tolist(),
              "scale": scaler.scale_.round(5).tolist(), "threshold": round(threshold, 4),
              "embedder": engine.embedder.name, "fitted_on": f"{args.gold} ({len(y)} questions, {int((y == 0).sum())} "
              "out of scope)", "date": time.strftime("%Y-%m-%d"), "leave_one_out": cv, "in_sample": fitted}
    off_topic = off_topic_questions(args.data, args.off_topic) if args.off_topic else {}
    result["off_topic_refused"] = {
        name: round(float((model.predict_proba(collect_questions(engine, qs))[:, 1] < threshold).mean()), 3)
        for name, qs in off_topic.items()}
    for i, f in enumerate(FEATURES):
        print(f"{f:10s} answerable mean {x[y == 1, i].mean():.3f}  out-of-scope mean {x[y == 0, i].mean():.3f}")
    print(json.dumps(result, indent=2))
    missed = [ids[i] for i in np.flatnonzero((p_cv >= threshold) & (y == 0))]
    print("out-of-scope answered (LOO):", missed)
    if args.write:
        MODEL_FILE.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
