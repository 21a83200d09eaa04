"""A loopback server answering as Azure Key Vault, Microsoft Entra's token endpoint,
Google's token endpoint and Secret Manager answer a client that is right, for the
benchmarks only (the tests' stubs, in tests/it, are the strict ones).

    python3 bench/cloud_stub.py PORT
"""
import base64
import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the second
    # waits for the client's delayed ACK, 40 ms a request that no real server adds.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, doc):
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write, as servers in Go or Java send a small
        # answer: two writes would each wait out the delaying proxy's 20 ms.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self.path.endswith("/token") or "/oauth2/" in self.path:
            # The token names its client, so a counting proxy in front (the herd
            # benchmark's) knows whose reads follow.
            if "assertion" in form:
                claims = form["assertion"][0].split(".")[1]
                client = json.loads(base64.urlsafe_b64decode(claims + "==="))["iss"]
            else:
                client = form.get("client_id", ["bench"])[0]
            self.answer({"access_token": client, "expires_in": 3599, "token_type": "Bearer"})
        else:
            self.send_error(404)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/secrets/"):
            name = path.split("/")[2]
            self.answer({"value": f"value-{name}", "id": path,
                         "attributes": {"enabled": True, "created": int(time.time())}})
        elif path.endswith(":access"):
            data = path.split("/")[5].encode()
            self.answer({"name": path, "payload": {"data": base64.b64encode(data).decode(),
                                                   "dataCrc32c": str(crc32c(data))}})
        else:
            self.send_error(404)


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections opened at once (TCP then waits a
    # second to try again): a benchmark of concurrent reads must not measure that.
    request_queue_size = 1024
    daemon_threads = True


Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
