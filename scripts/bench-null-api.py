#!/usr/bin/env python3
"""A measuring instrument for bench-service.sh, not an engine: a Docker API
server that answers `docker run --rm` at once, with a container that runs
in no time. `docker run` against it is the docker CLI's own cost for that
command (a Go process's start, five requests and their answers), which is
in every docker-driven run and in no `berth run`: subtracted, what remains
is what a real service adds.

Usage: bench-null-api.py SOCKET   (serves until killed)
It answers exactly the requests docker 28 sends for `docker run --rm`:
HEAD/GET /_ping, POST create, the attach upgrade (held open until start),
POST wait (its head at once, its body, status 0, once the container has
started) and POST
start. Anything else is a 404, so a change in the CLI's sequence shows.
"""

import json
import re
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

started = {}  # container id -> threading.Event
lock = threading.Lock()
counter = 0


def event_for(cid):
    with lock:
        return started.setdefault(cid, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def send(self, status, body=None, extra=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Api-Version", "1.47")
        self.send_header("Ostype", "linux")
        for name, value in extra:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def path_only(self):
        return re.sub(r"^/v1\.\d+", "", self.path.split("?", 1)[0])

    def do_HEAD(self):
        if self.path_only() == "/_ping":
            self.send(200, extra=[("Content-Type", "text/plain")])
        else:
            self.send(404, {"message": "not served"})

    def do_GET(self):
        if self.path_only() == "/_ping":
            data = b"OK"
            self.send_response(200)
            self.send_header("Api-Version", "1.47")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send(404, {"message": "not served"})

    def do_POST(self):
        global counter
        self.body()
        path = self.path_only()
        if path == "/containers/create":
            with lock:
                counter += 1
                cid = f"{counter:064x}"
            self.send(201, {"Id": cid, "Warnings": []})
            return
        match = re.fullmatch(r"/containers/([0-9a-f]+)/(attach|wait|start)", path)
        if not match:
            self.send(404, {"message": "not served"})
            return
        cid, action = match.groups()
        if action == "start":
            event_for(cid).set()
            self.send(204)
        elif action == "wait":
            # The head goes at once (the CLI waits for it before it starts
            # the container), the body when the container is done.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            event_for(cid).wait(10)
            data = json.dumps({"StatusCode": 0, "Error": None}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            with lock:
                started.pop(cid, None)
        else:
            self.wfile.write(
                b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
            )
            self.wfile.flush()
            # The stream ends when the container does, here once started.
            event_for(cid).wait(10)
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


Server(sys.argv[1], Handler).serve_forever()
