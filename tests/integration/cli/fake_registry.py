"""fake_registry.py - a scripted HTTP server for testing chanctl's client side.

The real daemon cannot be made to misbehave on demand: send HTML instead of
JSON, stall past a timeout, or reply with control characters in its strings.
This server answers each (method, path) with a canned reply given by the test
and records every request it receives (method, path, headers, body), so that
a test can also assert what chanctl sent.
"""

import http.server
import json
import threading
import time


class Reply:
    """A canned answer: status, body (str, bytes or a JSON-able value), delay."""

    def __init__(self, status=200, body=None, delay=0.0, content_type="application/json"):
        self.status = status
        self.body = body
        self.delay = delay
        self.content_type = content_type

    def encoded(self):
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class FakeRegistry:
    """Start with `with FakeRegistry() as fake:`; fake.url is the base URL."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "body": body.decode("utf-8", "replace"),
                        }
                    )
                    reply = fake.routes.get((self.command, self.path))
                if reply is None:
                    reply = Reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def route(self, method, path, reply):
        with self._lock:
            self.routes[(method, path)] = reply

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
