"""Print the README's reliability figures (Markdown) from test-artifacts/reliability.json.

The file is written by tests/reliability (`make test`; the kill -9, concurrency and schemathesis figures come
from the `slow` tests). Usage: .venv/bin/python scripts/reliability_summary.py [path]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "test-artifacts" / "reliability.json"


def summary(data: dict[str, dict[str, object]]) -> list[str]:
    lines = ["| check | result |", "|---|---|"]
    kill = data.get("kill9_rebuild")
    if kill:
        lines.append(f"| `kill -9` during `rag index` (seed {kill['seed']}) | {kill['survived']}/{kill['kill_runs']} "
                     f"runs left a loadable, complete index ({kill['loaded_previous']} previous, {kill['loaded_new']} "
                     f"new; {kill['left_building_dirs']} half-written `.building-*` dirs, all removed by the next "
                     "build) |")
    conc = data.get("concurrency")
    if conc:
        lines.append(f"| {conc['clients']} concurrent `/v1/ask` clients, {conc['duration_s']:.0f} s, one upload + one "
                     f"delete ({conc['cpu_cores']} cores) | {conc['requests_served']} requests "
                     f"({conc['requests_per_s']}/s), {conc['errors_5xx']} 5xx, {conc['transport_errors']} transport "
                     f"errors, {conc['mixed_version_responses']} mixed-version answers; "
                     f"p50 {conc['latency_ms_p50']} ms, p95 {conc['latency_ms_p95']} ms |")
        lines.append(f"| server memory (RSS) | {conc['rss_mb_ready']} MB ready, {conc['rss_mb_start']} MB after "
                     f"warm-up, {conc['rss_mb_end']} MB after the run |")
    for key, label in (("schemathesis_no_key", "without"), ("schemathesis_api_key", "with")):
        fuzz = data.get(key)
        if fuzz:
            ops = fuzz["operations"]
            assert isinstance(ops, list)
            lines.append(f"| schemathesis {fuzz['schemathesis']}, {len(ops)} operations, {label} the "
                         f"API key | {fuzz['requests']} generated requests, {fuzz['server_errors']} 5xx |")
    return lines


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not path.exists():
        sys.stderr.write(f"{path} not found; run `make test` first\n")
        return 1
    sys.stdout.write("\n".join(summary(json.loads(path.read_text(encoding="utf-8")))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
