"""A path-routed ``httpx.MockTransport`` for provider tests (no network)."""

from __future__ import annotations

import httpx


class Routes:
    """An ``httpx.MockTransport`` answering by URL path: ``add(path, *responses)`` answers
    the requests whose path ends with ``path`` with ``responses`` in turn (the last one again
    after that); ``requests`` keeps every request. Anything else is a test failure (404)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, path: str, *responses: httpx.Response) -> None:
        self.routes[path] = list(responses)

    def to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(path)]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for path in sorted(self.routes, key=len, reverse=True):
            if request.url.path.endswith(path):
                answers = self.routes[path]
                return answers.pop(0) if len(answers) > 1 else answers[0]
        return httpx.Response(404, json={"error": f"no route for {request.url.path}"})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))
