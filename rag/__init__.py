"""Bilingual (English/Chinese) retrieval-augmented QA with cited passages."""

__version__ = "0.1.0"
