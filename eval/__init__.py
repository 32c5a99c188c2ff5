"""Evaluation: the gold Q&A set (`rag eval`) and public retrieval benchmarks."""
