"""A loopback TLS front for a plain-HTTP test server: it terminates TLS with the
given certificate (HTTP/1.1 only, as AWS's endpoints speak it) and passes the bytes
on to the target port, so a benchmark pays a real handshake at every connection.
For benchmarks only.

    python3 bench/tls_proxy.py LISTEN_PORT TARGET_PORT CERT_PEM KEY_PEM
"""
import asyncio
import ssl
import sys

LISTEN, TARGET = int(sys.argv[1]), int(sys.argv[2])
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(sys.argv[3], sys.argv[4])
context.set_alpn_protocols(["http/1.1"])


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN, ssl=context)
    async with server:
        await server.serve_forever()


asyncio.run(main())
