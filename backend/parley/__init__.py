"""Parley: a self-hosted realtime LLM chat server."""

__version__ = "0.1.0"
