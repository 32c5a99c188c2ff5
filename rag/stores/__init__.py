"""Vector and lexical stores behind small Protocols; the index module composes them."""
