"""A TCP proxy that can drop the network like a partition: tests/ha.py puts one
between each daemon and its database.

    from tcp_proxy import Proxy
    proxy = Proxy("127.0.0.1", 5432)   # listens on 127.0.0.1:proxy.port
    proxy.cut()                        # a partition
    proxy.heal()

While cut, nothing passes either way on the open connections and nothing
closes them: bytes sent are neither delivered nor refused, as when a network
drops packets. A connection made while cut is accepted and then held, never
answered. Healing closes the held connections (their client sees a reset, as
after a partition its handshake never completed) and lets the open ones carry
on with what waited, as TCP's retransmission does once the path is back.

The proxy runs its own asyncio loop in a thread, so that a caller that blocks
(polls, sleeps) keeps it going. Python's standard library only.

    python3 tests/tcp_proxy.py --self-test

checks all of that against an echo server on the loopback.
"""

import asyncio
import socket
import sys
import threading
import time


class Proxy:
    """Forwards 127.0.0.1:port to (host, port) until closed."""

    def __init__(self, upstream_host, upstream_port, listen_port=0):
        self.upstream = (upstream_host, upstream_port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self._call(self._start(listen_port))

    # --- called from any thread

    def cut(self):
        """Drops the network: nothing passes, nothing closes, new connections are held."""
        self._call(self._cut())

    def heal(self):
        """Closes the held connections and lets the open ones carry on."""
        self._call(self._heal())

    @property
    def is_cut(self):
        return not self._open.is_set()

    def close(self):
        """Closes every connection and stops listening."""
        if self.loop.is_closed():
            return
        try:
            self._call(self._close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    # --- on the proxy's loop

    async def _start(self, listen_port):
        self._open = asyncio.Event()
        self._open.set()
        self._held = set()  # writers of connections accepted while cut
        self._links = set()  # (client writer, server writer)
        self._tasks = set()  # the connections' tasks, awaited on close
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", listen_port)
        return self._server.sockets[0].getsockname()[1]

    async def _cut(self):
        self._open.clear()

    async def _heal(self):
        for writer in list(self._held):
            _abort(writer)
        self._held.clear()
        self._open.set()

    async def _close(self):
        self._server.close()
        for writer in list(self._held):
            _abort(writer)
        for client, server in list(self._links):
            _abort(client)
            _abort(server)
        self._open.set()  # pumps waiting out a cut find their sockets closed and end
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    async def _accept(self, client_reader, client_writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._serve(client_reader, client_writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, client_reader, client_writer):
        if not self._open.is_set():
            # Accepted, never answered; its bytes are not read.
            client_writer.transport.pause_reading()
            self._held.add(client_writer)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort(client_writer)
            return
        link = (client_writer, server_writer)
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pump(client_reader, server_writer),
                self._pump(server_reader, client_writer),
            )
        finally:
            self._links.discard(link)
            _abort(client_writer)
            _abort(server_writer)

    async def _pump(self, reader, writer):
        """Copies one direction; while cut, holds what it read (and the end of
        the stream) until healed. The stream reader stops taking bytes from
        the socket once its buffer is full, so the sender then blocks as on a
        dead path."""
        try:
            while True:
                data = await reader.read(65536)
                await self._open.wait()
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        # One side is done or broken: the other direction ends with it.
        _abort(writer)


def _abort(writer):
    transport = writer.transport
    if not transport.is_closing():
        transport.abort()


# ------------------------------------------------------------------ self-test


def _self_test():
    # An echo server on a thread of its own.
    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen()

    def serve():
        while True:
            try:
                conn, _ = echo.accept()
            except OSError:
                return

            def one(c):
                with c:
                    while data := c.recv(65536):
                        c.sendall(data)

            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    proxy = Proxy("127.0.0.1", echo.getsockname()[1])
    problems = []

    def expect(cond, what):
        if not cond:
            problems.append(what)

    def recv(sock, n, timeout):
        sock.settimeout(timeout)
        try:
            return sock.recv(n)
        except socket.timeout:
            return None
        except ConnectionError:
            return b""

    a = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    a.sendall(b"hello")
    expect(recv(a, 100, 5) == b"hello", "the proxy does not forward")

    proxy.cut()
    a.sendall(b"during the cut")
    expect(recv(a, 100, 1.0) is None, "bytes passed, or the connection closed, while cut")
    b = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)  # accepted...
    b.sendall(b"new")
    expect(recv(b, 100, 1.0) is None, "a connection made while cut was answered or closed")

    proxy.heal()
    expect(recv(a, 100, 5) == b"during the cut", "an open connection did not carry on after the heal")
    expect(recv(b, 100, 5) == b"", "a connection held while cut was not closed by the heal")
    c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    c.sendall(b"after")
    expect(recv(c, 100, 5) == b"after", "a new connection after the heal does not work")

    for s in (a, b, c):
        s.close()
    proxy.close()
    echo.close()
    for p in problems:
        print("error:", p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("tcp_proxy self-test: forwards; a cut holds bytes and new connections; a heal closes the held ones and resumes the rest")


if __name__ == "__main__":
    if sys.argv[1:] != ["--self-test"]:
        sys.exit("usage: tcp_proxy.py --self-test (the proxy is a module: from tcp_proxy import Proxy)")
    _self_test()
