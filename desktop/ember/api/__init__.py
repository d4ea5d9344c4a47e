"""Ember as a local service: an OpenAI-compatible HTTP API and an MCP server over the same core.

The API is a shell over :class:`ember.core.Core`, like ``ember.cli`` and ``ember.ui``: it
assembles nothing of its own. Modules, one job each:

- :mod:`~ember.api.config`: what a server is started with (:class:`ServeConfig`) and the API key
  kept in the data folder;
- :mod:`~ember.api.errors`: :class:`ApiError` and OpenAI's error shape, and the one place domain
  errors become HTTP statuses;
- :mod:`~ember.api.app`: the ASGI application (FastAPI) with its security checks and routes;
- :mod:`~ember.api.server`: uvicorn on a socket of our own, on a background thread (``ember serve``
  waits for Ctrl-C; the window goes on).

Heavy parts (FastAPI, uvicorn, the model) are imported on first use.
"""
