"""A local receiver for trying agents' replies: ``python -m switchboard_dev.receiver --port 9900``.

Point an outbound URL at it (``CHAT_GENERIC_OUTBOUND_URL=http://127.0.0.1:9900/replies``,
``PHONE_GENERIC_OUTBOUND_URL``) and it prints every request it receives: method, path,
headers and the JSON body. It answers each with 200 ``{"id": "<a new uuid>"}``, which the
connector keeps as the provider's message id. Standard library only; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["main"]


class _Receiver(BaseHTTPRequestHandler):
    """Prints a request and answers it as a provider that took the message would."""

    def do_POST(self) -> None:  # the name http.server calls
        self._receive()

    def do_PUT(self) -> None:
        self._receive()

    def do_GET(self) -> None:
        self._receive()

    def _receive(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        lines = [f"{self.command} {self.path}"]
        lines += [f"  {name}: {value}" for name, value in self.headers.items()]
        lines.append(_shown(raw))
        print("\n".join(lines), flush=True)
        answer = json.dumps({"id": str(uuid.uuid4())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        # Each request is printed whole by _receive; the default access line would repeat it.
        return


def _shown(raw: bytes) -> str:
    """The body as indented JSON, or as text when it is not JSON."""
    if not raw:
        return "  (no body)"
    try:
        document = json.loads(raw)
    except ValueError:
        return "  " + raw.decode("utf-8", "replace")
    return "\n".join("  " + line for line in json.dumps(document, indent=2).splitlines())


def main(argv: list[str] | None = None) -> None:
    """Serve on 127.0.0.1 (``--host`` to change) at ``--port`` until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m switchboard_dev.receiver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9900)
    options = parser.parse_args(argv)
    server = ThreadingHTTPServer((options.host, options.port), _Receiver)
    print(f"receiving on http://{options.host}:{options.port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
