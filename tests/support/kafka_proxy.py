"""A TCP proxy in front of a Kafka listener that can lose the broker's answer to one Produce.

Every Kafka request and response is a 4-byte big-endian length and a payload; a request
payload begins with api_key (int16), api_version (int16) and correlation_id (int32), a response
payload with the correlation_id. (SASL tokens are framed the same way, with or without a
request header, so reading frame by frame never loses its place.) The proxy forwards frames as
they are; once armed with `lose_produce_response(marker)`, it watches the next Produce request
whose bytes contain `marker`. If the broker's response says every partition of it was written,
the proxy drops that response and aborts both sides of the connection: a network failure after
the broker wrote the batch. A client that retries then sends the same batch again, on a new
connection. If the broker refused the batch (e.g. NOT_LEADER_OR_FOLLOWER just after start-up),
the response goes through and the proxy stays armed for the client's next attempt: losing a
refusal would not test anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiokafka.protocol.produce import (
    ProduceResponse_v3,
    ProduceResponse_v4,
    ProduceResponse_v5,
    ProduceResponse_v6,
    ProduceResponse_v7,
    ProduceResponse_v8,
)

__all__ = ["PRODUCE", "KafkaProxy"]

PRODUCE = 0  # the Produce request's api_key
_LENGTH = struct.Struct(">i")
_REQUEST_HEADER = struct.Struct(">hhi")  # api_key, api_version, correlation_id
_CORRELATION_ID = struct.Struct(">i")
# The Produce response bodies this proxy can read: the versions Apache Kafka 4 accepts (3 and
# up) that are not "flexible" (9 and up change the encoding); aiokafka sends at most 7.
_PRODUCE_RESPONSES: dict[int, Any] = {
    r.API_VERSION: r
    for r in (
        ProduceResponse_v3,
        ProduceResponse_v4,
        ProduceResponse_v5,
        ProduceResponse_v6,
        ProduceResponse_v7,
        ProduceResponse_v8,
    )
}


class KafkaProxy:
    """`async with KafkaProxy(lambda: kafka.listener_port) as proxy:` on 127.0.0.1.

    The target port is asked for per connection, so the proxy can listen (and be advertised)
    before the broker it forwards to has a port; a connection made before that is closed.
    """

    def __init__(self, target_port: Callable[[], int], host: str = "127.0.0.1") -> None:
        self._target_port = target_port
        self._host = host
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._marker: bytes | None = None
        self.produce_requests = 0  # Produce requests forwarded to the broker
        self.lost_responses = 0  # Produce responses dropped (each with its connection)
        self.refused_responses = 0  # watched Produce responses passed on: not written
        self.problems: list[str] = []  # what kept an armed proxy from doing its job

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def lose_produce_response(self, marker: bytes) -> None:
        """Drop the response to the next Produce request containing `marker` that the broker
        wrote (once)."""
        self._marker = marker

    def disarm(self) -> None:
        self._marker = None

    @property
    def armed(self) -> bool:
        return self._marker is not None

    async def start(self) -> None:
        # Port 0: the OS picks a free port and it is ours at once (no race with other tests).
        self._server = await asyncio.start_server(self._serve, self._host, 0)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        broker_w: asyncio.StreamWriter | None = None
        try:
            try:
                broker_r, broker_w = await asyncio.open_connection(self._host, self._target_port())
            except (OSError, RuntimeError):  # the broker is not there (yet)
                return
            doomed: dict[int, _Watched] = {}  # by correlation id
            pumps = [
                asyncio.create_task(self._requests(client_r, broker_w, doomed)),
                asyncio.create_task(self._responses(broker_r, client_w, doomed)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            # Abort, not close: an unclean end, as when the network fails.
            client_w.transport.abort()
            if broker_w is not None:
                broker_w.transport.abort()
            self._connections.discard(task)

    async def _requests(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        doomed: dict[int, _Watched],
    ) -> None:
        while (frame := await _read_frame(source)) is not None:
            if len(frame) >= _LENGTH.size + _REQUEST_HEADER.size:
                api_key, version, correlation_id = _REQUEST_HEADER.unpack_from(frame, _LENGTH.size)
                if api_key == PRODUCE:
                    self.produce_requests += 1
                    marker = self._marker
                    if marker is not None and marker in frame:
                        self._marker = None
                        doomed[correlation_id] = _Watched(version, marker)
            sink.write(frame)
            await sink.drain()

    async def _responses(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        doomed: dict[int, _Watched],
    ) -> None:
        while (frame := await _read_frame(source)) is not None:
            if doomed and len(frame) >= _LENGTH.size + _CORRELATION_ID.size:
                (correlation_id,) = _CORRELATION_ID.unpack_from(frame, _LENGTH.size)
                watched = doomed.pop(correlation_id, None)
                if watched is not None:
                    if self._written(watched, frame):
                        # The broker holds the batch now; the client never hears of it.
                        self.lost_responses += 1
                        return  # _serve aborts both sides
                    if self._marker is None:
                        self._marker = watched.marker  # wait for the client's retry
            sink.write(frame)
            await sink.drain()

    def _written(self, watched: _Watched, frame: bytes) -> bool:
        """Whether a Produce response reports every partition written (error code 0)."""
        response_type = _PRODUCE_RESPONSES.get(watched.version)
        if response_type is None:
            self.problems.append(f"cannot read a Produce v{watched.version} response")
            return False
        response = response_type.decode(frame[_LENGTH.size + _CORRELATION_ID.size :])
        codes = [p[1] for _, partitions in response.topics for p in partitions]
        written = bool(codes) and not any(codes)
        if not written:
            self.refused_responses += 1
        return written


@dataclass(frozen=True)
class _Watched:
    version: int  # the Produce request's api_version: how to read the response
    marker: bytes


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """One length-prefixed frame, length included; None when the peer is gone."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        (size,) = _LENGTH.unpack(head)
        return head + await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
