"""A loopback TCP proxy that adds latency: every chunk the server sends waits DELAY
seconds before it is passed on, like a round trip of that length. For benchmarks only.

    python3 bench/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS
"""
import asyncio
import sys

LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])


async def pipe(reader, writer, delay):
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
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
