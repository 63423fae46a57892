"""Application services: the rules of the office's work, shared by the CLI and the web page."""
