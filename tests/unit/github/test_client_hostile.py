"""The GitHub client against hostile or wrong servers: the token stays on the API's origin, every
exchange has a deadline and a size bound, and answers that are not the API's JSON give one line."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from ci_mlops.errors import ServiceError, UserError
from ci_mlops.github.client import BadAnswer, GitHubClient, MissingField

TOKEN = "ghs_SECRETtoken0123456789"


class Server:
    """A loopback HTTP server whose answer is ``handler(request) -> (status, headers, body)``.

    Logs every request's path and Authorization header. ``raw`` handlers get the socket
    instead and write what they like (trickling, never ending).
    """

    def __init__(self, handler: Callable[..., Any], *, raw: bool = False, host: str = "127.0.0.1"):
        self.log: list[tuple[str, str | None]] = []
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                server.log.append((self.path, self.headers.get("authorization")))
                if raw:
                    try:
                        handler(self.wfile, server)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                status, headers, body = handler(self)
                self.send_response(status)
                for key, value in {"content-length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://{host}:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(*args: Any, **kw: Any) -> Server:
        made.append(Server(*args, **kw))
        return made[-1]

    yield make
    for server in made:
        server.close()


def client_for(url: str, **kw: Any) -> GitHubClient:
    kw.setdefault("sleep", lambda s: None)
    return GitHubClient(url, TOKEN, **kw)


# -- the token stays on the API's origin --------------------------------------------------------------


@pytest.mark.parametrize("other_host", ["localhost", "127.0.0.2"])
def test_link_next_to_another_host_is_refused_without_sending_the_token(servers, other_host):
    try:
        socket.getaddrinfo(other_host, 80)
    except OSError:
        pytest.skip(f"{other_host} does not resolve")
    try:
        thief = servers(lambda h: (200, {"content-type": "application/json"}, b"[]"), host=other_host)
    except OSError:
        pytest.skip(f"cannot listen on {other_host}")
    api = servers(lambda h: (200, {"content-type": "application/json",
                                    "link": f'<{thief.url}/steal?page=2>; rel="next"'}, b'[{"id": 1}]'))
    client = client_for(api.url)
    with pytest.raises(BadAnswer, match="another host"):
        list(client.paginate("repos/o/r/issues"))
    assert thief.log == [] and api.log[0][1] == f"Bearer {TOKEN}"
    # the comment scanner follows pages by hand: same rule
    from ci_mlops.github.comments import find_sticky

    with pytest.raises(BadAnswer, match="another host"):
        find_sticky(client, "o/r", 1, "ci-mlops")
    assert thief.log == []


@pytest.mark.parametrize("target", ["{other}/x", "http://{api_host_only}:1/x", "https://{api_host_only}/x",
                                    "{api_host}:1/x", "http://{api_host_only}.evil/x", "//{api_host_only}/x"])
def test_no_token_to_a_url_on_another_origin(servers, target):
    other = servers(lambda h: (200, {}, b"{}"))
    api = servers(lambda h: (200, {}, b"{}"))
    host_only = api.url.split("//")[1].split(":")[0]
    url = target.format(other=other.url, api_host=api.url, api_host_only=host_only)
    client = client_for(api.url, max_elapsed=0)
    assert not client.trusted(url)
    if url.startswith(other.url):
        client.request("GET", url)
        assert other.log == [("/x", None)]


def test_token_goes_to_the_api_and_its_upload_host():
    client = GitHubClient("https://api.github.com", TOKEN)
    assert client.trusted("https://api.github.com/repos/o/r")
    assert not client.trusted("https://uploads.github.com/repos/o/r/releases/1/assets")
    assert client.trusted("https://uploads.github.com/repos/o/r/releases/1/assets", upload=True)
    assert not client.trusted("https://evil.example/repos", upload=True)
    assert not client.trusted("http://api.github.com/repos/o/r")  # scheme downgrade
    ghes = GitHubClient("https://ghe.corp/api/v3", TOKEN)
    assert ghes.trusted("https://ghe.corp/api/uploads/repos/o/r/releases/1/assets", upload=True)
    assert not ghes.trusted("https://ghe.corp.evil/api/v3/x", upload=True)


# -- deadlines and size bounds ---------------------------------------------------------------------------


def trickle_body(wfile: Any, server: Server) -> None:
    wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
    wfile.flush()
    for _ in range(100000):
        wfile.write(b" ")
        wfile.flush()
        server.sent += 1
        time.sleep(0.05)


def trickle_headers(wfile: Any, server: Server) -> None:
    wfile.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(100000):
        wfile.write(f"x-h{i}: {i}\r\n".encode())
        wfile.flush()
        server.sent += 1
        time.sleep(0.05)


@pytest.mark.parametrize("trickle", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_meets_the_deadline(servers, trickle):
    # A byte every 50 ms: the socket timeout (5 s) never trips, the deadline (0.3 s) does.
    server = servers(trickle, raw=True)
    client = client_for(server.url, timeout=5, deadline=0.3, max_elapsed=0.45)
    with pytest.raises(ServiceError) as err:
        client.get_json("repos/o/r")
    assert "within 0.3s" in err.value.message or "gave up" in err.value.message
    assert 0 < server.sent < 100000  # cut off long before the server was done
    assert "Traceback" not in err.value.message


def test_a_non_idempotent_request_past_the_deadline_is_an_answer_lost(servers):
    server = servers(trickle_body, raw=True)
    client = client_for(server.url, timeout=5, deadline=0.3)
    with pytest.raises(ServiceError, match="lost"):
        client.request("POST", "repos/o/r/issues", json={"title": "x"})
    assert len(server.log) == 1  # not replayed


def endless(wfile: Any, server: Server) -> None:
    wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    block = b"[" * 65536
    while True:
        wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
        server.sent += len(block)


def test_an_endless_body_is_cut_at_the_size_bound(servers):
    server = servers(endless, raw=True)
    client = client_for(server.url, deadline=60)
    with pytest.raises(ServiceError, match="larger than 1000000 bytes"):
        client.request("GET", "repos/o/r", max_bytes=1_000_000)


# -- answers that are not the API's JSON -----------------------------------------------------------------

BODIES = {
    "html": (b"<!DOCTYPE html><html><body>GitHub Enterprise</body></html>", UserError, "HTML page"),
    "null": (b"null", BadAnswer, "null"),
    "empty-list": (b"[]", BadAnswer, "empty list"),
    "scalar": (b"42", BadAnswer, "int"),
    "not-json": (b"OK", BadAnswer, "invalid JSON"),
    "deep": (b"[" * 5000 + b"]" * 5000, BadAnswer, "nested deeper"),
    "big-int": (b'{"id": ' + b"9" * 5000 + b"}", BadAnswer, "4300"),
}


@pytest.mark.parametrize("name", BODIES)
def test_get_json_refuses_bodies_that_are_not_an_object(servers, name):
    body, error, fragment = BODIES[name]
    server = servers(lambda h: (200, {"content-type": "application/json"}, body))
    with pytest.raises(error, match=fragment):
        client_for(server.url).get_json("repos/o/r")


def test_an_empty_object_fails_on_the_first_field_used(servers):
    server = servers(lambda h: (200, {"content-type": "application/json"}, b"{}"))
    data = client_for(server.url).get_json("repos/o/r/pulls/1")
    assert data.get("head") is None
    with pytest.raises(MissingField, match="without the field 'head'"):
        data["head"]


@pytest.mark.parametrize("body", [b"{}", b'{"total_count": 1}', b'[1, 2]', b'{"a": [], "b": []}', b"null"])
def test_paginate_refuses_pages_without_items(servers, body):
    server = servers(lambda h: (200, {"content-type": "application/json"}, body))
    with pytest.raises(ServiceError):
        list(client_for(server.url).paginate("repos/o/r/issues"))


@pytest.mark.parametrize("name", ["html", "null", "empty-list", "deep", "object"])
def test_comment_against_a_wrong_api_gives_one_line(servers, tmp_path: Path, name):
    body, _, _ = BODIES.get(name, (b"{}", None, None))
    server = servers(lambda h: (200, {"content-type": "text/html" if name == "html" else "application/json"}, body))
    (tmp_path / "report.md").write_text("# report\n")
    out = run_cli("comment", "report.md", "--pr", "1", cwd=tmp_path, env={
        "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": TOKEN, "CI_MLOPS_TOKEN": ""})
    assert out.returncode in (2, 3), (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert lines and "internal error" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert lines[-1].startswith("ci-mlops: error: GitHub API"), lines
    if name == "html":
        assert out.returncode == 2 and "/api/v3" in out.stderr


def test_default_ports_are_the_same_origin():
    client = GitHubClient("https://api.github.com", TOKEN)
    assert client.trusted("https://api.github.com:443/repos")
    assert not client.trusted("https://api.github.com:8443/repos")
