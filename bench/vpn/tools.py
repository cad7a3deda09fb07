"""Parsers and CPU accounting for bench/vpn/run.sh (issue 13).

  tools.py tcp IPERF_JSON          -> "BYTES GBIT_PER_S" (received at the server), or "0 failed"
  tools.py udp IPERF_JSON          -> "PACKETS_PER_S LOSS_PERCENT" (received at the server), or "failed failed"
  tools.py ping PING_OUTPUT SENT   -> "P50_MS P99_MS LOSS_PERCENT" from the per-reply rtt lines
  tools.py ticks PID...            -> utime + stime (clock ticks) of the PIDs and all their descendants
  tools.py report TSV JSON REFS... -> prints the table and the ratios, writes JSON
"""
import json
import os
import re
import sys


def iperf(path):
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise SystemExit(f"iperf3 wrote no JSON: {text[:300]!r}")
    if "error" in doc:
        raise SystemExit(f"iperf3: {doc['error']}")
    return doc


def tcp(path):
    try:
        received = iperf(path)["end"]["sum_received"]
    except SystemExit as e:
        print(e, file=sys.stderr)
        print("0 failed")
        return
    print(f"{int(received['bytes'])} {received['bits_per_second'] / 1e9:.3f}")


def udp(path):
    try:
        end = iperf(path)["end"]
        # iperf3 3.12: end.sum_received is the server's count (the highest sequence number it saw and
        # how many below it never came); end.sum_sent what the client sent. end.sum alone is not
        # enough: when the server receives nothing it says 0 lost of what the client sent.
        got = end["sum_received"]
        sent = end["sum_sent"]["packets"]
        received = got["packets"] - got["lost_packets"]
        seconds = end["sum_sent"]["seconds"]
        loss = 100.0 * (sent - received) / sent if sent else 0.0
        print(f"{received / seconds:.0f} {loss:.1f}")
    except (SystemExit, KeyError, ZeroDivisionError) as e:
        print(f"udp result: {e}", file=sys.stderr)
        print("failed failed")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ping(path, sent):
    with open(path) as f:
        rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", f.read())]
    if not rtts:
        print("failed failed 100")
        return
    loss = 100.0 * (int(sent) - len(rtts)) / int(sent)
    print(f"{percentile(rtts, 50):.3f} {percentile(rtts, 99):.3f} {loss:.1f}")


def ticks(pids):
    children = {}
    own = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) "
        ppid = int(fields[1])
        own[int(entry)] = int(fields[11]) + int(fields[12])   # utime, stime
        children.setdefault(ppid, []).append(int(entry))
    total, todo, seen = 0, [int(p) for p in pids], set()
    while todo and len(seen) < 10000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += own.get(p, 0)
        todo.extend(children.get(p, []))
    print(total)


FIGURES = [
    ("tcp1", "TCP, 1 stream, Gbit/s", "higher"),
    ("tcp8", "TCP, 8 streams, Gbit/s", "higher"),
    ("udp64", "UDP 64-byte payload, received packets/s", "higher"),
    ("udp1400", "UDP 1,400-byte payload, received packets/s", "higher"),
    ("ping_p50", "ping RTT p50, ms", "lower"),
    ("ping_p99", "ping RTT p99, ms", "lower"),
    ("gw_cpu_per_gib", "gateway CPU per GiB (TCP runs), s", "lower"),
]
EXTRA = [
    ("udp64_loss", "UDP 64 B loss, %"),
    ("udp1400_loss", "UDP 1,400 B loss, %"),
    ("ping_loss", "ping loss, %"),
    ("laptop_cpu_per_gib", "laptop-side CPU per GiB (TCP runs), s"),
]
NAMES = {"wg": "wireguard-go", "openvpn": "openvpn", "ocserv": "ocserv", "postern": "postern"}


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def report(tsv, out_json, meta_json):
    rows = {}
    order = []
    with open(tsv) as f:
        for line in f:
            contender, key, value = line.rstrip("\n").split("\t")
            if contender not in rows:
                rows[contender] = {}
                order.append(contender)
            rows[contender][key] = value
    with open(meta_json) as f:
        meta = json.load(f)
    names = [NAMES.get(c, c) for c in order]
    print("| What | " + " | ".join(names) + " |")
    print("|---" * (len(order) + 1) + "|")
    for key, label, _ in FIGURES + [(k, l, None) for k, l in EXTRA]:
        print(f"| {label} | " + " | ".join(rows[c].get(key, "n/a") for c in order) + " |")
    # ratios: every contender against every reference in the run; "higher is better" figures
    # as X/ref, "lower is better" ones as ref/X too, so that ≥ 1.00 always means "X is as good"
    refs = [r for r in ("wg", "openvpn", "ocserv") if r in rows]
    goals = {"openvpn": 1.0, "ocserv": 1.0}
    ratios = {}
    print()
    print("Ratios X/ref (for ping and CPU, where lower is better: ref/X), ≥ 1.00 = X at least as good."
          " Goal (issue 13) for Postern: ≥ 1.00 vs openvpn and ocserv on every figure, ≥ 0.50 vs wireguard-go on throughput.")
    print("| X | ref | " + " | ".join(k for k, _, _ in FIGURES) + " |")
    print("|---|---" + "|---" * len(FIGURES) + "|")
    for c in order:
        for r in refs:
            if r == c:
                continue
            cells = []
            for key, _, better in FIGURES:
                x, y = number(rows[c].get(key)), number(rows[r].get(key))
                if x is None or y is None or x == 0 or y == 0:
                    value = None
                    cells.append("n/a")
                else:
                    value = x / y if better == "higher" else y / x
                    goal = 0.5 if r == "wg" and key.startswith(("tcp", "udp")) else goals.get(r)
                    mark = "" if goal is None or c != "postern" else (" ✓" if value >= goal else " ✗")
                    cells.append(f"{value:.2f}{mark}")
                ratios.setdefault(c, {}).setdefault(NAMES.get(r, r), {})[key] = value
            print(f"| {NAMES.get(c, c)} | {NAMES.get(r, r)} | " + " | ".join(cells) + " |")
    meta["figures"] = {NAMES.get(c, c): rows[c] for c in order}
    meta["ratios"] = {NAMES.get(c, c): v for c, v in ratios.items()}
    with open(out_json, "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "tcp":
        tcp(*args)
    elif command == "udp":
        udp(*args)
    elif command == "ping":
        ping(*args)
    elif command == "ticks":
        ticks(args)
    elif command == "report":
        report(*args)
    else:
        raise SystemExit(f"tools.py: unknown command {command!r}: expected tcp, udp, ping, ticks or report")
