#!/usr/bin/python3
"""Small loopback helpers for bench/tunnel/run.sh (not a test).

  greeter PORT                 accept, send one byte, close (the first-byte destination)
  sink PORT COUNT_FILE         accept and hold connections idle; writes the open count to COUNT_FILE
  echo PORT                    accept; echo every byte back at once (a thread per connection, TCP_NODELAY)
  ttfb PORT N                  N fresh TCP connects to 127.0.0.1:PORT, each until the first byte;
                               prints the median and p90 in ms
  idle MODE PORT N CERT KEY CA [DEST_PORT]
                               opens N mutual-TLS connections to 127.0.0.1:PORT (MODE postern: each
                               sends CONNECT 127.0.0.1:DEST_PORT and waits for 200; MODE tls: the TLS
                               handshake only), prints "open N", holds them until stdin closes
  iperf-result FILE            iperf3 -J output: prints "BYTES GBPS" received, or "0 failed" (the reason on stderr)
  pingpong PORT N [CERT KEY CA DEST_PORT]
                               one connection to 127.0.0.1:PORT (with CERT..: mutual TLS to the gateway
                               and CONNECT 127.0.0.1:DEST_PORT first), then N round trips of one byte
                               after N/10 (at least 50) unmeasured ones; prints p50, p99 and max in us
"""
import asyncio, json, os, socket, socketserver, ssl, statistics, sys, time


async def greeter(port):
    async def on(reader, writer):
        writer.write(b"x")
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(on, "127.0.0.1", port, backlog=1024)
    print("greeter ready", flush=True)
    await server.serve_forever()


async def sink(port, count_file):
    open_now = 0
    async def on(reader, writer):
        nonlocal open_now
        open_now += 1
        try:
            while await reader.read(65536):
                pass
        finally:
            open_now -= 1
            writer.close()
    server = await asyncio.start_server(on, "127.0.0.1", port, backlog=4096)
    print("sink ready", flush=True)
    while True:
        with open(count_file + ".tmp", "w") as f:
            f.write(f"{open_now}\n")
        os.replace(count_file + ".tmp", count_file)
        await asyncio.sleep(0.5)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def echo(port):
    with _EchoServer(("127.0.0.1", port), _Echo) as server:
        print("echo ready", flush=True)
        server.serve_forever()


def mtls_connect(port, cert, key, ca, dest_port):
    """A mutual-TLS connection to the gateway with an HTTP/1.1 tunnel to 127.0.0.1:DEST_PORT open."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = ctx.wrap_socket(raw)
    s.sendall(f"CONNECT 127.0.0.1:{dest_port} HTTP/1.1\r\nHost: 127.0.0.1:{dest_port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            sys.exit(f"pingpong: the gateway closed the connection after {head!r}")
        head += b
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit(f"pingpong: expected HTTP/1.1 200 to CONNECT, found {head[:80]!r}")
    return s


def pingpong(port, n, tls):
    if tls:
        s = mtls_connect(port, *tls)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    warm = max(50, n // 10)
    deadline = time.monotonic() + 120
    for i in range(warm + n):
        if time.monotonic() > deadline:
            sys.exit(f"pingpong: only {len(times)} of {n} round trips through port {port} in 120 s")
        t0 = time.perf_counter_ns()
        s.sendall(b"p")
        if s.recv(1) != b"p":
            sys.exit(f"pingpong: round trip {i + 1} through port {port} did not come back")
        t1 = time.perf_counter_ns()
        if i >= warm:
            times.append((t1 - t0) / 1000)
    s.close()
    times.sort()
    print(f"p50={times[len(times) // 2]:.0f} p99={times[min(len(times) - 1, int(len(times) * 0.99))]:.0f} "
          f"max={times[-1]:.0f} n={len(times)}")


def iperf_result(path):
    try:
        with open(path) as f:
            r = json.load(f)
        received = r["end"]["sum_received"]
        print(f'{received["bytes"]} {received["bits_per_second"] / 1e9:.2f}')
    except (OSError, ValueError, KeyError) as e:
        print("0 failed")
        print(f"iperf-result: {path}: no received sum ({e!r}); iperf3 said: {r.get('error') if 'r' in locals() else '?'}",
              file=sys.stderr)


def ttfb(port, n):
    times, failed = [], []
    deadline = time.monotonic() + 120
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            b = s.recv(1)
            s.close()
        except OSError as e:
            b = repr(e).encode()
        t1 = time.perf_counter()
        if b != b"x":
            failed.append(b)
            continue
        times.append((t1 - t0) * 1000)
    if not times:
        sys.exit(f"ttfb: no connection through port {port} gave the byte 'x'; the first said {failed[0]!r}")
    times.sort()
    print(f"median={statistics.median(times):.2f} p90={times[max(0, int(len(times) * 0.9) - 1)]:.2f} n={len(times)} failed={len(failed)}"
          + (f" (first: {failed[0]!r})" if failed else ""))


async def idle(mode, port, n, cert, key, ca, dest_port):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = False
    conns = []
    gate = asyncio.Semaphore(32)
    async def one(i):
        async with gate:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=ctx), 30)
            if mode == "postern":
                writer.write(f"CONNECT 127.0.0.1:{dest_port} HTTP/1.1\r\nHost: 127.0.0.1:{dest_port}\r\n\r\n".encode())
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"idle: connection {i}: expected HTTP/1.1 200, found {head[:80]!r}")
            conns.append(writer)
    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"open {len(conns)} in {time.monotonic() - t0:.1f}s", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in conns:
        w.close()


def main(a):
    if a[0] == "greeter":
        asyncio.run(greeter(int(a[1])))
    elif a[0] == "sink":
        asyncio.run(sink(int(a[1]), a[2]))
    elif a[0] == "echo":
        echo(int(a[1]))
    elif a[0] == "iperf-result":
        iperf_result(a[1])
    elif a[0] == "pingpong":
        pingpong(int(a[1]), int(a[2]), (a[3], a[4], a[5], int(a[6])) if len(a) > 6 else None)
    elif a[0] == "ttfb":
        ttfb(int(a[1]), int(a[2]))
    elif a[0] == "idle":
        asyncio.run(idle(a[1], int(a[2]), int(a[3]), a[4], a[5], a[6], int(a[7]) if len(a) > 7 else 0))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
