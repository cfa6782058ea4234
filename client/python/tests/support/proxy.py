"""A TCP proxy in the test's event loop, to lose replies and cut connections on purpose."""

from __future__ import annotations

import asyncio


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        #: While set, bytes from the server are dropped (the client never sees its replies).
        self.swallow_replies = False
        #: While set, new connections are closed at once (the server looks unreachable).
        self.refusing = False
        #: When set, the bytes from the server passed on before every connection is cut (once).
        self.reply_budget: int | None = None
        self.connections = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        self._writers.update((client_writer, server_writer))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replies: bool) -> None:
            try:
                while data := await reader.read(65_536):
                    if replies and self.swallow_replies:
                        continue
                    if replies and self.reply_budget is not None:
                        if len(data) >= self.reply_budget:
                            writer.write(data[: self.reply_budget])
                            self.reply_budget = None
                            self.cut()
                            return
                        self.reply_budget -= len(data)
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, server_writer, False), pipe(server_reader, client_writer, True))
        self._writers.difference_update((client_writer, server_writer))

    def cut(self) -> None:
        """Drops every connection through the proxy at once (no close frame: a lost network)."""
        for writer in list(self._writers):
            transport = writer.transport
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
