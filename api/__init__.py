"""FastAPI application serving the engine over REST and the web page."""
