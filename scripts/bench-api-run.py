#!/usr/bin/env python3
"""Times `docker run --rm` as a long-lived API client makes it (docker-py,
compose, testcontainers, an IDE): the docker CLI's own request sequence, from
one process, so no client start is in the number. Used by bench-service.sh.

Usage: bench-api-run.py SOCKET RUNS WARMUP JSON_OUT NAME [CLI_NAME -- CLI...]
With a CLI command after the name, it is timed too, one run of it after each
API run (the VM's speed drifts within minutes; interleaved, both see the same
drift): the engine's own CLI doing the same run, for what the service adds.
The sequence, as docker 28 sends it for `docker run --rm --network none
busybox true`: HEAD /_ping; POST create; POST attach (upgraded, on its own
connection); POST wait?condition=removed (on its own connection); POST start;
then the attach stream to its end and the wait's answer. The exit code must
be 0, or the run counts as failed.
"""

import http.client
import json
import socket
import statistics
import subprocess
import sys
import time

API = "/v1.41"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def request(conn, method, path, body=None, expect=(200, 201, 204)):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status not in expect:
        sys.exit(f"bench-api-run: {method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


def hijack(sock_path, path):
    """An upgraded attach: the request on a fresh connection, the 101
    answer's head read, and the socket handed back for the stream."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
        "Upgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("bench-api-run: attach closed before its answer")
        head += chunk
    status = head.split(b" ", 2)[1]
    if status not in (b"101", b"200"):
        sys.exit(f"bench-api-run: attach answered {head[:200]!r}")
    return sock, head.split(b"\r\n\r\n", 1)[1]


def one_run(sock_path, conn):
    request(conn, "HEAD", "/_ping")
    created = request(
        conn,
        "POST",
        f"{API}/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["true"],
            "AttachStdout": True,
            "AttachStderr": True,
            "HostConfig": {"AutoRemove": True, "NetworkMode": "none"},
        },
    )
    cid = created["Id"]
    attach, _ = hijack(sock_path, f"{API}/containers/{cid}/attach?stderr=1&stdout=1&stream=1")
    wait = UnixConnection(sock_path)
    wait.request("POST", f"{API}/containers/{cid}/wait?condition=removed")
    request(conn, "POST", f"{API}/containers/{cid}/start", expect=(204,))
    while attach.recv(65536):
        pass
    attach.close()
    answer = wait.getresponse()
    result = json.loads(answer.read())
    wait.close()
    if answer.status != 200 or result.get("StatusCode") != 0:
        sys.exit(f"bench-api-run: wait answered {answer.status} {result}")


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main():
    sock_path, runs, warmup, out, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    cli_name, cli = (sys.argv[6], sys.argv[8:]) if len(sys.argv) > 8 and sys.argv[7] == "--" else (None, None)
    conn = UnixConnection(sock_path)
    series = {name: []}
    if cli:
        series[cli_name] = []
    for i in range(warmup + runs):
        api_time = timed(lambda: one_run(sock_path, conn))
        cli_time = timed(lambda: subprocess.run(cli, check=True)) if cli else None
        if i >= warmup:
            series[name].append(api_time)
            if cli:
                series[cli_name].append(cli_time)
    # hyperfine's JSON shape, so the summary reads every result alike.
    results = [
        {"command": command, "median": statistics.median(times), "mean": statistics.mean(times), "times": times}
        for command, times in series.items()
    ]
    json.dump({"results": results}, open(out, "w"))


main()
