"""The framework's ceiling: a bare FastAPI endpoint that reads the body and answers 204."""

from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/{path:path}", status_code=204)
async def accept(request: Request, path: str) -> Response:
    """Read the whole body, answer 204: what any connector does at the least."""
    await request.body()
    return Response(status_code=204)


@app.get("/readyz")
async def ready() -> dict[str, str]:
    """Always ready: nothing behind it."""
    return {"status": "ready"}
