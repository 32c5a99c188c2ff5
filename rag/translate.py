"""Cross-lingual query expansion: the question plus its translation into the other language."""

from __future__ import annotations


class QueryExpander:
    """Returns the query variants to search with; the first is always the question itself."""

    def expand(self, question: str, lang: str) -> list[str]:
        return [question]
