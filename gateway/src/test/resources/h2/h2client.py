"""A small, independent HTTP/2 client for the gateway tests (Debian python3-h2, hyper-h2 4.x).

Reads a JSON plan on stdin, runs every request of it in parallel on ONE TLS connection (ALPN h2,
the device's client certificate), prints one JSON object with what came back, and exits.

Plan: {"host", "port", "ca", "cert", "key", "timeout": seconds, "tls": false for cleartext h2 (prior knowledge),
       "ignoreStreamLimit": bool,   # open streams even beyond the server's MAX_CONCURRENT_STREAMS
       "noRead": bool,              # never give DATA window back; hold the connection until stdin closes
       "requests": [{"method", "authority", "path", "headers": {..}, "body": text,
                     "send": byte count (CONNECT: a deterministic pattern), "data": text to send instead, "end": bool (END_STREAM
                     after sending; default true), "textLimit": bytes kept as text}]}
Result: {"alpn", "settings": {...}, "streams": [{"status", "headers", "received", "receivedSha256",
          "sent", "sentSha256", "text", "ended", "reset"}]}
"""
import hashlib
import json
import select
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


def pattern(index, size):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d:%d" % (index, counter)).digest()
        counter += 1
    return bytes(out[:size])


def main():
    plan = json.loads(sys.stdin.readline())
    deadline = time.monotonic() + plan.get("timeout", 20)
    raw = socket.create_connection((plan["host"], plan["port"]), timeout=10)
    if plan.get("tls", True):
        tls = ssl.create_default_context(cafile=plan["ca"])
        tls.check_hostname = False
        if plan.get("cert"):
            tls.load_cert_chain(plan["cert"], plan["key"])
        tls.set_alpn_protocols(["h2"])
        sock = tls.wrap_socket(raw, server_hostname=plan["host"])
        result = {"alpn": sock.selected_alpn_protocol(), "streams": []}
    else:  # cleartext, prior knowledge (the relay tests' fixture has no TLS)
        sock = raw
        result = {"alpn": "h2c", "streams": []}
    if result["alpn"] not in ("h2", "h2c"):
        print(json.dumps(result))
        return
    if plan.get("ignoreStreamLimit"):
        # to test the server's limit the client must break it: h2 would refuse locally
        h2.connection.H2Connection.open_outbound_streams = property(lambda self: 0)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8",
        # h2 4.1 insists on :path even for CONNECT (RFC 9113 §8.5 forbids it), and the malformed case needs it
        validate_outbound_headers=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())

    # wait for the server's SETTINGS so the limits are known
    settings_seen = False
    while not settings_seen and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                settings_seen = True
        sock.sendall(conn.data_to_send())
    result["settings"] = {"maxConcurrentStreams": conn.remote_settings.max_concurrent_streams,
                          "initialWindowSize": conn.remote_settings.initial_window_size}

    streams = {}
    for i, req in enumerate(plan["requests"]):
        sid = conn.get_next_available_stream_id()
        method = req.get("method", "GET")
        headers = [(":method", method)]
        if method == "CONNECT":
            headers.append((":authority", req["authority"]))
            for k, v in req.get("headers", {}).items():
                headers.append((k, v))
            body = req["data"].encode("utf-8") if "data" in req else pattern(i, req.get("send", 0))
        else:
            headers += [(":scheme", "https"), (":authority", "%s:%d" % (plan["host"], plan["port"])),
                        (":path", req["path"])]
            for k, v in req.get("headers", {}).items():
                headers.append((k, v))
            body = req.get("body", "").encode("utf-8")
        state = {"status": None, "headers": {}, "received": 0, "hash": hashlib.sha256(), "text": b"",
                 "sent": 0, "sentHash": hashlib.sha256(), "ended": False, "reset": None,
                 "body": body, "end": req.get("end", True), "endSent": False, "limit": req.get("textLimit", 4096),
                 "connect": method == "CONNECT"}
        streams[sid] = state
        # a CONNECT sends its bytes only after the 200; other requests send their body at once
        conn.send_headers(sid, headers, end_stream=(not state["connect"] and not body))
        if not state["connect"] and not body:
            state["endSent"] = True
    sock.sendall(conn.data_to_send())

    def pump():
        for sid, st in streams.items():
            if st["endSent"] or st["reset"] is not None or st["ended"] and st["connect"]:
                continue
            if st["connect"] and st["status"] != 200:
                continue
            while st["sent"] < len(st["body"]):
                try:
                    window = conn.local_flow_control_window(sid)
                except h2.exceptions.StreamClosedError:
                    return
                n = min(window, conn.max_outbound_frame_size, len(st["body"]) - st["sent"])
                if n <= 0:
                    break
                chunk = st["body"][st["sent"]:st["sent"] + n]
                conn.send_data(sid, chunk)
                st["sent"] += n
                st["sentHash"].update(chunk)
            if st["sent"] >= len(st["body"]) and st["end"]:
                conn.end_stream(sid)
                st["endSent"] = True

    def finished(st):
        return st["reset"] is not None or (st["ended"] and (st["endSent"] or not st["end"]))

    closed = False
    while time.monotonic() < deadline and not closed:
        pump()
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if not plan.get("noRead") and all(finished(st) for st in streams.values()):
            break
        if plan.get("noRead") and all(st["status"] is not None or st["reset"] is not None for st in streams.values()):
            break
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready and (not hasattr(sock, "pending") or sock.pending() == 0):
            continue
        data = sock.recv(65536)
        if not data:
            closed = True
            break
        for ev in conn.receive_data(data):
            st = streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                st["headers"] = {k: v for k, v in ev.headers}
                st["status"] = int(st["headers"][":status"])
            elif isinstance(ev, h2.events.DataReceived):
                st["received"] += len(ev.data)
                st["hash"].update(ev.data)
                if len(st["text"]) < st["limit"]:
                    st["text"] += ev.data[:st["limit"] - len(st["text"])]
                if not plan.get("noRead"):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                st["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                if st is not None:
                    st["reset"] = int(ev.error_code)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                closed = True

    for sid in sorted(streams):
        st = streams[sid]
        result["streams"].append({
            "id": sid, "status": st["status"], "headers": st["headers"], "received": st["received"],
            "receivedSha256": st["hash"].hexdigest(), "sent": st["sent"], "sentSha256": st["sentHash"].hexdigest(),
            "text": st["text"].decode("utf-8", "replace"), "ended": st["ended"], "reset": st["reset"]})
    result["connectionClosed"] = closed
    print(json.dumps(result), flush=True)
    if plan.get("noRead"):
        sys.stdin.read()  # hold the connection, never reading, until the test says so
    sock.close()


if __name__ == "__main__":
    main()
