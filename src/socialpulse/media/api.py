"""``GET /media/{key}``: stored images, served from the configured store.

Images are public data (the creators' own thumbnails and pictures), so the route needs no
login and is not part of the API's schema. A key is content-addressed and never changes, so
browsers and proxies may keep it for a year without asking again. Only keys of the one shape
``media.storage.KEY_PATTERN`` allows are looked up: ``..``, absolute paths and anything else
are a 404 before the disk or the bucket is touched.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import FileResponse, JSONResponse

from socialpulse.errors import error_body
from socialpulse.kit.routing import api_router
from socialpulse.media.storage import (
    CACHE_CONTROL,
    InvalidKey,
    StorageError,
    check_image_key,
    get_storage,
)

__all__ = ["router"]

router = api_router(include_in_schema=False)

_HEADERS = {"Cache-Control": CACHE_CONTROL}


def _not_found() -> Response:
    return JSONResponse(error_body("not_found", "no such image"), status_code=404)


@router.get("/media/{key:path}")
def media_file(key: str, request: Request) -> Response:
    try:
        check_image_key(key)
    except InvalidKey:
        return _not_found()
    storage = get_storage(request.app.state.settings)
    path = storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type="image/webp", headers=_HEADERS)
    try:
        data = storage.get(key)
    except StorageError:
        # The bucket is unreachable; the store's error names it, which is the operator's.
        return JSONResponse(
            error_body("service_unavailable", "the image store cannot be reached"), status_code=503
        )
    if data is None:
        return _not_found()
    return Response(data, media_type="image/webp", headers=_HEADERS)
