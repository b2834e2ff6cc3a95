#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leak_py_http.py [-p PORT]: the classic Python CLOSE_WAIT leak, for
`tcplinger leaks`.  A standard-library http.server streams a response from
a generator that blocks (on a queue, standing for a backend) after its
first chunk; the client reads that chunk and goes away.  The handler never
notices: the server's socket sits in CLOSE_WAIT while its thread waits in
stream_events() under do_GET().  After a line on stdin the generator ends,
the handler returns and the server closes the socket.
Facts: pid server_port client_port leak_pid leak_fd handler_tid
       t_close_wait ready ... t_go done"""

import argparse
import http.server
import os
import queue
import socket
import struct
import sys
import threading
import time

TCP_CLOSE_WAIT = 8
backend = queue.Queue()    # what the stream waits for
handler_facts = queue.Queue()


def fact(key, value):
    print("%s=%s" % (key, value), flush=True)


def boot_ns():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def stream_events():
    """The stream: one event, then whatever the backend sends, until None."""
    yield b"event: hello\n\n"
    while True:
        item = backend.get()
        if item is None:
            return
        yield item


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        handler_facts.put((self.connection.fileno(), threading.get_native_id()))
        for chunk in stream_events():
            self.wfile.write(chunk)
            self.wfile.flush()

    def log_message(self, *args):
        pass


def tcp_state(sock):
    return struct.unpack("B", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1))[0]


def wait_close_wait(fd, timeout=10):
    """Until the handler's socket (fd, a dup of it here) is in CLOSE_WAIT."""
    s = socket.socket(fileno=os.dup(fd))
    try:
        deadline = time.monotonic() + timeout
        while tcp_state(s) != TCP_CLOSE_WAIT:
            if time.monotonic() > deadline:
                sys.exit("the server's socket never reached CLOSE_WAIT")
            time.sleep(0.005)
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", type=int, default=5120)
    port = ap.parse_args().p
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    fact("pid", os.getpid())
    fact("server_port", port)

    # The client: a GET, the first chunk, then gone.
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    fact("client_port", c.getsockname()[1])
    c.sendall(b"GET /events HTTP/1.0\r\nHost: x\r\n\r\n")
    got = b""
    while b"event: hello" not in got:
        more = c.recv(4096)
        if not more:
            sys.exit("the server closed before the first event")
        got += more
    fd, tid = handler_facts.get(timeout=10)
    c.close()
    wait_close_wait(fd)
    fact("t_close_wait", boot_ns())
    fact("leak_pid", os.getpid())
    fact("leak_fd", fd)
    fact("handler_tid", tid)
    fact("ready", 1)

    sys.stdin.readline()
    fact("t_go", boot_ns())
    backend.put(None)
    srv.shutdown()
    fact("done", 1)


if __name__ == "__main__":
    main()
