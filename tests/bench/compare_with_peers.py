#!/usr/bin/env python3
"""wasikv next to Redis and etcd: one client (wasikv-bench), three servers.

Starts each server on loopback with its own data directory and a stated
durability, runs the same wasikv-bench scenarios against each, and writes
the tables into docs/benchmarks.md (between the "peers:begin" and
"peers:end" markers), the raw results beside them as JSON, and a chart as
PNG (gnuplot). It prints numbers and asserts nothing; a server that fails a
run leaves a "-" in its cell and the error on stderr.

Run it after README's test command (which builds wasikv-bench and installs
redis-server, etcd and gnuplot):

    tests/bench/compare_with_peers.py [--build-dir build/ci] [--duration 5s]

Servers and their durability:
  wasikv sync      wasikvd --sync-writes=true: each write is fsynced (group
                   commit) before it is acknowledged
  wasikv nosync    --sync-writes=false: written to the WAL, not fsynced
  etcd             etcd 3.4, one member: fsyncs every write, always
  redis always     appendonly yes, appendfsync always
  redis everysec   appendonly yes, appendfsync everysec
  redis none       no persistence at all
Redis gets its calls pipelined on one connection per 16 calls in flight, as
wasikv and etcd get theirs multiplexed on HTTP/2; "redis 1 conn/call" gives
each call in flight its own connection, as redis-benchmark without -P.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BEGIN = "<!-- peers:begin (written by tests/bench/compare_with_peers.py) -->"
END = "<!-- peers:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)  # polling a port a server is opening
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class Server:
    """One server process on loopback with its own data directory."""

    def __init__(self, name, target, command, port, workdir, log):
        self.name, self.target, self.port = name, target, port
        self.process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=log,
                                        start_new_session=True)
        wait_for_port(port, self.process)

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(kind, build_dir, root, log):
    port = free_port()
    data = os.path.join(root, kind.replace(" ", "-"))
    os.makedirs(data)
    if kind.startswith("wasikv"):
        sync = "true" if kind == "wasikv sync" else "false"
        command = [os.path.join(build_dir, "server", "wasikvd"), f"--data-dir={data}",
                   f"--listen=127.0.0.1:{port}", "--admin-listen=off", f"--sync-writes={sync}",
                   "--log-level=warn"]
        return Server(kind, "wasikv", command, port, data, log)
    if kind == "etcd":
        peer = free_port()
        command = ["etcd", "--data-dir", data, "--listen-client-urls", f"http://127.0.0.1:{port}",
                   "--advertise-client-urls", f"http://127.0.0.1:{port}",
                   "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                   "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                   "--initial-cluster", f"default=http://127.0.0.1:{peer}",
                   "--log-level", "warn"]
        return Server(kind, "etcd", command, port, data, log)
    persistence = {
        "redis always": ["--appendonly", "yes", "--appendfsync", "always"],
        "redis everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
        "redis none": ["--appendonly", "no"],
        "redis 1 conn/call": ["--appendonly", "no"],
    }[kind]
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--dir", data, "--loglevel", "warning"] + persistence
    return Server(kind, "redis", command, port, data, log)


# (scenario, op mix, concurrency, batch)
READS = [("ping", "ping", c, 1) for c in (1, 16, 64)] + \
        [("get", "get", c, 1) for c in (1, 16, 64)] + [("getmany 100", "getmany", 16, 100)]
WRITES = [("set", "set", c, 1) for c in (1, 16, 64)] + \
         [("setmany 100", "setmany", 16, 100), ("incr", "incr", 16, 1)]
SUPPORTED = {
    "wasikv": {"ping", "get", "set", "getmany", "setmany", "incr"},
    "redis": {"ping", "get", "set", "getmany", "setmany", "incr"},
    "etcd": {"get", "set", "getmany", "setmany"},
}
# Reads do not depend on write durability: one configuration each.
READ_SERVERS = ["wasikv sync", "redis none", "redis 1 conn/call", "etcd"]
WRITE_SERVERS = ["wasikv sync", "wasikv nosync", "etcd", "redis always", "redis everysec",
                 "redis none"]


def run_bench(bench, server, op, concurrency, batch, args):
    connections = concurrency if server.name == "redis 1 conn/call" else (concurrency + 15) // 16
    command = [bench, "--target", server.target, "--endpoint", server.endpoint, "--ops", op,
               "--keys", str(args.keys), "--batch", str(batch), "--concurrency", str(concurrency),
               "--connections", str(connections), "--duration", args.duration,
               "--warmup", args.warmup, "--value-bytes", "100", "--format", "json",
               "--server-pid", str(server.process.pid), "--label", server.name, "--no-progress"]
    # The key space is written once per server, before its first read.
    if op in ("get", "getmany") and not server.__dict__.get("preloaded"):
        server.preloaded = True
    elif op in ("get", "getmany"):
        command.append("--no-preload")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not result.stdout.strip():
        print(f"  {server.name} {op} c{concurrency}: failed: {result.stderr.strip()}"
              f" {result.stdout.strip()[:300]}", file=sys.stderr)
        return None
    report = json.loads(result.stdout)
    row = next(r for r in report["results"] if r["op"] == op)
    row["server_cpu_us"] = (report.get("server_cpu_seconds", -1) * 1e6 /
                            max(1, row["ok"] + row["miss"] + row["conflict"]))
    print(f"  {server.name:18} {op:8} c{concurrency:<3} {row['calls_per_second']:>10.0f} calls/s"
          f"  p99 {row['p99_us']:8.0f} us  server {row['server_cpu_us']:6.1f} us/call",
          file=sys.stderr)
    return row


def measure(args, build_dir):
    bench = os.path.join(build_dir, "client", "bench", "wasikv-bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"compare_with_peers: no {bench}: build first (README's test command)")
    for program in ("redis-server", "etcd", "gnuplot"):
        if shutil.which(program) is None:
            sys.exit(f"compare_with_peers: no {program}: run README's test command first")
    results = {}  # (server, scenario, concurrency) -> row
    root = tempfile.mkdtemp(prefix="wasikv-peers-")
    try:
        with open(os.path.join(root, "servers.log"), "w") as log:
            for name in dict.fromkeys(READ_SERVERS + WRITE_SERVERS):
                server = start_server(name, build_dir, root, log)
                try:
                    scenarios = (READS if name in READ_SERVERS else []) + \
                                (WRITES if name in WRITE_SERVERS else [])
                    for scenario, op, concurrency, batch in scenarios:
                        if op not in SUPPORTED[server.target]:
                            continue
                        row = run_bench(bench, server, op, concurrency, batch, args)
                        if row:
                            results[f"{name}|{scenario}|{concurrency}"] = row
                finally:
                    server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = []
    for command in (["redis-server", "--version"], ["etcd", "--version"]):
        try:
            versions.append(subprocess.run(command, capture_output=True, text=True).stdout
                            .splitlines()[0])
        except (OSError, IndexError):
            pass
    return (f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}; "
            f"{'; '.join(versions)}; client and servers share the machine")


def cell(results, server, scenario, concurrency, keys=False):
    row = results.get(f"{server}|{scenario}|{concurrency}")
    if not row:
        return "-"
    rate = row["keys_per_second"] if keys else row["calls_per_second"]
    return f"{rate / 1000:.1f}k ({row['p99_us'] / 1000:.2f} ms)"


def ratio(results, a, b):
    x, y = results.get(a), results.get(b)
    if not x or not y or y["calls_per_second"] == 0:
        return "-"
    return f"{x['calls_per_second'] / y['calls_per_second']:.2f}×"


def table(title, servers, scenarios, results):
    """A Markdown table: a row per scenario, a column per server."""
    lines = [f"### {title}", "", "| scenario | conc | " + " | ".join(servers) + " |",
             "|---|--:|" + "--:|" * len(servers)]
    for scenario, _, concurrency, batch in scenarios:
        cells = [cell(results, s, scenario, concurrency, batch > 1) for s in servers]
        lines.append(f"| {scenario} | {concurrency} | " + " | ".join(cells) + " |")
    return lines


def tables(results, args):
    lines = [BEGIN, "",
             f"Measured {datetime.date.today().isoformat()} by `tests/bench/compare_with_peers.py "
             f"--duration {args.duration}`: {machine()}. 100-byte values, {args.keys} keys, uniform; "
             "closed loop; each cell is calls/s (keys/s for batches) and, in brackets, p99 latency. "
             "Raw results: `docs/benchmarks-peers.json`.", ""]
    lines += table("Reads", READ_SERVERS, READS, results)
    lines += [""] + table("Writes", WRITE_SERVERS, WRITES, results)
    lines += ["", "### Ratios", "",
              "| ratio | conc 1 | conc 16 | conc 64 |", "|---|--:|--:|--:|"]
    pairs = [
        ("wasikv Get / wasikv empty RPC (ping)", "wasikv sync|get", "wasikv sync|ping"),
        ("wasikv synced Set / etcd Put", "wasikv sync|set", "etcd|set"),
        ("wasikv unsynced Set / wasikv empty RPC", "wasikv nosync|set", "wasikv sync|ping"),
        ("wasikv Get / etcd linearizable Get", "wasikv sync|get", "etcd|get"),
        ("wasikv Get / Redis GET (pipelined)", "wasikv sync|get", "redis none|get"),
    ]
    for name, a, b in pairs:
        lines.append(f"| {name} | " + " | ".join(
            ratio(results, f"{a}|{c}", f"{b}|{c}") for c in (1, 16, 64)) + " |")
    cpu = []
    for scenario in ("ping", "get", "set"):
        row = results.get(f"wasikv sync|{scenario}|16")
        if row and row["server_cpu_us"] > 0:
            cpu.append(f"{scenario} {row['server_cpu_us']:.1f} µs")
    lines += ["", "wasikvd CPU per call at conc 16: " + ", ".join(cpu) + ".", "",
              "![calls/s per server](benchmarks-peers.png)", "", END]
    return "\n".join(lines)


def chart(results, png):
    scenarios = [("get", 16), ("get", 64), ("set", 16), ("set", 64), ("getmany 100", 16),
                 ("setmany 100", 16)]
    servers = list(dict.fromkeys(READ_SERVERS + WRITE_SERVERS))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        with open(data, "w") as out:
            out.write("scenario " + " ".join(f'"{s}"' for s in servers) + "\n")
            for scenario, concurrency in scenarios:
                values = []
                for server in servers:
                    row = results.get(f"{server}|{scenario}|{concurrency}")
                    rate = row["keys_per_second"] if row and "many" in scenario else \
                        row["calls_per_second"] if row else 0
                    values.append(f"{rate:.0f}" if rate > 0 else "NaN")
                label = scenario.replace(" 100", "")
                out.write(f'"{label} c{concurrency}" ' + " ".join(values) + "\n")
        script = f"""
set terminal pngcairo size 1100,520 font ",10"
set output "{png}"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel "calls/s (keys/s for batches), log scale"
set key outside right top
set grid ytics
set datafile missing "NaN"
plot for [i=2:{len(servers) + 1}] "{data}" using i:xtic(1) title columnheader(i)
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build", "ci"))
    parser.add_argument("--duration", default="5s")
    parser.add_argument("--warmup", default="1s")
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = parser.parse_args()

    results = measure(args, os.path.abspath(args.build_dir))
    docs_dir = os.path.dirname(os.path.abspath(args.docs))
    with open(os.path.join(docs_dir, "benchmarks-peers.json"), "w") as out:
        json.dump(results, out, indent=1, sort_keys=True)
    chart(results, os.path.join(docs_dir, "benchmarks-peers.png"))
    section = tables(results, args)
    with open(args.docs) as f:
        text = f.read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## wasikv, Redis and etcd\n\n" + section + "\n"
    with open(args.docs, "w") as f:
        f.write(text)
    print(section)


if __name__ == "__main__":
    main()
