"""The `rag` command: index, migrate, ask, serve, eval."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.config import Settings
from rag.errors import RagError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from rag.embedders import Embedder
    from rag.index import IndexSnapshot

logger = logging.getLogger(__name__)


def _settings(args: argparse.Namespace, index_arg: str = "index") -> Settings:
    """Settings from the environment, with `--index`/`--out` taking precedence."""
    settings = Settings()
    index = getattr(args, index_arg, None)
    return settings.model_copy(update={"index_dir": Path(index)}) if index else settings


def cmd_index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rag.embedders import embedder_for
    from rag.engine import corpus_documents
    from rag.errors import IndexMissing
    from rag.index import build_index, load_index

    settings = _settings(args, "out")
    if args.corpus_dir:
        settings = settings.model_copy(update={"corpus_dir": Path(args.corpus_dir)})
    if args.store:
        settings = settings.model_copy(update={"store": args.store})
    docs = corpus_documents(settings)
    embedder = embedder_for(settings)
    previous = None
    try:
        previous = load_index(settings.index_dir, embedder.name)
    except (IndexMissing, RagError) as e:
        logger.info("no reusable previous index: %s", e)
    bar = tqdm(total=0, unit="chunk", desc="embedding", disable=args.quiet)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    snap = build_index(docs, embedder, settings, previous=previous, progress=progress)
    bar.close()
    print(f"indexed {len(snap.documents)} documents, {len(snap.chunks)} chunks into {settings.index_dir} "
          f"(version {snap.version})")
    return 0


class SnapshotEmbedder:
    """Stands in for the embedder during a migration: every vector comes from the snapshot, none is computed."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def embed_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        raise RagError("a migration embeds no queries")

    def embed_documents(self, texts: list[str]) -> npt.NDArray[np.float32]:
        raise RagError(f"{len(texts)} passages have no vector in the snapshot (chunking or embedding input changed "
                       "since it was built); rebuild with `rag index --store ...`, which re-embeds them")


def migrate_index(settings: Settings, store: Literal["faiss", "milvus"],
                  embedder: Embedder | None = None) -> IndexSnapshot:
    """Copy the current snapshot into a new one on `store`, reusing its vectors (nothing is re-embedded).

    The new snapshot is built from the old one's documents with the old chunking and dense transform, so
    every passage finds its raw embedding in the embedding cache; it is swapped in like any other build.
    """
    from rag.index import build_index, load_index

    old = load_index(settings.index_dir, settings=settings)
    m = old.manifest
    target = settings.model_copy(update={"store": store, "chunk_size": m.chunk_size, "chunk_overlap": m.chunk_overlap,
                                         "dense_transform": m.dense_transform})
    embedder = embedder or SnapshotEmbedder(m.embedder, m.dim)
    if embedder.name != m.embedder:
        raise RagError(f"the index was built with {m.embedder!r}, not {embedder.name!r}; migrate with that embedder")
    return build_index(list(old.documents.values()), embedder, target, previous=old)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    snap = migrate_index(settings, args.to)
    print(f"migrated {len(snap.documents)} documents, {len(snap.chunks)} chunks in {settings.index_dir} to "
          f"{args.to} (version {snap.version})")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.engine import Engine

    settings = _settings(args)
    engine = Engine.from_settings(settings)
    answer = engine.ask(args.question, top_k=args.top_k)
    if args.summarize:
        from rag.summarizers import make_summarizer

        summarizer = make_summarizer(settings)
        try:
            answer = summarizer.summarize(args.question, answer)
        finally:
            summarizer.close()
        if answer.fallback_reason:
            print(f"(LLM summary not used: {answer.fallback_reason}; showing the extractive answer)", file=sys.stderr)
    if args.json:
        from api.schemas import AskResponse

        print(AskResponse.from_answer(args.question, answer, engine).model_dump_json(indent=2))
        return 0
    print(answer.text)
    print()
    for rank, hit in enumerate(answer.hits, start=1):
        doc = engine.snapshot.documents[hit.chunk.doc_id]
        snippet = hit.chunk.text[:160].replace("\n", " ")
        print(f"[{rank}] {doc.title} ({hit.chunk.doc_id} {hit.chunk.start}-{hit.chunk.end}) {snippet}…")
    print()
    print(answer.disclaimer)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.gold import GOLD_DIR
    from eval.run import THRESHOLDS, load_report, run

    limits = {name: getattr(args, name) for name in THRESHOLDS}
    previous = None
    if args.compare:  # read before the run, so a bad path fails at once
        try:
            previous = load_report(Path(args.compare))
        except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            print(f"--compare: no report.json readable at {args.compare} ({e})", file=sys.stderr)
            return 2
    _, failures = run(Path(args.gold) if args.gold else GOLD_DIR, Path(args.out) if args.out else None,
                      Path(args.index) if args.index else None, args.url, limits, previous=previous)
    for f in failures:
        print(f"below threshold: {f}", file=sys.stderr)
    return 1 if failures else 0


def cmd_docs(args: argparse.Namespace) -> int:
    """`rag docs list|add|remove`: the same document operations as the API, on the local index."""
    from rag.engine import Engine

    engine = Engine.from_settings(_settings(args))
    engine.recover()
    if args.action == "list":
        for d in engine.documents():
            print(f"{d.id}\t{d.lang}\t{len(d.text)}\t{d.title}")
    elif args.action == "add":
        for name in args.paths:
            path = Path(name)
            snap = engine.add_document(args.id or path.stem, path.read_bytes(), path.name, title=args.title or "")
            print(f"added {args.id or path.stem} (index {snap.version})")
    else:
        for doc_id in args.paths:
            snap = engine.remove_document(doc_id)
            print(f"removed {doc_id} (index {snap.version})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Bilingual RAG over reports on AI in healthcare.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index from a corpus directory")
    p.add_argument("corpus_dir", nargs="?")
    p.add_argument("--out", help="index directory (default: RAG_INDEX_DIR or ./index)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--store", choices=["faiss", "milvus"], help="dense store of the new snapshot (default: RAG_STORE)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("migrate", help="copy the current index to another dense store without re-embedding")
    p.add_argument("--to", required=True, choices=["faiss", "milvus"])
    p.add_argument("--index", help="index directory (default: RAG_INDEX_DIR or ./index)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("ask", help="answer one question with cited passages")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--index")
    p.add_argument("--summarize", action="store_true",
                   help="rewrite the answer with the LLM at RAG_LLM_BASE_URL (checked; falls back to extractive)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API and web page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--index")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("docs", help="list, add or remove documents (stored durably, indexed incrementally)")
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("paths", nargs="*", help="files to add, or document ids to remove")
    p.add_argument("--id", help="document id for a single added file (default: the file name stem)")
    p.add_argument("--title")
    p.add_argument("--index")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("eval", help="run the gold Q&A set and report metrics per language pair and kind")
    p.add_argument("--gold", help="a .jsonl file or a directory of them (default: eval/gold)")
    p.add_argument("--index")
    p.add_argument("--url", help="evaluate a running server instead of the in-process engine")
    p.add_argument("--out", help="write report.json, report.md and report.png here")
    p.add_argument("--compare", metavar="REPORT",
                   help="an earlier run's report.json (or its --out directory): list the questions that moved and "
                        "test whether the figures changed beyond the questions' noise")
    for name in ("min_hit5", "min_mrr", "min_same_hit5", "min_cross_hit5", "min_answer", "min_oos_refused",
                 "max_answerable_refused"):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=None)
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
