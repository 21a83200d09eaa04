"""A loopback TCP proxy that adds latency: every chunk the server sends is passed on
DELAY seconds after it came, like a round trip of that length. Chunks that come
together leave together, as on a network (a TLS server's flight of several records
costs one round trip, not one a record). For benchmarks only.

    python3 bench/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS
"""
import asyncio
import sys

LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    chunks = asyncio.Queue()

    async def send():
        while (chunk := await chunks.get()) is not None:
            due, data = chunk
            await asyncio.sleep(due - loop.time())
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            chunks.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    finally:
        chunks.put_nowait(None)
        try:
            await sender
        except ConnectionError:
            pass
        writer.close()


async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    await asyncio.gather(
        pipe(client_reader, server_writer, 0),
        pipe(server_reader, client_writer, DELAY),
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
