"""gRPC-Web by hand (a frame, its trailers frame, the status), for the edge tests: what a browser's client
sends and reads."""

from __future__ import annotations

import struct

import httpx

from tests.edge.conftest import Stack


def grpc_web_frame(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


def parse_grpc_web(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """The messages and the trailers of a gRPC-Web reply body."""
    messages, trailers = [], {}
    position = 0
    while position < len(body):
        flag = body[position]
        (length,) = struct.unpack(">I", body[position + 1 : position + 5])
        chunk = body[position + 5 : position + 5 + length]
        position += 5 + length
        if flag & 0x80:
            for line in chunk.decode().split("\r\n"):
                if ":" in line:
                    key, value = line.split(":", 1)
                    trailers[key.strip().lower()] = value.strip()
        else:
            messages.append(chunk)
    return messages, trailers


def grpc_status(reply: httpx.Response, trailers: dict[str, str]) -> str:
    # Errors come trailers-only: the status is in the HTTP headers, not in a trailer frame.
    return trailers.get("grpc-status") or reply.headers.get("grpc-status", "")


async def grpc_web_call(
    stack: Stack, path: str, message: bytes, **headers: str
) -> tuple[httpx.Response, list[bytes], str]:
    reply = await stack.http.post(
        path,
        content=grpc_web_frame(message),
        headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1", **headers},
    )
    messages, trailers = parse_grpc_web(reply.content)
    return reply, messages, grpc_status(reply, trailers)
