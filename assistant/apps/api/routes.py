"""The REST endpoints under /api. Handlers are plain functions run in FastAPI's thread pool.

Every list a request sends is bounded (schemas.MAX_FILTER_VALUES…: 422 beyond). Article urls
leave the API only as http(s) links: any other (``javascript:``, ``data:``…, which the readers
refuse since, but an older index may hold) is returned as null. Uploaded files are read and
embedded before the index's write lock is taken, so neither holds up questions.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from starlette.routing import Match

from assistant.ingest.readers import SUPPORTED_SUFFIXES, web_url
from assistant.apps.web.uploads import Upload, UploadTooLarge, check_uploads, prepare_uploads, upload_name
from assistant.apps.api import schemas
from assistant.apps.api.errors import ApiError
from assistant.apps.api.guards import api_key_dependency

ERRORS = {status: {"model": schemas.ErrorResponse, "description": text} for status, text in {
    400: "Malformed request", 401: "Missing or wrong API key", 403: "A write from another site's page, without the key",
    422: "Invalid parameters", 429: "Too many wrong API keys from this address (see Retry-After)",
    503: "Index or answer backend unavailable",
}.items()}


def build_router(shared, settings) -> APIRouter:
    key_check = api_key_dependency(settings)
    router = APIRouter(prefix="/api", dependencies=[Depends(key_check)] if key_check else [], responses=ERRORS)

    def question_checked(question: str) -> str:
        question = question.strip()
        if not question:
            raise ApiError(422, "question: must not be blank", [{"loc": ["body", "question"], "msg": "blank"}])
        limit = settings.max_question_chars
        if len(question) > limit:
            raise ApiError(422, f"question: {len(question)} characters is over the limit of {limit}; shorten it",
                           [{"loc": ["body", "question"], "msg": f"at most {limit} characters"}])
        return question

    def values_checked(name: str, values: list[str]) -> list[str]:
        limit, longest = schemas.MAX_FILTER_VALUES, schemas.MAX_FILTER_CHARS
        if len(values) > limit:
            raise ApiError(422, f"{name}: {len(values)} values is over the limit of {limit}; send fewer",
                           [{"loc": ["query", name], "msg": f"at most {limit} values"}])
        if any(len(value) > longest for value in values):
            raise ApiError(422, f"{name}: a value is over {longest} characters",
                           [{"loc": ["query", name], "msg": f"at most {longest} characters each"}])
        return values

    @router.post("/ask", response_model=schemas.AskResponse, tags=["questions"],
                 summary="Answer a question from the indexed articles, with citations")
    def ask(request: schemas.AskRequest):
        question = question_checked(request.question)
        history = [turn.as_answer() for turn in request.history]
        answer = shared.ask(question, request.k, request.filters, mode=request.mode, history=history)
        for item in [*answer.citations, *answer.passages]:
            item.url = web_url(item.url)
        for citation in answer.citations:
            for copy in citation.also_published_by:
                copy.url = web_url(copy.url)
        return answer

    @router.get("/search", response_model=schemas.SearchResponse, tags=["questions"],
                summary="The passages retrieved for a query")
    def search(
        q: Annotated[str, Query(min_length=1, description="The query.")],
        k: Annotated[int | None, Query(ge=1, le=100, description="Passages to return.")] = None,
        source: Annotated[list[str], Query(description="Only these outlets (repeat the parameter).")] = [],
        since: Annotated[str | None, Query(description="Published on or after (YYYY-MM-DD).")] = None,
        until: Annotated[str | None, Query(description="Published on or before (YYYY-MM-DD).")] = None,
        category: Annotated[list[str], Query(description="Only these categories.")] = [],
    ):
        query = question_checked(q)
        filters = schemas.RequestFilters(sources=values_checked("source", source), since=since, until=until,
                                         categories=values_checked("category", category))
        passages = shared.search(query, k, filters)
        for passage in passages:
            passage.url = web_url(passage.url)
        return schemas.SearchResponse(query=query, filters=filters, passages=passages)

    @router.get("/articles", response_model=schemas.ArticleList, tags=["articles"], summary="The indexed articles")
    def list_articles():
        rows = [{**row, "url": web_url(row.get("url")),
                 "duplicates": [{**c, "url": web_url(c["url"])} for c in row.get("duplicates", [])]}
                for row in shared.articles(duplicates=True)]
        return schemas.ArticleList(total=len(rows), articles=rows)

    @router.post(
        "/articles", response_model=schemas.UploadResponse, tags=["articles"], status_code=201,
        summary="Upload article files and index them",
        description=f"Multipart field `files`, one or more of {', '.join(SUPPORTED_SUFFIXES)}; at most "
                    f"{settings.max_upload_files} files and {settings.max_upload_mb:g} MB in all. Files or records "
                    "that cannot be read (whatever they hold) are listed in `errors`, each with the fix; the rest "
                    "is indexed (201, or 200 when nothing changed). When no article at all could be read the "
                    "answer is 400.",
        responses={413: {"model": schemas.ErrorResponse, "description": "Too many bytes or files"},
                   415: {"model": schemas.ErrorResponse, "description": "A file type is not supported"}},
    )
    def upload_articles(response: Response, files: Annotated[list[UploadFile], File(description="Article files.")]):
        if len(files) > settings.max_upload_files:
            raise UploadTooLarge("files", f"{len(files)} files; at most {settings.max_upload_files} per upload",
                                 "upload fewer files at once or raise ASSISTANT_MAX_UPLOAD_FILES")
        with tempfile.TemporaryDirectory(prefix="assistant-upload-") as folder:
            uploads = []
            for i, upload in enumerate(files):
                name = upload_name(upload.filename)
                path = Path(folder) / f"{i}{Path(name).suffix.lower()}"
                with path.open("wb") as out:
                    shutil.copyfileobj(upload.file, out)
                uploads.append(Upload(name, path, path.stat().st_size))
            check_uploads(uploads, settings)
            # Read and embedded here, outside the index's write lock: questions go on meanwhile.
            uploads = prepare_uploads(shared.assistant.indexer, uploads, settings)
            result = shared.ingest_uploads(uploads)
        body = schemas.UploadResponse(**result.as_dict())
        if not result.articles:
            first = f"; first problem: {body.errors[0].where}: {body.errors[0].problem}" if body.errors else ""
            raise ApiError(400, f"No article could be read from the upload{first}.",
                           [e.model_dump() for e in body.errors])
        if not (body.added or body.updated):
            response.status_code = 200
        return body

    @router.delete("/articles/{article_id}", response_model=schemas.Deleted, tags=["articles"],
                   summary="Remove an article from the index",
                   responses={404: {"model": schemas.ErrorResponse, "description": "No such article"}})
    def delete_article(article_id: str):
        if not shared.delete_article(article_id):
            raise ApiError(404, f"No indexed article has the id {article_id!r}; GET /api/articles lists them.")
        return schemas.Deleted(deleted=article_id)

    def refreshed(done) -> schemas.FeedRefreshed:
        return schemas.FeedRefreshed(feed=done.feed.as_dict(), items=[
            {**row, "url": web_url(row["url"]) or row["url"]} for row in done.report.items])

    @router.get("/feeds", response_model=schemas.FeedList, tags=["feeds"], summary="The subscribed feeds")
    def list_feeds():
        return schemas.FeedList(feeds=[f.as_dict() for f in shared.feeds()])

    @router.post("/feeds", response_model=schemas.FeedRefreshed | schemas.Feed, tags=["feeds"], status_code=201,
                 summary="Subscribe to an RSS or Atom feed (and fetch it now)",
                 description="The server refreshes subscribed feeds every ASSISTANT_FEED_REFRESH_MINUTES. With "
                             "`fetch` (default) the feed is read at once and the answer lists what became of "
                             "each item. The address is fetched first either way: one that cannot be fetched (a 404, an "
                             "address inside the server's network) or that is not an RSS or Atom feed is refused "
                             "(400, the reason in the message) and not subscribed.",
                 responses={400: {"model": schemas.ErrorResponse,
                                  "description": "Not a feed, or it could not be fetched (the reason says which)"}})
    def add_feed(request: schemas.FeedRequest):
        done = shared.add_feed(request.url, fetch=request.fetch)
        return refreshed(done) if request.fetch else schemas.Feed(**done.as_dict())

    @router.delete("/feeds", response_model=schemas.Deleted, tags=["feeds"],
                   summary="Unsubscribe from a feed (what it brought stays indexed)",
                   responses={404: {"model": schemas.ErrorResponse, "description": "Not a subscribed feed"}})
    def remove_feed(url: Annotated[str, Query(min_length=1, max_length=2000, description="The feed's URL.")]):
        if not shared.remove_feed(url):
            raise ApiError(404, f"{url!r} is not a subscribed feed; GET /api/feeds lists them.")
        return schemas.Deleted(deleted=url)

    @router.post("/feeds/refresh", response_model=list[schemas.FeedRefreshed], tags=["feeds"],
                 summary="Fetch subscribed feeds now (all, or those listed)",
                 responses={404: {"model": schemas.ErrorResponse, "description": "A listed URL is not a subscribed feed"}})
    def refresh_feeds(request: schemas.FeedRefreshRequest):
        known = {f.url for f in shared.feeds()}
        unknown = [u for u in request.urls if u not in known]
        if unknown:
            raise ApiError(404, f"{unknown[0]!r} is not a subscribed feed; POST /api/feeds subscribes to it.")
        return [refreshed(done) for done in shared.refresh_feeds(request.urls or None)]

    @router.get("/health", response_model=schemas.Health, tags=["service"],
                summary="Can questions be answered? Each part of a question's path is exercised",
                responses={503: {"model": schemas.ErrorResponse,
                                 "description": "A part failed: the message names it (index, bm25, embedding_model, "
                                                "retrieval)"}})
    def health():
        articles, chunks = shared.counts()
        parts = shared.health()
        failed = {name: state for name, state in parts.items() if not state.startswith("ok")}
        if failed:
            raise ApiError(503, "Unhealthy: " + "; ".join(f"{name}: {state}" for name, state in failed.items()),
                           details=[{"part": name, "problem": state} for name, state in failed.items()])
        return schemas.Health(status="ok", articles=articles, chunks=chunks, answer_modes=shared.answer_modes(),
                              auth_required=settings.api_key is not None, parts=parts)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
                      include_in_schema=False)
    def unknown(path: str, request: Request):
        # Without this, the web chat mounted at / would answer unknown /api paths (and methods no
        # route takes, such as TRACE or a CORS preflight's OPTIONS) in its own format.
        known = [r for r in router.routes if r.name != "unknown"]
        allowed = sorted({m for r in known if r.matches(request.scope)[0] == Match.PARTIAL for m in r.methods or ()})
        method = request.scope.get("original_method", request.method)  # see guards.OtherMethods
        if allowed:
            raise ApiError(405, f"{method} is not allowed on /api/{path}; it takes {', '.join(allowed)} "
                                "(see /docs)", headers={"Allow": ", ".join(allowed)})
        raise ApiError(404, f"No API endpoint /api/{path}; see /docs for the list.")

    return router
