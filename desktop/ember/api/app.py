"""The local API as an ASGI application (FastAPI), assembled over one :class:`~ember.core.Core`.

``create_app(core, config)`` is the only place the routes and the security checks are put
together. No interactive docs: ``/docs`` would load scripts from the internet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.api.errors import ApiError, from_domain, internal_error
from ember.errors import EmberError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ember.api.config import ServeConfig
    from ember.core import Core


def create_app(core: Core, config: ServeConfig) -> FastAPI:
    """The API over ``core``, listening as ``config`` says (every request is checked first)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="Ember", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.core = core
    app.state.config = config

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(EmberError)
    async def _domain_error(_request: Request, exc: EmberError) -> JSONResponse:
        error = from_domain(exc)
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":  # loc is ("body", character offset)
            error = ApiError(400, "The request body is not valid JSON.", code="invalid_json")
            return JSONResponse(error.body(), status_code=400)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid value')}" if where else "Invalid request."
        error = ApiError(400, message, param=where or None)
        return JSONResponse(error.body(), status_code=400)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this answer; the client gets OpenAI's shape.
        error = internal_error()
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else None
        error = ApiError(exc.status_code, str(exc.detail), code=kind)
        return JSONResponse(error.body(), status_code=exc.status_code)

    from ember.api import routes_chat, routes_embeddings, routes_models
    from ember.api.security import SecurityMiddleware

    app.add_middleware(SecurityMiddleware, config=config)  # outside every route: see its module
    app.include_router(routes_models.router)
    app.include_router(routes_embeddings.router)
    app.include_router(routes_chat.router)

    from ember.api.mcp_server import mount_mcp

    mount_mcp(app, core, config)  # the MCP server at /mcp (streamable HTTP)
    return app
