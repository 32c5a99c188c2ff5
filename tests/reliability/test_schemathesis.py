"""Schema-driven fuzzing (schemathesis) of every operation in the OpenAPI schema: no input gives a 5xx.

Runs in process against the ASGI app, on a private copy of the index: with the API key, generated deletes
and uploads are real writes and must not touch the session index other tests read. Both generation modes:
positive (valid by the schema) and negative (violating it).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation

from api.app import create_app
from rag.config import Settings
from rag.embedders import Embedder
from rag.engine import Engine
from tests.conftest import CORPUS
from tests.reliability.live_server import record_figures

KEY = "schemathesis-key-9d7e"
MAX_EXAMPLES = 30  # per operation, generation mode and key mode: ~600 requests in all, well under two minutes


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, index_dir: Path, embedder: Embedder) -> Iterator[FastAPI]:
    root = tmp_path_factory.mktemp("schemathesis")
    shutil.copytree(index_dir, root / "index", symlinks=True)
    settings = Settings(index_dir=root / "index", corpus_dir=CORPUS, uploads_dir=root / "uploads", api_key=KEY)
    yield create_app(settings, engine=Engine.from_settings(settings, embedder))


@pytest.fixture(scope="module")
def operations(fuzz_app: FastAPI) -> list[APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str], seen: Counter[int]) -> None:
    """MAX_EXAMPLES generated requests for one operation; raises on the first 5xx (shrunk by hypothesis)."""

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              verbosity=Verbosity.quiet)
    def run(case: Case) -> None:
        response = case.call(headers=headers)
        seen[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error], headers=headers)

    run()


# The pytest plugin's `schemathesis.pytest.from_fixture` breaks on pytest 9 (it rewrites Function._nodeid), so
# each operation's strategy is driven with hypothesis directly: the same generation and the same check.
@pytest.mark.slow
@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "api-key"])
def test_no_input_in_the_schema_causes_a_server_error(operations: list[APIOperation], with_key: bool) -> None:
    headers = {"X-API-Key": KEY} if with_key else {}
    seen: Counter[int] = Counter()
    failures: list[str] = []
    unsatisfiable: list[str] = []
    for operation in operations:
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, headers, seen)
            except Unsatisfiable:  # nothing to negate: the operation takes no parameters and no body
                unsatisfiable.append(f"{operation.label} [{mode.value}]")
            except Exception as e:  # collect all operations' failures, then fail once with every one listed
                failures.append(f"{operation.label} [{mode.value}]: {type(e).__name__}: {str(e)[:500]}")
    print(f"\nschemathesis {schemathesis.__version__}: {len(operations)} operations, {sum(seen.values())} "
          f"requests, status codes {dict(sorted(seen.items()))}")
    record_figures(f"schemathesis_{'api_key' if with_key else 'no_key'}", {
        "schemathesis": schemathesis.__version__, "operations": [op.label for op in operations],
        "requests": sum(seen.values()), "status_codes": {str(k): v for k, v in sorted(seen.items())},
        "server_errors": sum(v for k, v in seen.items() if k >= 500), "no_negative_data": unsatisfiable})
    assert not failures, "\n".join(failures)
    assert sum(v for k, v in seen.items() if k >= 500) == 0
