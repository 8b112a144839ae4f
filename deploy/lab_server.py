#!/usr/bin/env python3
"""Upload sink for the inline lab (deploy/lab.sh): stores each PUT/POST body under DIR as
it arrives, so a connection the appliance resets leaves exactly what got through."""
import http.server
import os
import sys


class Upload(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("lab-server: " + (fmt % args) + "\n")

    def do_PUT(self):
        self.store()

    def do_POST(self):
        self.store()

    def store(self):
        want = int(self.headers.get("Content-Length", "0"))
        name = os.path.basename(self.path.split("?", 1)[0]) or "upload"
        got = 0
        with open(os.path.join(self.server.dir, name), "wb") as out:
            try:
                while got < want:
                    chunk = self.rfile.read1(min(4096, want - got))
                    if not chunk:
                        break
                    out.write(chunk)
                    out.flush()
                    got += len(chunk)
            except (ConnectionResetError, BrokenPipeError):
                self.log_message("%s: connection reset after %d of %d bytes", name, got, want)
                return
        if got != want:
            self.log_message("%s: connection closed after %d of %d bytes", name, got, want)
            return
        body = ("stored %d bytes\n" % got).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    addr, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = http.server.ThreadingHTTPServer((addr, port), Upload)
    srv.dir = directory
    sys.stderr.write("lab-server: listening on %s:%d\n" % (addr, port))
    srv.serve_forever()


if __name__ == "__main__":
    main()
