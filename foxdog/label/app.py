"""The labelling web app: Starlette routes over a :class:`~foxdog.label.session.LabelSession`.

Routes: ``/`` (the page), ``/static/<fixed name>`` (its script, style and the
inlined Vega bundle), ``/photo/<int id>`` (a photo of the index, resized for
the screen), ``/api/state`` (everything the page shows), ``/api/curve`` (the
estimate's curve as a Vega-Lite spec), ``POST /api/label``, ``/api/undo`` and
``/api/strategy``.

Safe by default: only hosts the app was bound to are accepted
(``TrustedHostMiddleware``: a DNS-rebinding page gets 400); a request with an
``Origin`` must come from the app's own origin, and a state-changing request
must be JSON (a cross-site form cannot send it without a CORS preflight, which
the app never answers); photos are looked up by integer id in the index, so no
part of a request ever becomes a path.
"""

from __future__ import annotations

import functools
import io as bytes_io
import socket
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from foxdog.data.images import to_rgb
from foxdog.label.chart import curve_spec
from foxdog.label.session import LabelError, LabelSession

STATIC = {  # the only files the app serves besides photos: name -> media type
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
SAFE_METHODS = frozenset({"GET", "HEAD"})
PHOTO_CACHE = 64  # resized photos kept in memory (the page preloads the next two)


def allowed_hosts(host: str) -> list[str]:
    """Host names the app answers to when bound to ``host``."""
    hosts = {host, "localhost", "127.0.0.1", "::1", "[::1]"}
    if host in ("0.0.0.0", "::", ""):
        # Bound to every interface on purpose: accept this machine's own names.
        hosts |= {socket.gethostname(), socket.getfqdn()}
    return sorted(hosts)


class SameOriginMiddleware:
    """Refuse cross-origin requests: a foreign ``Origin``, or a non-JSON state change."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            problem = self._problem(scope["method"], headers)
            if problem:
                await PlainTextResponse(problem, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _problem(method: str, headers: dict[str, str]) -> str | None:
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return f"foxdog: origin {origin!r} is not this app's (http://{host})"
        if headers.get("sec-fetch-site") == "cross-site":
            return "foxdog: cross-site request refused"
        if method not in SAFE_METHODS:
            kind = headers.get("content-type", "").split(";")[0].strip()
            if kind != "application/json":
                return f"foxdog: {method} needs Content-Type application/json, got {kind!r}"
        return None


@functools.cache
def _static(name: str) -> bytes:
    return resources.files("foxdog.label").joinpath("static", name).read_bytes()


@functools.cache
def _vega_bundle() -> bytes:
    # vl-convert ships vega, vega-lite and vega-embed as one script: no CDN.
    import vl_convert as vlc

    return vlc.javascript_bundle().encode("utf-8")


def display_jpeg(path: Path, size: int) -> bytes:
    """The photo at ``path`` as a JPEG whose longer side is at most ``size``, EXIF-oriented."""
    with Image.open(path) as im:
        im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale directly (fast)
        rgb = to_rgb(ImageOps.exif_transpose(im))
    rgb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = bytes_io.BytesIO()
    rgb.save(out, format="JPEG", quality=88)
    return out.getvalue()


def create_app(session: LabelSession, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app for ``session``, accepting requests addressed to ``host``."""

    @functools.lru_cache(maxsize=PHOTO_CACHE)
    def photo_bytes(photo_id: int) -> bytes | None:
        path = session.project.photo_path(photo_id)
        if path is None or not path.is_file():
            return None
        try:
            return display_jpeg(path, session.cfg.display_size)
        except (OSError, ValueError, SyntaxError):
            return None

    async def page(request: Request) -> Response:
        return Response(_static("index.html"), media_type=STATIC["index.html"])

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "vega.js":
            return Response(_vega_bundle(), media_type=STATIC["app.js"])
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        return Response(_static(name), media_type=STATIC[name])

    async def photo(request: Request) -> Response:
        photo_id = request.path_params["photo_id"]
        data = await run_in_threadpool(photo_bytes, photo_id)
        if data is None:
            return PlainTextResponse(f"photo {photo_id}: not available", status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def state(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(session.status))

    async def curve(request: Request) -> Response:
        points = await run_in_threadpool(session.curve)
        return JSONResponse(curve_spec(points, session.cfg.confidence))

    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise LabelError(400, "body: not JSON") from None
        if not isinstance(body, dict):
            raise LabelError(400, "body: must be a JSON object")
        return body

    async def label(request: Request) -> Response:
        body = await _json(request)
        photo_id = body.get("id")
        if isinstance(photo_id, bool) or not isinstance(photo_id, int):
            raise LabelError(400, f"id {photo_id!r}: must be an integer photo id")
        await run_in_threadpool(session.label, photo_id, str(body.get("class", "")))
        return JSONResponse(await run_in_threadpool(session.status))

    async def undo(request: Request) -> Response:
        await _json(request)
        await run_in_threadpool(session.undo)
        return JSONResponse(await run_in_threadpool(session.status))

    async def strategy(request: Request) -> Response:
        body = await _json(request)
        await run_in_threadpool(session.set_strategy, str(body.get("name", "")))
        return JSONResponse(await run_in_threadpool(session.status))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LabelError)
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    routes = [
        Route("/", page),
        Route("/static/{name:str}", static),
        Route("/photo/{photo_id:int}", photo),
        Route("/api/state", state),
        Route("/api/curve", curve),
        Route("/api/label", label, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/strategy", strategy, methods=["POST"]),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host)),
        Middleware(SameOriginMiddleware),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={LabelError: refused})
