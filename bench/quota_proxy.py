"""A loopback HTTP/1.1 proxy in front of a store that counts, per client, every
request a fleet sends, and can play the store's rate limit. For benchmarks only.

    python3 bench/quota_proxy.py LISTEN_PORT TARGET_PORT STYLE RATE

STYLE says what happens beyond RATE requests a second (a token bucket holding one
second's worth, as the stores' quotas do):
  count   nothing: every request goes on (the store behind has its own quota, as
          OpenBao's sys/quotas/rate-limit); the store's own 429s are counted
  429     answered here with 429 and `Retry-After: 1`, as Key Vault and Secret
          Manager answer a client over its quota
  aws     answered here with 400 and `ThrottlingException`, as AWS's JSON protocol
          answers (no Retry-After: the SDK and secretrun choose the wait)

The client is who the request says it is: Vault's token, a bearer token, the AWS
access key of the signature, or, for a token request, Entra's `client_id` or the
issuer of Google's assertion. A request repeats one that was throttled when the
same client sent the same request before and was answered 429 (or throttled).

`GET /__report` (not forwarded) answers the figures since the last report as text:
requests, throttled answers, requests per client (mean and most), repeats per
client, and a timeline in half-second steps (first tries, repeats, throttled), then
starts counting again.
"""
import asyncio
import base64
import collections
import json
import sys
import time
import urllib.parse

LISTEN, TARGET, STYLE, RATE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
STEP = 0.5


class Bucket:
    def __init__(self, rate):
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Figures:
    def __init__(self):
        self.start = None
        self.requests = collections.Counter()  # client -> requests
        self.repeats = collections.Counter()  # client -> requests that repeat a throttled one
        self.throttled_keys = set()
        self.timeline = collections.defaultdict(lambda: [0, 0, 0])  # step -> first, repeat, throttled

    def arrived(self, client, key):
        now = time.monotonic()
        if self.start is None:
            self.start = now
        step = int((now - self.start) / STEP)
        again = (client, key) in self.throttled_keys
        self.requests[client] += 1
        if again:
            self.repeats[client] += 1
        self.timeline[step][1 if again else 0] += 1
        return step

    def answered(self, client, key, step, throttled):
        if throttled:
            self.throttled_keys.add((client, key))
            self.timeline[step][2] += 1

    def report(self):
        clients = len(self.requests) or 1
        total = sum(self.requests.values())
        throttled = sum(t for _, _, t in self.timeline.values())
        lines = [
            f"store saw {total} requests from {len(self.requests)} clients; "
            f"{throttled} throttled",
            f"requests per client: mean {total / clients:.1f}, most "
            f"{max(self.requests.values(), default=0)}; repeats of a throttled request per client: "
            f"mean {sum(self.repeats.values()) / clients:.1f}, most {max(self.repeats.values(), default=0)}",
            "timeline (s: first tries / repeats / throttled)",
        ]
        widest = max((f + r for f, r, _ in self.timeline.values()), default=1) or 1
        for step in range(max(self.timeline, default=-1) + 1):
            first, again, refused = self.timeline.get(step, (0, 0, 0))
            bar = "#" * round(40 * first / widest) + "+" * round(40 * again / widest)
            lines.append(f"  {step * STEP:5.1f} {first:5d} {again:5d} {refused:5d} {bar}")
        self.__init__()
        return "\n".join(lines) + "\n"


figures = Figures()
bucket = Bucket(RATE)


def who(head, body):
    """The client a request comes from (see the module's text)."""
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "x-vault-token" in headers:
        return headers["x-vault-token"], headers
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:], headers
    if "Credential=" in auth:
        return auth.split("Credential=")[1].split("/")[0], headers
    form = urllib.parse.parse_qs(body.decode("latin-1"))
    if "client_id" in form:
        return form["client_id"][0], headers
    if "assertion" in form:
        claims = form["assertion"][0].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(claims + "==="))["iss"], headers
    return "?", headers


async def read_message(reader):
    """One HTTP/1.1 message: its head and its body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                return head, body
    length = 0
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


def throttled_answer():
    if STYLE == "aws":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return (b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)) + body
    body = json.dumps({"error": {"code": 429, "message": "Too many requests"}}).encode()
    return (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


# asyncio keeps only weak references to the connections' tasks: one waiting on a
# busy store could be collected mid-request, and its client would hang.
live = set()


async def handle(client_reader, client_writer):
    upstream = None
    live.add(asyncio.current_task())
    try:
        while True:
            head, body = await read_message(client_reader)
            if head.startswith(b"GET /__report "):
                text = figures.report().encode()
                client_writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(text) + text)
                await client_writer.drain()
                continue
            client, headers = who(head, body)
            key = (head.split(b"\r\n")[0], headers.get("x-amz-target"), body)
            step = figures.arrived(client, key)
            if STYLE != "count" and not bucket.take():
                figures.answered(client, key, step, True)
                client_writer.write(throttled_answer())
                await client_writer.drain()
                continue
            for fresh in (upstream is None, True):
                if fresh:
                    upstream = await asyncio.open_connection("127.0.0.1", TARGET)
                try:
                    upstream[1].write(head + body)
                    await upstream[1].drain()
                    answer_head, answer_body = await read_message(upstream[0])
                    break
                except (asyncio.IncompleteReadError, ConnectionError):
                    # The store closed a kept connection while it was idle.
                    if fresh:
                        raise
            figures.answered(client, key, step, answer_head.split(b" ")[1] == b"429")
            client_writer.write(answer_head + answer_body)
            await client_writer.drain()
            if b"connection: close" in answer_head.lower():
                upstream[1].close()
                upstream = None
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        live.discard(asyncio.current_task())
        client_writer.close()
        if upstream:
            upstream[1].close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
