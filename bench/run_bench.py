#!/usr/bin/env python3
"""The driver behind bench/run.sh (issue #5): measures gmr, eu-stack and gdb on the
same process, and /gmr under wrk, then prints one table and writes BENCHMARKS.md.

For each N (10, 100, 1000) it starts one gmr-bench-target (gmr-demo's workload:
N workers parked about 20 frames deep, plus a 1 ms ticker and a work counter;
see bench/bench_target.cpp) and, on that one process:

  1. gmr: the process's first (cold) report, then WARM more; each one is
     gmr::collect() (the whole report: every section), render_json() and
     render_text(), timed inside the process, with capture and symbolization timed
     by link-time wrappers around gmr's internal functions, how long every thread
     spent in the capture handler, and the ticker's longest stall;
  2. the kernel's view of the interruptions (perf record of signal_deliver and of
     the rt_sigreturn that ends each handler), over PERF_REPORTS more warm reports;
  3. for N = HTTP_WORKERS: the work rate at rest, then wrk with 8 connections on
     /gmr, the work rate meanwhile, and wrk's requests per second and latencies;
  4. eu-stack -p PID -s (median of 3) and gdb -p PID -batch -ex 'thread apply all bt'
     (median of 3; once for N >= 1000), with the ticker's stall during each.

Only the standard library: it runs on Debian's python3 as it is.
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import queue
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CHILDREN = []  # every process we start, killed on the way out


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


def on_signal(signo, _frame):
    kill_children()
    sys.exit(128 + signo)


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    CHILDREN.append(p)
    return p


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, q):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(len(xs) * q / 100))]


# ---- The target process -------------------------------------------------------------
class Target:
    def __init__(self, binary, n, depth, logdir):
        self.n = n
        self.log_path = os.path.join(logdir, f"target-{n}.log")
        self.log_file = open(self.log_path, "w")
        self.proc = spawn(
            [binary, f"--demo.workers={n}", f"--demo.depth={depth}", "--oslo_reports.http_port=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file,
            text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def cmd(self, line, timeout=60):
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise BenchError(f"the target (N={self.n}) died; see {self.log_path}")
        try:
            answer = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"the target (N={self.n}) did not answer '{line}' within {timeout} s; "
                             f"see {self.log_path}")
        if answer is None:
            raise BenchError(f"the target (N={self.n}) exited (status {self.proc.poll()}); "
                             f"see {self.log_path}")
        data = json.loads(answer)
        if isinstance(data, dict) and "error" in data:
            raise BenchError(f"the target (N={self.n}) says: {data['error']}")
        return data

    def state(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for l in f:
                    if l.startswith("State:"):
                        return l.split()[1]
        except OSError:
            return None

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit", timeout=10)
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# ---- External tools -----------------------------------------------------------------
def run_tool(target, argv, timeout):
    """Runs a stack dumper on the target; returns wall time, the ticker's stall
    meanwhile, and how many threads and frames it printed."""
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)  # no network lookups from gdb or eu-stack
    live_threads = target.cmd("mem")["threads"]
    target.cmd("tick-reset")
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{argv[0]} did not finish within {timeout} s")
    wall_ms = (time.monotonic() - t0) * 1e3
    # gdb detaches before it exits; make sure the process runs again before asking it.
    for _ in range(200):
        if target.state() not in ("t", "T"):
            break
        time.sleep(0.01)
    tick = target.cmd("tick-read")
    out = r.stdout
    if argv[0] == "eu-stack":
        threads = len(re.findall(r"^TID \d+:", out, re.M))
    else:
        threads = len(re.findall(r"^Thread \d+ \(", out, re.M))
    frames = len(re.findall(r"^#\d+\s", out, re.M))
    return {"wall_ms": wall_ms, "stall_ms": tick["stall_ms"], "rc": r.returncode,
            "threads": threads, "live_threads": live_threads, "frames": frames, "stderr": r.stderr[-500:]}


def perf_view(target, pid, signo, reports, tmpdir):
    """The kernel's view of each interruption over `reports` warm reports: from
    signal_deliver (the thread starts handling the capture signal) to the
    rt_sigreturn that ends the handler, and from signal_generate (gmr sends it) to
    signal_deliver."""
    if not shutil.which("perf"):
        return {"error": "perf is not installed (Debian: linux-perf)"}
    data = os.path.join(tmpdir, f"perf-{target.n}.data")
    p = spawn(["perf", "record", "-a", "-q", "-o", data,
               "-e", "signal:signal_generate", "--filter", f"sig == {signo}",
               "-e", "signal:signal_deliver", "--filter", f"sig == {signo}",
               "-e", "raw_syscalls:sys_enter", "--filter", "id == 15"],
              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    if p.poll() is not None:
        return {"error": "perf record failed: " + p.stderr.read().strip()[-300:]}
    try:
        answer = target.cmd(f"reports {reports} 50", timeout=120)
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    r = subprocess.run(["perf", "script", "-i", data, "-F", "pid,tid,time,event,trace", "--ns"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    line_re = re.compile(r"^\s*(\d+)/(\d+)\s+(\d+\.\d+):\s+(\S+):\s+(.*)$")
    generated = {}  # target tid -> [times]
    events = {}  # tid -> [(time, kind)]
    for line in r.stdout.splitlines():
        m = line_re.match(line)
        if not m or int(m.group(1)) != pid:
            continue
        tid, ts, ev, payload = int(m.group(2)), float(m.group(3)), m.group(4), m.group(5)
        if ev == "signal:signal_generate":
            g = re.search(r"\bpid=(\d+)", payload)
            if g:
                generated.setdefault(int(g.group(1)), []).append(ts)
        elif ev == "signal:signal_deliver":
            events.setdefault(tid, []).append((ts, "d"))
        elif ev == "raw_syscalls:sys_enter":
            events.setdefault(tid, []).append((ts, "r"))
    handler_us, latency_us = [], []
    for tid, evs in events.items():
        evs.sort()
        gens = sorted(generated.get(tid, []))
        for i, (ts, kind) in enumerate(evs):
            if kind != "d":
                continue
            ret = next((t for t, k in evs[i + 1:] if k == "r"), None)
            if ret is not None and ret - ts < 0.1:
                handler_us.append((ret - ts) * 1e6)
            before = [g for g in gens if g <= ts]
            if before:
                latency_us.append((ts - before[-1]) * 1e6)
    if not handler_us:
        return {"error": "perf recorded no capture-signal deliveries"}
    return {"count": len(handler_us),
            "handler_median_us": median(handler_us), "handler_p99_us": pct(handler_us, 99),
            "handler_max_us": max(handler_us),
            "latency_median_us": median(latency_us), "latency_max_us": max(latency_us) if latency_us else None,
            "collect_ms_under_perf": median([x["collect_ms"] for x in answer["reports"]])}


def fetch(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def http_phase(target, port, args, here):
    url = f"http://127.0.0.1:{port}/gmr"
    status, body = fetch(url)
    doc = json.loads(body)
    if status != 200 or doc.get("schema_version") is None:
        raise BenchError(f"GET {url} gave {status}, not a report")
    out = {"url": url, "body_bytes": len(body)}
    # At rest.
    c0, cpu0 = target.cmd("counter"), target.cpu_s()
    time.sleep(args.rest_seconds)
    c1, cpu1 = target.cmd("counter"), target.cpu_s()
    dt = (c1["t_ns"] - c0["t_ns"]) / 1e9
    out["rest_rate"] = (c1["ticks"] - c0["ticks"]) / dt
    out["rest_cpu_cores"] = (cpu1 - cpu0) / dt
    # Under wrk.
    target.cmd("tick-reset")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0, cpu0 = target.cmd("counter"), target.cpu_s()
    r = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.http_seconds}s", "--latency",
                        "--timeout", "10s", "-s", os.path.join(here, "wrk_report.lua"), url],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=args.http_seconds + 60)
    c1, cpu1 = target.cmd("counter"), target.cpu_s()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    tick = target.cmd("tick-read")
    m = re.search(r"^WRKJSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise BenchError("wrk failed:\n" + r.stdout[-1000:])
    dt = (c1["t_ns"] - c0["t_ns"]) / 1e9
    w = json.loads(m.group(1))
    out["wrk"] = w
    out["wrk_text"] = r.stdout
    out["rps"] = w["requests"] / (w["duration_us"] / 1e6)
    out["load_rate"] = (c1["ticks"] - c0["ticks"]) / dt
    out["load_cpu_cores"] = (cpu1 - cpu0) / dt
    out["wrk_cpu_cores"] = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / dt
    out["load_stall_ms"] = tick["stall_ms"]
    out["errors"] = sum(w["errors"].values())
    return out


# ---- One N --------------------------------------------------------------------------
def session(n, args, tmpdir, here):
    log(f"N={n}: starting gmr-bench-target")
    t = Target(args.binary, n, args.depth, tmpdir)
    try:
        ready = t.cmd("ready", timeout=120)
        pid = ready["pid"]
        res = {"n": n, "ready": ready}
        log(f"N={n}: pid {pid}; {1 + args.warm} gmr reports (the first is the process's first)")
        res["reports"] = t.cmd(f"reports {1 + args.warm} 50", timeout=300)
        if args.perf_reports > 0:
            log(f"N={n}: {args.perf_reports} more reports under perf (the kernel's view)")
            try:
                res["perf"] = perf_view(t, pid, ready["capture_signal"], args.perf_reports, tmpdir)
            except BenchError as e:
                res["perf"] = {"error": str(e)}
            if "error" in res["perf"]:
                log(f"N={n}: perf: {res['perf']['error']}")
        if n == args.http_workers:
            log(f"N={n}: work rate at rest ({args.rest_seconds} s), then wrk -c{args.connections} "
                f"on /gmr ({args.http_seconds} s)")
            res["http"] = http_phase(t, ready["port"], args, here)
            # The server's connection threads wind down after wrk: let the thread
            # count come back before the tools count threads.
            baseline = res["reports"]["mem"]["now"]["threads"]
            for _ in range(100):
                if t.cmd("mem")["threads"] <= baseline:
                    break
                time.sleep(0.05)
        log(f"N={n}: eu-stack -p {pid} -s, 3 times")
        res["eustack"] = [run_tool(t, ["eu-stack", "-p", str(pid), "-s"], 120) for _ in range(3)]
        gdb_runs = 1 if n >= 1000 else 3
        log(f"N={n}: gdb -p {pid} -batch -ex 'thread apply all bt', {gdb_runs} time(s)")
        res["gdb"] = [run_tool(t, ["gdb", "-nx", "-p", str(pid), "-batch", "-ex", "thread apply all bt"], 300)
                      for _ in range(gdb_runs)]
        res["mem_end"] = t.cmd("mem")
        return res
    finally:
        t.stop()


# ---- Figures ------------------------------------------------------------------------
def ms_of(probe):
    return probe["ms"] if probe else None


def figures(res):
    reps = res["reports"]["reports"]
    cold, warm = reps[0], reps[1:]
    f = {"n": res["n"]}

    def split(r):
        cap, sym = ms_of(r["capture"]), ms_of(r["symbolize"])
        procs = None
        if r["task_stat"] or r["task_sigblk"] or r["list_tasks"]:
            procs = sum(ms_of(r[k]) or 0 for k in ("task_stat", "task_sigblk", "list_tasks"))
        th, grp = ms_of(r["threads_section"]), ms_of(r["grouping"])
        rest = th - (cap or 0) - (sym or 0) if th is not None else None
        other = r["collect_ms"] - th if th is not None else None
        return {"collect": r["collect_ms"], "capture": cap, "proc_reads": procs, "symbolize": sym,
                "threads_rest": rest, "grouping": grp, "other_sections": other,
                "json": r["json_ms"], "text": r["text_ms"], "report": r["collect_ms"] + r["json_ms"],
                "stall": r["stall_ms"], "json_mb": r["json_bytes"] / 1e6, "text_mb": r["text_bytes"] / 1e6}

    f["cold"] = split(cold)
    ws = [split(r) for r in warm]
    f["warm"] = {k: median([w[k] for w in ws]) for k in ws[0]}
    f["warm"]["stall"] = max(w["stall"] for w in ws)
    f["warm"]["report_min"] = min(w["report"] for w in ws)
    f["warm"]["report_max"] = max(w["report"] for w in ws)
    f["check"] = cold["check"]
    f["check_warm_ok"] = all(r["check"]["not_captured"] == 0 for r in warm)
    ci, wi = cold.get("interrupts"), [r.get("interrupts") for r in warm]
    f["int_cold"] = ci
    if all(wi):
        f["int_warm"] = {"median_us": median([x["median_us"] for x in wi]),
                         "max_us": max(x["max_us"] for x in wi)}
    else:
        f["int_warm"] = None
    f["perf"] = res.get("perf")
    m = res["reports"]["mem"]
    # gmr's start-up warm-up capture (if any) adds what the first report would:
    # count from before it.
    wc = res["ready"].get("warm_capture")
    base = wc["mem_before"] if wc else m["before_first"]
    f["mem_rss_mb"] = (m["after_first"]["rss_kb"] - base["rss_kb"]) / 1024
    f["mem_pss_mb"] = (m["after_first"]["pss_kb"] - base["pss_kb"]) / 1024
    f["mem_before_mb"] = base["rss_kb"] / 1024
    f["warmup_ms"] = res["ready"].get("warmup_ms")
    f["warm_capture_ms"] = wc["ms"] if wc else None
    f["warm_capture_stall"] = wc["tick"]["stall_ms"] if wc else None
    f["eustack"] = median([x["wall_ms"] for x in res["eustack"]])
    f["eustack_stall"] = median([x["stall_ms"] for x in res["eustack"]])
    f["eustack_threads"] = res["eustack"][0]["threads"]
    f["gdb"] = median([x["wall_ms"] for x in res["gdb"]])
    f["gdb_stall"] = median([x["stall_ms"] for x in res["gdb"]])
    f["gdb_threads"] = res["gdb"][0]["threads"]
    f["gdb_runs"] = len(res["gdb"])
    f["tool_live_threads"] = res["eustack"][0]["live_threads"]
    f["vs_eustack"] = f["eustack"] / f["warm"]["report"]
    f["vs_gdb"] = f["gdb"] / f["warm"]["report"]
    f["threads"] = res["ready"]["workers"]
    f["process_threads"] = cold["check"]["threads"]
    return f


def fmt(x, d=1):
    if x is None:
        return "n/a"
    if isinstance(x, float) and abs(x) >= 100 and d > 0:
        d = 0
    return f"{x:,.{d}f}"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "met" if ok else "**MISSED**"


def build_tables(figs, http, args):
    ns = [f["n"] for f in figs]
    by = {f["n"]: f for f in figs}
    big = max(ns)
    head = "| | " + " | ".join(f"N={n}" for n in ns) + " | target | verdict |"
    sep = "|---|" + "---:|" * len(ns) + "---|---|"
    rows = []
    targets = []  # (name, verdict text, ok)

    def row(label, cells, target="", ok="-"):
        v = "" if ok == "-" else verdict(ok)
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {target} | {v} |")

    def each(fn):
        return [fn(by[n]) for n in ns]

    def sec(title):
        rows.append(f"| **{title}** | " + " | ".join("" for _ in ns) + " | | |")

    sec("gmr, in the process (ms)")
    row("threads in the report: captured / all", each(
        lambda f: f"{f['check']['captured']} / {f['check']['threads']}"
        + ("" if f["check"]["not_captured"] == 0 and f["check_warm_ok"] else " (!)")))
    row("cold: collect (whole report, all sections)", each(lambda f: fmt(f["cold"]["collect"])))
    row("cold: capture (of which /proc reads)",
        each(lambda f: f"{fmt(f['cold']['capture'])} ({fmt(f['cold']['proc_reads'])})"))
    row("cold: symbolize", each(lambda f: fmt(f["cold"]["symbolize"])))
    row("cold: render JSON / text", each(lambda f: f"{fmt(f['cold']['json'])} / {fmt(f['cold']['text'])}"))
    first = by[big]["cold"]["report"]
    ok_first = first <= 150
    row("**first report: collect + JSON**", each(lambda f: fmt(f["cold"]["report"])),
        f"<= 150 at N={big}", ok_first)
    targets.append((f"first report of {big} threads <= 150 ms", f"{fmt(first)} ms", ok_first))
    row("warm: capture (of which /proc reads)",
        each(lambda f: f"{fmt(f['warm']['capture'])} ({fmt(f['warm']['proc_reads'])})"))
    row("warm: symbolize", each(lambda f: fmt(f["warm"]["symbolize"])))
    row("warm: rest of Threads (values, groups; of which grouping)",
        each(lambda f: f"{fmt(f['warm']['threads_rest'])} ({fmt(f['warm']['grouping'])})"
             if f["warm"]["threads_rest"] is not None else "n/a"))
    row("warm: other sections", each(lambda f: fmt(f["warm"]["other_sections"])))
    row("warm: render JSON (MB)", each(lambda f: f"{fmt(f['warm']['json'])} ({fmt(f['warm']['json_mb'])})"))
    row("warm: render text (MB)", each(lambda f: f"{fmt(f['warm']['text'])} ({fmt(f['warm']['text_mb'])})"))
    warm = by[big]["warm"]["report"]
    ok_warm = warm <= 25
    row(f"**warm report: collect + JSON** (median of {args.warm}; min-max)",
        each(lambda f: f"{fmt(f['warm']['report'])} ({fmt(f['warm']['report_min'])}-{fmt(f['warm']['report_max'])})"),
        f"<= 25 at N={big}", ok_warm)
    targets.append((f"warm report of {big} threads (capture + symbolize + JSON) <= 25 ms", f"{fmt(warm)} ms", ok_warm))

    sec("each thread's interruption (µs)")
    row("in the handler, cold report: median / worst", each(
        lambda f: f"{fmt(f['int_cold']['median_us'])} / {fmt(f['int_cold']['max_us'])}" if f["int_cold"] else "n/a"))
    row("in the handler, warm reports: median / worst", each(
        lambda f: f"{fmt(f['int_warm']['median_us'])} / {fmt(f['int_warm']['max_us'])}" if f["int_warm"] else "n/a"))

    def perf_cell(f, a, b):
        p = f["perf"]
        if not p or "error" in p:
            return "n/a"
        return f"{fmt(p[a])} / {fmt(p[b])}"

    def kernel_median(f):
        p = f["perf"]
        if p and "error" not in p:
            return p["handler_median_us"]
        return f["int_warm"]["median_us"] if f["int_warm"] else None

    meds = [kernel_median(by[n]) for n in ns]
    ok_int = None if any(m is None for m in meds) else all(m <= 10 for m in meds)
    row("kernel view (perf), warm: median / worst", each(lambda f: perf_cell(f, "handler_median_us", "handler_max_us")),
        "median <= 10", ok_int)
    cold_meds = [by[n]["int_cold"]["median_us"] if by[n]["int_cold"] else None for n in ns]
    targets.append(("each thread interrupted <= 10 µs at the median (warm reports; kernel view)",
                    ", ".join(f"N={n}: {fmt(m)} µs" for n, m in zip(ns, meds))
                    + "; in the process's first report, in the handler alone: "
                    + ", ".join(f"N={n}: {fmt(m)} µs" for n, m in zip(ns, cold_meds)), ok_int))
    row("signal sent -> handler starts (perf): median / worst",
        each(lambda f: perf_cell(f, "latency_median_us", "latency_max_us")))

    sec("the 1 ms ticker's longest stall (ms)")
    # The start-up warm-up capture stalls the host as a report would: it counts.
    stalls = [max(by[n]["cold"]["stall"], by[n]["warm"]["stall"], by[n].get("warm_capture_stall") or 0)
              for n in ns]
    ok_stall = all(s <= 5 for s in stalls)
    row("during the start-up warm-up capture / the first report / the next ones (worst)",
        each(lambda f: f"{fmt(f['warm_capture_stall'], 2)} / {fmt(f['cold']['stall'], 2)} / "
                       f"{fmt(f['warm']['stall'], 2)}"), "<= 5", ok_stall)
    targets.append(("no thread stalled more than 5 ms by a report",
                    ", ".join(f"N={n}: {fmt(s, 2)} ms" for n, s in zip(ns, stalls)), ok_stall))
    row("during eu-stack / gdb", each(lambda f: f"{fmt(f['eustack_stall'])} / {fmt(f['gdb_stall'])}"))

    sec("memory")
    row("gained by the start-up warm-up capture and the first report: RSS (Pss), MB",
        each(lambda f: f"+{fmt(f['mem_rss_mb'])} (+{fmt(f['mem_pss_mb'])})"))
    row("RSS before them, MB", each(lambda f: fmt(f["mem_before_mb"])))
    row("**start-up warm-up, in the background (not in any report)**", each(lambda f: ""))
    row("symbol tables read at start-up, ms", each(lambda f: fmt(f["warmup_ms"])))
    row("warm-up capture 1 s after setup (thrown away), ms", each(lambda f: fmt(f["warm_capture_ms"])))
    row("the ticker's longest stall during the warm-up capture, ms",
        each(lambda f: fmt(f["warm_capture_stall"], 2)))

    sec("the same process, other tools (ms)")
    row("`eu-stack -p PID -s` (median of 3)", each(lambda f: fmt(f["eustack"])))
    row("`gdb -p PID -batch -ex 'thread apply all bt'`",
        each(lambda f: f"{fmt(f['gdb'])}" + (" (1 run)" if f["gdb_runs"] == 1 else "")))
    row("threads they printed: eu-stack / gdb",
        each(lambda f: f"{f['eustack_threads']} / {f['gdb_threads']}"))
    r_eu, r_gdb = by[big]["vs_eustack"], by[big]["vs_gdb"]
    row("**gmr warm report is faster than eu-stack by**", each(lambda f: f"x{fmt(f['vs_eustack'])}"),
        f">= x40 at N={big}", r_eu >= 40)
    row("**gmr warm report is faster than gdb by**", each(lambda f: f"x{fmt(f['vs_gdb'])}"),
        f">= x100 at N={big}", r_gdb >= 100)
    targets.append((f"x40 faster than eu-stack -s at N={big}", f"x{fmt(r_eu)}", r_eu >= 40))
    targets.append((f"x100 faster than gdb at N={big}", f"x{fmt(r_gdb)}", r_gdb >= 100))

    main = "\n".join([head, sep] + rows)

    # Where the time goes, for the largest N: the parts of "collect + JSON".
    def parts(x):
        if x["capture"] is None:
            return None
        items = [("capture", x["capture"]), ("symbolize", x["symbolize"]),
                 ("rest of Threads", x["threads_rest"]), ("other sections", x["other_sections"]),
                 ("JSON render", x["json"])]
        total = sum(v for _, v in items)
        return ", ".join(f"{k} {fmt(v)} ms ({100 * v / total:.0f}%)"
                         for k, v in sorted(items, key=lambda kv: -kv[1]))
    where = []
    for kind in ("warm", "cold"):
        p = parts(by[big][kind])
        if p:
            where.append(f"{kind} report, N={big}: {p}")

    http_md = ""
    if http:
        h = http
        w = h["wrk"]
        ratio = h["load_rate"] / h["rest_rate"] if h["rest_rate"] else None
        ok_rate = None if ratio is None else ratio >= 0.9
        hrows = [
            "| | value | target | verdict |", "|---|---:|---|---|",
            f"| requests per second ({args.connections} connections, {args.http_seconds} s) | {fmt(h['rps'])} | | |",
            f"| latency p50 / p90 / p99 / max, ms | {fmt(w['latency_us']['p50'] / 1e3)} / "
            f"{fmt(w['latency_us']['p90'] / 1e3)} / {fmt(w['latency_us']['p99'] / 1e3)} / "
            f"{fmt(w['latency_us']['max'] / 1e3)} | | |",
            f"| requests / errors (connect, read, write, non-2xx, timeout) | {w['requests']} / {h['errors']} | | |",
            f"| response size, MB | {fmt(h['body_bytes'] / 1e6, 2)} | | |",
            f"| the demo's work rate at rest, per s | {fmt(h['rest_rate'])} | | |",
            f"| **its work rate under wrk, per s (share of rest)** | {fmt(h['load_rate'])} "
            f"({fmt(100 * ratio if ratio else None, 0)}%) | >= 90% | {verdict(ok_rate)} |",
            f"| CPU: the process at rest / under wrk; wrk itself (cores of 2) | {fmt(h['rest_cpu_cores'], 2)} / "
            f"{fmt(h['load_cpu_cores'], 2)}; {fmt(h['wrk_cpu_cores'], 2)} | | |",
            f"| the ticker's longest stall under wrk, ms | {fmt(h['load_stall_ms'], 2)} | | |",
        ]
        http_md = "\n".join(hrows)
        targets.append(("the demo's work rate under wrk >= 90% of its rate at rest",
                        f"{fmt(100 * ratio if ratio else None, 0)}%", ok_rate))
    return main, http_md, targets, where


# ---- The machine --------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine(repo, binary):
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    debian = sh("cat /etc/debian_version")
    commit = sh(f"git -C {repo} rev-parse --short HEAD")
    dirty = sh(f"git -C {repo} status --porcelain --untracked-files=no | head -1")
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores" + (" (virtual machine)" if "hypervisor" in sh("grep -m1 -o hypervisor /proc/cpuinfo") else ""),
        "memory": mem, "os": f"Debian {debian}, Linux {platform.release()}",
        "compiler": sh("c++ --version | head -1"),
        "tools": "; ".join(x for x in [sh("eu-stack --version | head -1"), sh("gdb --version | head -1"),
                                       sh("wrk -v 2>&1 | head -1"), sh("perf --version")] if x),
        "commit": commit + (" with local changes" if dirty else ""),
        "binary": binary,
    }


def busy_s():
    """CPU seconds the whole machine has spent busy (every core), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


def own_s():
    """CPU seconds this driver and every child it has waited for have used."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def cpu_check_ms():
    """A fixed single-threaded loop, so that runs on the same machine can be compared:
    a VM's host can make every figure slower without any sign inside the guest."""
    best = None
    for _ in range(3):
        t = time.perf_counter()
        x = 0
        for i in range(2_000_000):
            x += i * i
        ms = (time.perf_counter() - t) * 1e3
        best = ms if best is None else min(best, ms)
    return best


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


METHOD = """\
## What is measured, and how

Everything for one N is measured on one process, `gmr-bench-target
--demo.workers=N --demo.depth=18 --oslo_reports.http_port=0`
(`bench/bench_target.cpp`): gmr-demo's workload (N workers of four kinds, waiting
on a condition variable, in `sleep_for`, in `poll()` on a pipe, or computing in
bursts, each parked 18 frames below its thread function, about 22 frames deep),
gmr with its admin endpoint, plus a **ticker** thread that wakes every 1 ms and
records the longest gap between two ticks, a **work counter** (the demo's own:
jobs handled + bursts of computation) and a control channel on stdin. Besides the
N workers the process has a few threads of its own (main, dispatcher, ticker) and
gmr's (its reporter, the HTTP server's): the first line of the table counts them all.

- **A report** is `gmr::collect()` (every section: package, threads, green
  threads, processes, configuration, the Work Queue section) then `render_json()`
  (indented, as `/gmr` serves it) and `render_text()`, called one after the other
  from the control thread; the report itself runs on gmr's reporter thread. The
  first report of the process is the **cold** one; the **warm** figures are the
  median of the following ones, 50 ms apart. "collect + JSON" is the figure the
  targets speak of (capture + symbolize + JSON, plus the small other sections).
- **The split** comes from link-time wrappers (`-Wl,--wrap`, bench only) around
  gmr's internal `ThreadCapture::capture` (signalling every thread and waiting for
  the answers, including the `/proc/self/task/TID/{stat,status}` reads, shown in
  brackets: they run on a helper thread while the reporter signals, so they overlap
  the rest of the capture), `Symbolizer::frames` (all calls summed), `collect_threads`
  (the whole Threads section) and `group_stacks`. "Rest of Threads" is the Threads
  section less capture and symbolization: building the values and the groups.
  gmr itself is not changed.
- **Each thread's interruption, in the handler**: `sigaction()` is wrapped too, so
  that gmr's capture handler runs through a trampoline that reads the monotonic
  clock before and after it (its frame is above the interrupted one and gmr drops
  it from the stack). Median and worst over every thread of a report.
  **Kernel view**: `perf record -a` of `signal:signal_deliver` and of the
  `rt_sigreturn` that ends each handler, over a few more warm reports; this adds
  the kernel's work (building the signal frame), and is the figure the target is
  judged on. "Signal sent -> handler starts" is `signal_generate` to
  `signal_deliver`: for a parked thread, how long it waits to be woken and
  scheduled on a CPU (it was not running anyway).
- **Stall**: the ticker's longest gap between two ticks, less its 1 ms period,
  while the report (collect + both renders) runs, or while eu-stack or gdb runs.
  The ticker is one of the threads being captured, so this includes its own
  interruption and any wait for a CPU.
- **Start-up warm-up**: gmr builds libbacktrace's state on its reporter thread
  when it starts ("symbol tables read at start-up"), and one second after setup
  takes a capture that it symbolizes and throws away (`SetupOptions::warm_up_after`),
  so that the debug information of the code the threads are in is read before the
  first report. That capture is timed, and the ticker's stall during it counts
  against the stall target like a report's; the "ready" step waits for it.
- **Memory**: VmRSS (and Pss from `/proc/self/smaps_rollup`) just before the
  start-up warm-up capture and just after the process's first report, so what the
  warm-up moves out of the first report is still counted.
- **eu-stack** `eu-stack -p PID -s` and **gdb** `gdb -nx -p PID -batch -ex 'thread
  apply all bt'`: wall time of the whole command, on the same process after gmr's
  reports, median of 3 (gdb once for N >= 1000); `DEBUGINFOD_URLS` is unset.
  Ratios divide their time by gmr's warm "collect + JSON".
- **HTTP**: `wrk -t2 -cC -dSs --latency` on `/gmr` (JSON, every section, about the
  size shown) against the N=HTTP process; the work rate is the work counter's rate
  over the wrk run against its rate over a quiet period just before. The demo's
  work is paced by sleeps (a job every 100 ms, bursts every 50 ms), so the rate
  drops when its threads wait for a CPU, not in proportion to CPU taken: the CPU
  lines say how much the endpoint costs.
- The machine has 2 cores shared by the target, the tools, wrk and anything else
  running. The run says how much CPU other processes took meanwhile (all busy time
  in `/proc/stat` less the benchmark's own) and warns above 0.2 cores: figures
  from a busy machine are inflated and noisy; run it again on a quiet one.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out", help="write BENCHMARKS.md here")
    ap.add_argument("--counts", default="10,100,1000")
    ap.add_argument("--depth", type=int, default=18)
    ap.add_argument("--warm", type=int, default=10, help="warm reports after the cold one")
    ap.add_argument("--perf-reports", type=int, default=5)
    ap.add_argument("--http-workers", type=int, default=100)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--http-seconds", type=int, default=10)
    ap.add_argument("--rest-seconds", type=int, default=5)
    ap.add_argument("--json", help="also write every raw measurement here")
    ap.add_argument("--wait-for-quiet", type=int, default=180, metavar="SECONDS",
                    help="wait up to this long for other processes to leave the CPUs alone (0: do not wait)")
    ap.add_argument("--workdir", help="directory for the targets' logs and perf data (default: a new temporary one)")
    ap.add_argument("--command", default="bench/run.sh", help="how this run was started (for the report)")
    ap.add_argument("--own-process-group", action="store_true",
                    help="lead a process group of its own, so that bench/run.sh can end every child")
    args = ap.parse_args()
    if args.own_process_group and os.getpgrp() != os.getpid():
        os.setpgid(0, 0)
    if args.warm < 1:
        ap.error("--warm must be at least 1")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(kill_children)
    for tool in ("eu-stack", "gdb", "wrk"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not installed (bench/run.sh installs it: elfutils, gdb, wrk)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536)) if resource.getrlimit(
        resource.RLIMIT_NOFILE)[1] >= 65536 else None

    here = os.path.dirname(os.path.abspath(__file__))
    counts = [int(x) for x in args.counts.split(",")]
    results = []
    if args.wait_for_quiet > 0:
        # Other work on 2 cores inflates every figure: wait a while for a quiet machine.
        deadline = time.monotonic() + args.wait_for_quiet
        quiet = 0
        while True:
            b0 = busy_s()
            time.sleep(3)
            used = (busy_s() - b0) / 3
            quiet = quiet + 1 if used < 0.25 else 0
            if quiet >= 3:  # 9 s in a row: not just a pause between two compilations
                break
            if time.monotonic() > deadline:
                log(f"the machine was not quiet for long (others use {used:.2f} cores now); measuring anyway")
                break
            if not quiet:
                log(f"waiting for a quiet machine: others use {used:.2f} cores "
                    f"(up to {max(0, deadline - time.monotonic()):.0f} s more; --wait-for-quiet)")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = loadavg()
    cpu_check = cpu_check_ms()
    tmpdir = args.workdir or tempfile.mkdtemp(prefix="gmr-bench-")
    os.makedirs(tmpdir, exist_ok=True)
    log(f"the targets' stderr and perf's data go to {tmpdir}")
    t0, busy0, own0 = time.monotonic(), busy_s(), own_s()
    for n in counts:
        results.append(session(n, args, tmpdir, here))
    elapsed = time.monotonic() - t0
    # What the rest of the machine used meanwhile: the best sign of noisy figures.
    others = max(0.0, (busy_s() - busy0) - (own_s() - own0)) / elapsed
    load_end = loadavg()
    figs = [figures(r) for r in results]
    http = next((r["http"] for r in results if "http" in r), None)
    main_md, http_md, targets, where = build_tables(figs, http, args)
    mach = machine(args.repo, args.binary)

    missed = [t for t in targets if t[2] is False]
    lines = []
    lines.append(f"gmr benchmarks, {started.strftime('%Y-%m-%d %H:%M UTC')}, {mach['cpu']}, {mach['memory']}")
    lines.append(f"load average {load_start:.2f} at the start; other processes used {others:.2f} "
                 f"of {os.cpu_count()} cores meanwhile; measured in {elapsed:.0f} s; "
                 f"CPU check {cpu_check:.0f} ms")
    lines.append("")
    lines.append(main_md)
    if http_md:
        lines.append("")
        lines.append(f"/gmr under wrk (N={args.http_workers}):")
        lines.append("")
        lines.append(http_md)
    lines.append("")
    lines.append("Targets:")
    for name, value, ok in targets:
        lines.append(f"- {verdict(ok)}: {name} ({value})")
    if where:
        lines.append("")
        lines.append("Where the time of collect + JSON goes:")
        lines.extend(f"- {w}" for w in where)
    warnings = []
    for f in figs:
        if f["check"]["not_captured"] or not f["check_warm_ok"]:
            warnings.append(f"N={f['n']}: some threads were not captured")
        if f["eustack_threads"] != f["tool_live_threads"]:
            warnings.append(f"N={f['n']}: eu-stack printed {f['eustack_threads']} threads of {f['tool_live_threads']}")
        if f["gdb_threads"] != f["tool_live_threads"]:
            warnings.append(f"N={f['n']}: gdb printed {f['gdb_threads']} threads of {f['tool_live_threads']}")
        if f["perf"] and "error" in f["perf"]:
            warnings.append(f"N={f['n']}: no kernel view: {f['perf']['error']}")
    if http and http["load_stall_ms"] > 5:
        warnings.append(f"under wrk, with reports back to back, the ticker stalled {fmt(http['load_stall_ms'], 2)} ms "
                        f"(the process used {fmt(http['load_cpu_cores'], 2)} of {os.cpu_count()} cores)")
    if http and http["errors"]:
        warnings.append(f"wrk saw {http['errors']} errors")
    if others > 0.2:
        warnings.append(f"the machine was busy: other processes used {others:.2f} of {os.cpu_count()} "
                        "cores on average during the run; these timings are inflated and noisy, "
                        "run it again on a quiet machine")
    if warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"- {w}" for w in warnings)
    text = "\n".join(lines)
    print(text)

    if args.json:
        with open(args.json, "w") as fp:
            json.dump({"results": results, "figures": figs, "machine": mach}, fp, indent=1, default=str)
    if args.out:
        md = []
        md.append("# Benchmarks")
        md.append("")
        md.append("Produced by one command, `bench/run.sh` (issue #5), which builds what it needs, "
                  "installs the missing tools (elfutils, gdb, wrk, linux-perf), measures, prints the "
                  "table below and writes this file. Benchmark figures only: no unit test asserts a "
                  "time.")
        md.append("")
        md.append("## The run")
        md.append("")
        md.append(f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}; took {elapsed:.0f} s of measuring")
        md.append(f"- Machine: {mach['cpu']}, {mach['memory']} RAM; {mach['os']}")
        md.append(f"- Other work on the machine: load average {load_start:.2f} at the start; "
                  f"other processes used {others:.2f} of {os.cpu_count()} cores on average during the run "
                  "(all CPU time in /proc/stat less the benchmark's own)")
        md.append(f"- CPU check: {cpu_check:.0f} ms for a fixed Python loop (best of 3) before measuring; "
                  "compare it between runs: a virtual machine's host can slow every figure down "
                  "without any sign inside the guest")
        md.append(f"- Build: RelWithDebInfo ({mach['compiler']}); gmr at {mach['commit']}")
        md.append(f"- Tools: {mach['tools']}")
        md.append(f"- Command: `{args.command}`")
        md.append("")
        md.append("## Results")
        md.append("")
        md.append(main_md)
        if http_md:
            md.append("")
            md.append(f"### `/gmr` under wrk, N={args.http_workers}")
            md.append("")
            md.append(http_md)
        md.append("")
        md.append("### Targets")
        md.append("")
        for name, value, ok in targets:
            md.append(f"- {verdict(ok)}: {name} ({value})")
        if where:
            md.append("")
            md.append("### Where the time of collect + JSON goes")
            md.append("")
            md.extend(f"- {w}" for w in where)
        if warnings:
            md.append("")
            md.append("### Warnings")
            md.append("")
            md.extend(f"- {w}" for w in warnings)
        md.append("")
        md.append(METHOD.replace("-cC -dSs", f"-c{args.connections} -d{args.http_seconds}s")
                  .replace("N=HTTP", f"N={args.http_workers}"))
        with open(args.out, "w") as fp:
            fp.write("\n".join(md) + "\n")
        log(f"wrote {args.out}")
    return 0  # missed targets are results, not failures: the table says which


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        kill_children()
        sys.exit(2)
