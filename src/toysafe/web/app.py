"""The FastAPI application: REST API, web pages, sessions, errors that name the field."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from toysafe import __version__
from toysafe.io.errors import InputError
from toysafe.io.keys import load_or_create
from toysafe.settings import Settings
from toysafe.settings import settings as current_settings
from toysafe.store.accounts import Accounts
from toysafe.store.db import Store
from toysafe.store.memo import TTLCache
from toysafe.web.middleware import Admission, BodyLimit, ClientAddress, SecurityHeaders
from toysafe.web.nul import RejectNul
from toysafe.web.security import Throttle, session_secret

STATIC = Path(__file__).parent / "static"
SWAGGER = "/static/vendor/swagger-ui"
# The interactive API docs, from vendored assets only; the page has no inline script.
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>toysafe API</title>
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
<link rel="icon" type="image/png" href="{SWAGGER}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def create_app(
    store: Store,
    workspace: Path,
    secure_cookies: bool = True,
    settings: Settings | None = None,
) -> FastAPI:
    app = FastAPI(
        title="toysafe",
        version=__version__,
        description="U.S. toy-safety compliance: assess, verify, certify and track toys.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the vendored Swagger UI (works offline)
        redoc_url=None,
    )
    app.state.store = store
    app.state.accounts = Accounts(store)
    app.state.workspace = workspace
    app.state.signing_key, _ = load_or_create(workspace)
    conf = settings or current_settings()
    app.state.settings = conf
    app.state.throttle = Throttle(
        conf.login_free_failures,
        conf.login_backoff_base,
        conf.login_backoff_max,
        conf.client_login_failures,
        conf.client_token_failures,
        conf.client_window,
        store=store,
    )
    app.state.status_cache = TTLCache(max_size=256, ttl=30.0)
    # Added innermost first: a request meets SecurityHeaders, ClientAddress, Admission,
    # BodyLimit, RejectNul, then the session.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(workspace),
        session_cookie="toysafe_session",
        same_site="lax",
        https_only=secure_cookies,
        max_age=int(conf.session_hours * 3600),
    )
    app.add_middleware(RejectNul)
    app.add_middleware(BodyLimit, settings=conf)
    app.add_middleware(Admission, settings=conf)
    app.add_middleware(ClientAddress, settings=conf)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(InputError)
    def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.locations()}, status_code=422)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    from toysafe.web import api, pages, program_api

    app.include_router(api.router)
    app.include_router(program_api.router)
    from toysafe.web import validation_api

    app.include_router(validation_api.router)
    from toysafe.web import review_api

    app.include_router(review_api.router)
    app.include_router(pages.router)

    @app.get("/api/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
