"""One exception hierarchy for the library; `api/` maps each class to an HTTP status."""


class RagError(Exception):
    """Base class for every error the library raises on purpose."""


class InvalidQuery(RagError):
    """The question or its options are not acceptable (empty, too long, bad top_k)."""


class DocumentNotFound(RagError):
    """No document with that id is in the index."""


class InvalidDocument(RagError):
    """An uploaded or loaded document cannot be used (bad id, unsupported type, no text, too large)."""


class IndexMissing(RagError):
    """No index exists where one was expected; run `rag index`."""


class IndexCorrupt(RagError):
    """The index on disk fails its checksums or cannot be parsed; rebuild it with `rag index`."""


class EmbedderMismatch(RagError):
    """The index was built with a different embedder than the one configured."""


class ModelUnavailable(RagError):
    """The configured embedding model cannot be loaded (not installed, or needs a hub download)."""


class Unauthorized(RagError):
    """A write operation was attempted without the right API key."""


class LLMError(RagError):
    """The LLM backend failed (timeout, HTTP error, malformed output)."""
