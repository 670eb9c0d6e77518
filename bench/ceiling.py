"""`python -m bench.ceiling PORT`: the ceiling of the benchmark, a grpc.aio server whose one method does nothing.

Same process model as a service (one process, uvloop, grpc.aio), no interceptors, no serialisation (the
handler takes and returns raw bytes): what a Python gRPC server on this machine can answer at best.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc

METHOD = "bench.v1.Ceiling/Empty"


async def _empty(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return b""


async def serve(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.v1.Ceiling", {"Empty": grpc.unary_unary_rpc_method_handler(_empty)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(0.5)


def main() -> None:
    import uvloop

    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
