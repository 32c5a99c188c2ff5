"""Reference language means for the dense transform: `python -m eval.reference_means [--data DIR] [--write]`.

The mean passage vector of general-domain paragraphs in each service language (SQuAD-minus-XQuAD for English,
CMRC 2018 for Chinese, a fixed sample of each), embedded by the configured embedder. An index whose corpus has too
few passages in a language to fit that language's mean takes it from here (rag/transform.py, `fit_transform`), so a
question in the language the corpus lacks is centred by its own language's mean.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from eval.benchmarks import DEFAULT_DATA
from rag.config import Settings
from rag.embedders import embedder_for
from rag.transform import REFERENCE_FILE

SOURCES = {"en": "squad/squad1.1.dev.minus-xquad.json", "zh": "cmrc2018/cmrc2018_dev.json"}
PARAGRAPHS = 400


def sample_paragraphs(data_dir: Path, rel: str, n: int) -> list[str]:
    """`n` paragraphs of a SQuAD-format file, in a fixed shuffled order."""
    data = json.loads((data_dir / rel).read_text(encoding="utf-8"))["data"]
    paragraphs = [p["context"] for article in data for p in article["paragraphs"]]
    random.Random(0).shuffle(paragraphs)
    return paragraphs[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--paragraphs", type=int, default=PARAGRAPHS)
    ap.add_argument("--write", action="store_true", help=f"write {REFERENCE_FILE}")
    args = ap.parse_args()
    embedder = embedder_for(Settings())
    means = {lang: embedder.embed_documents(sample_paragraphs(args.data, rel, args.paragraphs)).mean(axis=0)
             for lang, rel in SOURCES.items()}
    meta = {"embedder": embedder.name, "langs": sorted(means), "paragraphs": args.paragraphs,
            "sources": SOURCES, "seed": 0}
    print(json.dumps(meta), {lang: round(float(np.linalg.norm(m)), 4) for lang, m in means.items()})
    if args.write:
        with REFERENCE_FILE.open("wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **{k: v.astype(np.float32) for k, v in means.items()})


if __name__ == "__main__":
    main()
