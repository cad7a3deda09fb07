#!/usr/bin/python3
"""Load driver and helpers for bench/soak/run.sh (not a test).

  echo PORT
      the admin host: accept on 127.0.0.1:PORT and echo every byte back until the peer closes.

  drive --echo PORT --gateway PORT --ca FILE --devices DIR[,DIR...] --socks PORT[,PORT...]
        --tunnels N --concurrency C --duration SECONDS --churn K --out FILE
      N tunnels to the echo host, paced evenly over SECONDS, about C open at once (each holds for
      C x the pacing interval, echoing a chunk about every 2 s), never more than C. One tunnel in K is a
      fresh mutual-TLS connection straight to the gateway (full handshake, HTTP/1.1 CONNECT, the
      device certificate of the enrolled agent directories in turn); the others go through the
      agents' SOCKS5 listeners, i.e. CONNECT streams on each agent's standing HTTP/2 connection.
      Every chunk read back must equal what was sent. Prints progress every 10 s; writes a JSON
      summary to FILE. Exit 0 even with errors: run.sh judges the summary.
"""
import argparse, asyncio, collections, json, os, random, ssl, sys, time

CHUNK_EVERY = 2.0     # seconds between echo rounds on one tunnel
OP_TIMEOUT = 30.0     # any single step (connect, handshake, answer, echo) longer than this is an error


async def echo_server(port):
    async def on(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(on, "127.0.0.1", port, backlog=4096)
    print("echo ready", flush=True)
    await server.serve_forever()


class Stats:
    def __init__(self):
        self.started = self.done = self.open_now = self.max_open = 0
        self.handshakes = 0
        self.via = collections.Counter()
        self.bytes_echoed = 0
        self.errors = collections.Counter()
        self.first_errors = []

    def error(self, kind, detail):
        self.errors[kind] += 1
        if len(self.first_errors) < 20:
            self.first_errors.append(f"{time.strftime('%H:%M:%S')} {kind}: {detail}")


async def open_direct(args, device, stats):
    """A fresh mutual-TLS connection to the gateway (no session reuse: a full handshake) and a CONNECT."""
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(device, "device.crt"), os.path.join(device, "device.key"))
    ctx.check_hostname = False   # the gateway's certificate names 127.0.0.1 as an IP SAN; the chain is checked
    ctx.set_alpn_protocols(["http/1.1"])
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", args.gateway, ssl=ctx), OP_TIMEOUT)
    stats.handshakes += 1
    dest = f"127.0.0.1:{args.echo}"
    writer.write(f"CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), OP_TIMEOUT)
    if not head.startswith(b"HTTP/1.1 200"):
        writer.close()
        raise TunnelError("connect.refused", f"expected HTTP/1.1 200 to CONNECT {dest}, found {head[:120]!r}")
    return reader, writer


async def open_socks(args, socks_port):
    """A SOCKS5 CONNECT through an agent: one HTTP/2 CONNECT stream on its standing connection."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", socks_port), OP_TIMEOUT)
    writer.write(b"\x05\x01\x00")
    await writer.drain()
    method = await asyncio.wait_for(reader.readexactly(2), OP_TIMEOUT)
    if method != b"\x05\x00":
        writer.close()
        raise TunnelError("socks.method", f"expected 05 00 from the agent on {socks_port}, found {method.hex()}")
    writer.write(b"\x05\x01\x00\x01" + bytes([127, 0, 0, 1]) + args.echo.to_bytes(2, "big"))
    await writer.drain()
    reply = await asyncio.wait_for(reader.readexactly(10), OP_TIMEOUT)
    if reply[1] != 0:
        writer.close()
        raise TunnelError("socks.refused", f"agent on {socks_port} answered SOCKS5 reply {reply[1]:#04x} "
                                           f"(expected 0x00 succeeded) for 127.0.0.1:{args.echo}")
    return reader, writer


class TunnelError(Exception):
    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind


async def one_tunnel(i, args, stats, gate, hold):
    direct = args.churn > 0 and i % args.churn == 0
    via = "direct" if direct else "agent"
    rng = random.Random(i)
    async with gate:
        stats.started += 1
        stats.open_now += 1
        stats.max_open = max(stats.max_open, stats.open_now)
        writer = None
        try:
            if direct:
                reader, writer = await open_direct(args, args.devices[(i // args.churn) % len(args.devices)], stats)
            else:
                reader, writer = await open_socks(args, args.socks[(i // max(1, args.churn)) % len(args.socks)])
            opened = time.monotonic()
            rounds = max(1, int(hold / CHUNK_EVERY))
            for r in range(rounds):
                chunk = rng.randbytes(rng.randint(256, 4096))
                writer.write(chunk)
                await writer.drain()
                back = await asyncio.wait_for(reader.readexactly(len(chunk)), OP_TIMEOUT)
                if back != chunk:
                    raise TunnelError("echo.mismatch", f"tunnel {i} ({via}) round {r}: {len(chunk)} bytes sent, different bytes back")
                stats.bytes_echoed += len(chunk)
                # rounds spread over the hold time, the tunnel closed at its end: about C open at once
                await asyncio.sleep(max(0.0, opened + hold * (r + 1) / rounds - time.monotonic()))
            stats.via[via] += 1
            stats.done += 1
        except TunnelError as e:
            stats.error(e.kind, f"tunnel {i} ({via}): {e}")
        except asyncio.IncompleteReadError as e:
            stats.error(f"{via}.closed", f"tunnel {i}: closed by the far side after {len(e.partial)} of {e.expected} bytes")
        except asyncio.TimeoutError:
            stats.error(f"{via}.timeout", f"tunnel {i}: a step took more than {OP_TIMEOUT:.0f} s")
        except (ssl.SSLError, OSError) as e:
            stats.error(f"{via}.{type(e).__name__}", f"tunnel {i}: {e}")
        finally:
            stats.open_now -= 1
            if writer is not None:
                writer.close()
                try:
                    await asyncio.wait_for(writer.wait_closed(), 5)
                except (asyncio.TimeoutError, ssl.SSLError, OSError):
                    pass


async def drive(args):
    stats = Stats()
    n, c, d = args.tunnels, args.concurrency, args.duration
    hold = c * d / (n + c)               # so that about C are open at once when paced evenly
    interval = (d - hold) / n            # the last one starts early enough to end within the duration
    print(f"drive: {n} tunnels over {d:.0f} s, one every {interval * 1000:.0f} ms, each held {hold:.1f} s "
          f"(~{c} open), 1 in {args.churn} over a fresh TLS connection", flush=True)
    gate = asyncio.Semaphore(c)
    t0 = time.monotonic()
    deadline = t0 + d + 2 * OP_TIMEOUT + hold   # hard bound: pacing plus the slowest tunnel
    tasks = []

    async def progress():
        while True:
            await asyncio.sleep(10)
            print(f"progress t={time.monotonic() - t0:.0f}s started={stats.started} done={stats.done} "
                  f"open={stats.open_now} errors={sum(stats.errors.values())}", flush=True)

    reporter = asyncio.create_task(progress())
    for i in range(n):
        wait = t0 + i * interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if time.monotonic() > deadline:
            break
        tasks.append(asyncio.create_task(one_tunnel(i, args, stats, gate, hold)))
    left = max(1.0, deadline - time.monotonic())
    _, pending = await asyncio.wait(tasks, timeout=left)
    for t in pending:
        t.cancel()
    if pending:
        stats.error("driver.deadline", f"{len(pending)} tunnels still running at the hard deadline")
        await asyncio.wait(pending, timeout=10)
    reporter.cancel()
    elapsed = time.monotonic() - t0
    summary = {
        "tunnels": n, "started": stats.started, "done": stats.done, "seconds": round(elapsed, 1),
        "maxOpen": stats.max_open, "handshakes": stats.handshakes, "via": dict(stats.via),
        "bytesEchoed": stats.bytes_echoed, "errors": sum(stats.errors.values()),
        "errorsByKind": dict(stats.errors), "firstErrors": stats.first_errors,
        "holdSeconds": round(hold, 1), "intervalMs": round(interval * 1000, 1),
    }
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"drive: done {stats.done} of {n} in {elapsed:.0f} s, errors {summary['errors']}", flush=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        asyncio.run(echo_server(int(sys.argv[2])))
        return
    if len(sys.argv) < 2 or sys.argv[1] != "drive":
        sys.exit(__doc__)
    p = argparse.ArgumentParser(prog="driver.py drive")
    p.add_argument("--echo", type=int, required=True)
    p.add_argument("--gateway", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--devices", type=lambda s: s.split(","), required=True)
    p.add_argument("--socks", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--tunnels", type=int, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--churn", type=int, default=2)
    p.add_argument("--out", required=True)
    args = p.parse_args(sys.argv[2:])
    if args.tunnels < 1 or args.concurrency < 1 or args.duration < 10:
        sys.exit("driver.py drive: expected --tunnels >= 1, --concurrency >= 1, --duration >= 10 s")
    asyncio.run(drive(args))


if __name__ == "__main__":
    main()
