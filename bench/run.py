#!/usr/bin/env python3
"""ward's allocator benchmark runner (make bench / make bench-quick).

Runs every workload under every allocator in one run, interleaved (each
round runs each workload once under each allocator, in an order that
rotates) and repeated; reports the median wall time and peak RSS of each
(workload, allocator) as ratios against glibc, their geometric means per
allocator, the 1 -> 2 thread throughput scaling of larson and xmalloc, and
instructions per malloc/free pair counted by callgrind.  Writes
OUT/NAME.md (the report), OUT/NAME-time.svg and OUT/NAME-rss.svg (charts,
if gnuplot is installed) and OUT/NAME.tsv (every run).

    bench/run.py --mode quick|full [--build build] [--out bench/results]
                 [--repeat N] [--name NAME]

Environment: ALLOCATORS="glibc ward ..." and WORKLOADS="larson churn ..."
keep only those; BENCH_THREADS (default 2) is the thread count of the
multi-threaded workloads; BENCH_TIMEOUT (seconds) kills a run.

A report, not a test: no thresholds; a failed run shows in its cell
(FAIL(rc), TIMEOUT, BAD-OUTPUT) and in the Problems section, and the
runner still exits 0.  Workloads verify their own data and print a
checksum that must equal glibc's.
"""
import argparse
import datetime
import glob
import hashlib
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"

MODES = {
    # micro: scale of the C workloads; py: alloc_heavy.py scale; sqlite rows;
    # gcc: functions in the generated file; redis: requests; repeat; timeout
    "quick": dict(micro=0.1, py=0.08, sqlite=20000, gcc=15, redis=8000,
                  repeat=3, timeout=60),
    # make check's smoke test of the harness (tests/real/bench.sh)
    "smoke": dict(micro=0.01, py=0.01, sqlite=300, gcc=2, redis=300,
                  repeat=1, timeout=60),
    "full": dict(micro=1.0, py=0.5, sqlite=100000, gcc=60, redis=20000,
                 repeat=5, timeout=300),
}

MICRO = [
    # name, binary, threads ("T" = BENCH_THREADS), what it models
    ("larson", "larson", "T", "server: objects freed by other threads"),
    ("larson-1t", "larson", 1, "larson on one thread"),
    ("xmalloc", "xmalloc", "T", "producer/consumer through a shared queue"),
    ("xmalloc-1t", "xmalloc", 1, "xmalloc on one thread"),
    ("cache-scratch", "cache_scratch", "T", "passive false sharing"),
    ("cache-thrash", "cache_thrash", "T", "active false sharing"),
    ("churn", "churn", "T", "random sizes, all tiers"),
    ("realloc", "realloc_grow", "T", "realloc growth"),
    ("thread-churn", "thread_churn", "T", "many short-lived threads"),
    ("large", "large_alloc", "T", "512 KiB - 16 MiB blocks"),
    # the start-up every exec pays (extra arguments: the command to run)
    ("startup", "startup", 1, "2,000 runs of /bin/true"),
    ("python-start", "startup", 1, "100 runs of python3 -c pass", "/usr/bin/python3", "-c", "pass"),
    # what a forking server or a shell pays per fork
    ("fork", "fork_server", 1, "500 children of a 20,000-block heap"),
]
REAL = ["python", "python-malloc", "sqlite", "gcc", "g++", "git", "perl", "redis"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001 - a missing tool just leaves a blank
        return ""


def pkg_version(pkg):
    v = sh("dpkg-query -W -f='${Version}' %s 2>/dev/null" % pkg)
    return v or "?"


def pkg_of(path):
    out = sh("dpkg -S %s 2>/dev/null | head -n1" % path)
    return out.split(":")[0] if out else ""


class Alloc:
    def __init__(self, label, lib, env=None, pkg=""):
        self.label, self.lib, self.env, self.pkg = label, lib, env or {}, pkg


def find_allocators(build, notes):
    allocs = [Alloc("glibc", "", pkg="libc6")]

    def pkg_lib(label, pkgs, patterns):
        for pkg in pkgs:
            files = sh("dpkg -L %s 2>/dev/null" % pkg).split("\n")
            for pat in patterns:
                for f in files:
                    if f.endswith("/" + pat) and os.path.isfile(f):
                        allocs.append(Alloc(label, f, pkg=pkg))
                        return
        notes.append("%s skipped: none of the packages %s is installed "
                     "(make bench-deps installs it)" % (label, ", ".join(pkgs)))

    pkg_lib("jemalloc", ["libjemalloc2"], ["libjemalloc.so.2"])
    pkg_lib("mimalloc", ["libmimalloc2.0", "libmimalloc2"], ["libmimalloc.so.2"])
    pkg_lib("tcmalloc", ["libtcmalloc-minimal4", "libgoogle-perftools4"],
            ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4"])
    scudo = sorted(glob.glob("/usr/lib/llvm-*/lib/clang/*/lib/linux/"
                             "libclang_rt.scudo_standalone-x86_64.so"))
    if scudo:
        allocs.append(Alloc("scudo", scudo[-1], pkg=pkg_of(scudo[-1])))
    else:
        notes.append("scudo skipped: libclang_rt.scudo_standalone-x86_64.so "
                     "not found (package libclang-rt-14-dev)")
    ward = os.path.join(build, "libward.so")
    if os.path.isfile(ward):
        allocs.append(Alloc("ward", ward))
        # the light profile (make light): every optional check off by
        # default, the small tier compiled for that
        light = os.path.join(build, "libward-light.so")
        if os.path.isfile(light):
            allocs.append(Alloc("ward-light", light))
        else:
            notes.append("ward-light skipped: %s not built (make light)" % light)
        # what single options cost: only when ALLOCATORS names them
        want = os.environ.get("ALLOCATORS", "").split()
        if "ward-stacks" in want:
            allocs.append(Alloc("ward-stacks", ward, {"WARD_OPTIONS": "stacks=1"}))
        if "ward-nosample" in want:
            allocs.append(Alloc("ward-nosample", ward, {"WARD_OPTIONS": "sample=0"}))
    else:
        notes.append("ward skipped: %s not built (make)" % ward)
    # other builds of ward, to compare a change in one run:
    # WARD_COMPARE="before=/path/libward.so after=/other/libward.so"
    for item in os.environ.get("WARD_COMPARE", "").split():
        label, _, path = item.partition("=")
        if label and os.path.isfile(path):
            allocs.append(Alloc(label, path))
        else:
            notes.append("WARD_COMPARE: %s skipped (label=path of a built libward.so)" % item)
    return allocs


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Runner:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.bdir = os.path.join(self.build, "bench")
        self.logs = os.path.join(self.bdir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        for f in glob.glob(os.path.join(self.logs, "*")):
            os.unlink(f)
        self.mode = MODES[args.mode]
        self.timeout = float(os.environ.get("BENCH_TIMEOUT", self.mode["timeout"]))
        self.threads = int(os.environ.get("BENCH_THREADS", "2"))
        self.notes = []

    # ---------------------------------------------------------- workloads
    def workloads(self):
        m = self.mode
        wl = []
        for name, binary, threads, what, *extra in MICRO:
            t = self.threads if threads == "T" else threads
            exe = os.path.join(self.bdir, binary)
            wl.append(dict(name=name, what=what, threads=t,
                           cmd=[exe, str(t), str(m["micro"])] + list(extra)))
        # Debian's python3 first (another one may come first on PATH)
        py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else shutil.which("python3")
        if py:
            script = os.path.join(ROOT, "bench", "alloc_heavy.py")
            wl.append(dict(name="python", what="python3 alloc_heavy.py (pymalloc)",
                           cmd=[py, script, str(m["py"])], env={"PYTHONMALLOC": "pymalloc"}))
            wl.append(dict(name="python-malloc", what="the same, PYTHONMALLOC=malloc",
                           cmd=[py, script, str(m["py"])], env={"PYTHONMALLOC": "malloc"}))
        else:
            self.notes.append("python, python-malloc skipped: python3 not installed")
        sq = shutil.which("sqlite3")
        if sq:
            sql = os.path.join(self.bdir, "sqlite-%d.sql" % m["sqlite"])
            with open(os.path.join(ROOT, "bench", "sqlite.sql")) as f:
                text = f.read().replace("200000", str(m["sqlite"]))
            with open(sql, "w") as f:
                f.write(text)
            wl.append(dict(name="sqlite", what="sqlite3 :memory: (%d rows)" % m["sqlite"],
                           cmd=[sq, ":memory:"], stdin=sql))
        else:
            self.notes.append("sqlite skipped: sqlite3 not installed")
        gcc = shutil.which("gcc")
        if gcc:
            src = os.path.join(self.bdir, "big-%d.c" % m["gcc"])
            with open(src, "w") as f:
                subprocess.run([os.path.join(self.bdir, "gen_big_c"), str(m["gcc"])],
                               stdout=f, check=True)
            obj = os.path.join(self.bdir, "big.o")
            wl.append(dict(name="gcc", what="gcc -O2 -c on a generated file (%d functions)"
                           % m["gcc"], cmd=[gcc, "-O2", "-c", src, "-o", obj], product=obj))
        else:
            self.notes.append("gcc skipped: gcc not installed")
        # the workloads of tests/real/gxx.sh, git.sh and perl.sh (bench/work/)
        work = os.path.join(ROOT, "bench", "work")
        gxx = shutil.which("g++")
        if gxx:
            obj = os.path.join(self.bdir, "prog.o")
            wl.append(dict(name="g++", what="g++ -std=c++17 -O2 -c on a template-heavy C++ program",
                           cmd=[gxx, "-std=c++17", "-O2", "-pthread", "-c",
                                os.path.join(work, "prog.cc"), "-o", obj], product=obj))
        else:
            self.notes.append("g++ skipped: g++ not installed")
        git, bash = shutil.which("git"), shutil.which("bash")
        if git and bash:
            # a fresh empty directory each run (the script makes a repository)
            wl.append(dict(name="git", what="git: 1,500 files committed, branched, merged, "
                           "logged, diffed, blamed, grepped, gc'd and fsck'd",
                           cmd=[bash, "-c", 'd=$(mktemp -d "$1/git.XXXXXX") && cd "$d" && '
                                'bash "$2"; rc=$?; cd / && rm -rf "$d"; exit $rc',
                                "git", self.bdir, os.path.join(work, "git.sh")]))
        else:
            self.notes.append("git skipped: git not installed")
        perl = shutil.which("perl")
        if perl:
            wl.append(dict(name="perl", what="perl: hashes, regular expressions, sorts, strings",
                           cmd=[perl, os.path.join(work, "work.pl")],
                           env={"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"}))
        else:
            self.notes.append("perl skipped: perl not installed")
        srv, cli, bm = (shutil.which(x) for x in ("redis-server", "redis-cli", "redis-benchmark"))
        if srv and cli and bm:
            wl.append(dict(name="redis", what="redis-server under the allocator, "
                           "redis-benchmark (%d requests) on 127.0.0.1" % m["redis"],
                           redis=(srv, cli, bm)))
        else:
            self.notes.append("redis skipped: redis-server / redis-tools not installed "
                              "(make bench-deps)")
        want = os.environ.get("WORKLOADS", "").split()
        if want:
            wl = [w for w in wl if w["name"] in want]
        return wl

    # ---------------------------------------------------------- one run
    def env_for(self, alloc, extra=None, shim=False):
        env = dict(os.environ)
        for k in ("LD_PRELOAD", "WARD_OPTIONS", "MALLOC_CONF", "MIMALLOC_OPTIONS",
                  "SCUDO_OPTIONS"):
            env.pop(k, None)
        env.update(extra or {})
        if alloc.lib:
            env["LD_PRELOAD"] = alloc.lib
        elif shim:
            env["LD_PRELOAD"] = os.path.join(self.bdir, "glibc_shim.so")
        env.update(alloc.env)
        return env

    def spawn(self, cmd, env, stdin, out, err):
        return subprocess.Popen(cmd, env=env, stdin=stdin, stdout=out, stderr=err,
                                start_new_session=True)

    def timed(self, cmd, tfile):
        """cmd under bench/benchtime.c, which writes "seconds peak-RSS-KiB"
        to tfile (see there why the runner does not fork it directly)"""
        return [os.path.join(self.bdir, "benchtime"), "-o", tfile] + cmd

    @staticmethod
    def read_time(tfile):
        """(wall seconds, peak RSS KiB, CPU seconds) from benchtime's file"""
        try:
            with open(tfile) as f:
                t, m, c = f.read().split("\n")[-2].split()
            return float(t), int(m), float(c)
        except (OSError, ValueError, IndexError):
            return None, 0, None

    def wait(self, proc, deadline):
        """wait for the process; kill its group at the deadline"""
        while proc.poll() is None:
            if time.monotonic() > deadline:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                return True
            time.sleep(0.002)
        return False

    def run(self, w, alloc, rep):
        base = os.path.join(self.logs, "%s.%s.%d" % (w["name"], alloc.label, rep))
        if "redis" in w:
            return self.run_redis(w, alloc, base)
        env = self.env_for(alloc, w.get("env"))
        if w.get("product") and os.path.exists(w["product"]):
            os.unlink(w["product"])
        with open(base + ".cmd", "w") as f:
            f.write(" ".join("%s=%s" % kv for kv in sorted(alloc.env.items())) +
                    (" LD_PRELOAD=" + alloc.lib if alloc.lib else "") + " " +
                    " ".join(w["cmd"]) + (" < " + w["stdin"] if w.get("stdin") else "") + "\n")
        stdin = open(w["stdin"]) if w.get("stdin") else subprocess.DEVNULL
        with open(base + ".out", "w") as out, open(base + ".err", "w") as err:
            t0 = time.monotonic()
            p = self.spawn(self.timed(w["cmd"], base + ".time"), env, stdin, out, err)
            timed_out = self.wait(p, t0 + self.timeout)
        if stdin is not subprocess.DEVNULL:
            stdin.close()
        rc = "TIMEOUT" if timed_out else p.returncode
        t, rss, cpu = self.read_time(base + ".time")
        if t is None:
            t = time.monotonic() - t0
            rc = rc or "NO-TIME"
        with open(base + ".out", "rb") as f:
            h = hashlib.sha256(f.read())
        if rc == 0 and w.get("product"):
            with open(w["product"], "rb") as f:
                h.update(f.read())
        return dict(time=t, rss=rss, cpu=cpu, rc=rc, out=h.hexdigest()[:16], base=base)

    def run_redis(self, w, alloc, base):
        srv, cli, bm = w["redis"]
        n = self.mode["redis"]
        port = free_port()
        tmp = os.path.join(self.bdir, "redis-tmp")
        os.makedirs(tmp, exist_ok=True)
        scmd = [srv, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", tmp, "--daemonize", "no"]
        bcmd = [bm, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-c", "20", "-P", "8",
                "-r", "100000", "-d", "200", "-q", "-t",
                "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset"]
        with open(base + ".cmd", "w") as f:
            f.write("%s LD_PRELOAD=%s %s\n%s\n" % (
                " ".join("%s=%s" % kv for kv in alloc.env.items()),
                alloc.lib or "glibc_shim.so", " ".join(scmd), " ".join(bcmd)))
        out = open(base + ".out", "w")
        err = open(base + ".err", "w")
        sp = self.spawn(self.timed(scmd, base + ".time"), self.env_for(alloc, shim=True),
                        subprocess.DEVNULL, err, err)
        clean = self.env_for(Alloc("client", ""))

        def cli_run(*a):
            r = subprocess.run([cli, "-h", "127.0.0.1", "-p", str(port)] + list(a),
                               env=clean, capture_output=True, text=True, timeout=60)
            return r.stdout.strip()
        ok = False
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and sp.poll() is None:
            try:
                if cli_run("ping") == "PONG":
                    ok = True
                    break
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.05)
        t = 0.0
        rc = 0
        if not ok:
            rc = "NOSTART"
        else:
            t0 = time.monotonic()
            try:
                r = subprocess.run(bcmd, env=clean, stdout=subprocess.DEVNULL, stderr=err,
                                   timeout=self.timeout)
                rc = r.returncode
            except subprocess.TimeoutExpired:
                rc = "TIMEOUT"
            t = time.monotonic() - t0
            # self-check: the server still answers, and builds and reads
            # back a list of 20,000 strings of 0..599 bytes correctly
            check = cli_run("eval", "redis.call('del','chk') "
                            "for i=1,20000 do redis.call('rpush','chk',string.rep('x',i%600)) end "
                            "local s=0 for i,v in ipairs(redis.call('lrange','chk',0,-1)) do "
                            "s=s+#v end return {redis.call('llen','chk'),s}", "0")
            out.write("check: %s\n" % check.replace("\n", " "))
            try:
                cli_run("shutdown", "nosave")
            except subprocess.TimeoutExpired:
                pass
        self.wait(sp, time.monotonic() + 20)
        if rc == 0 and sp.returncode != 0:
            rc = sp.returncode
        _, rss, cpu = self.read_time(base + ".time")
        out.close()
        err.close()
        with open(base + ".out", "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()[:16]
        return dict(time=t, rss=rss, cpu=cpu, rc=rc, out=h, base=base)

    # ---------------------------------------------------------- callgrind
    def callgrind(self, allocs):
        vg = shutil.which("valgrind")
        res = {}
        if not vg:
            self.notes.append("instructions per pair skipped: valgrind not installed")
            return res, 0
        n = 1000000
        exe = os.path.join(self.bdir, "pairs")

        def count(alloc, mode):
            outf = os.path.join(self.logs, "callgrind.%s.%s" % (alloc.label, mode))
            r = subprocess.run([vg, "--tool=callgrind", "--toggle-collect=run_loop",
                                "--callgrind-out-file=" + outf, exe, mode, str(n)],
                               env=self.env_for(alloc), capture_output=True, text=True,
                               timeout=600)
            with open(outf + ".log", "w") as f:
                f.write(r.stderr)
            if r.returncode != 0 or not os.path.exists(outf):
                last = [ln for ln in r.stderr.splitlines() if not ln.startswith("==")]
                why = last[0] if last else "exit %d" % r.returncode
                return None, re.sub(r";? thread \d+", "", why)[:160]
            with open(outf) as f:
                for ln in f:
                    if ln.startswith("summary:") or ln.startswith("totals:"):
                        v = int(ln.split()[1])
                        return (v, "") if v > 0 else (None, "nothing collected")
            return None, "no summary in the output"

        empty, why = count(Alloc("glibc", ""), "empty")
        if empty is None:
            self.notes.append("instructions per pair: the empty loop failed: " + why)
            return res, 0
        for a in allocs:
            row = {}
            for mode in ("pair", "ring"):
                v, why = count(a, mode)
                row[mode] = (v - empty) / n if v is not None else why
            res[a.label] = row
            log("   callgrind %-10s %s" % (a.label, row))
        return res, empty / n

    # ---------------------------------------------------------- main loop
    def main(self):
        allocs = find_allocators(self.build, self.notes)
        want = os.environ.get("ALLOCATORS", "").split()
        if want:
            allocs = [a for a in allocs if a.label == "glibc" or a.label in want]
        wls = self.workloads()
        repeat = self.args.repeat or self.mode["repeat"]
        started = datetime.datetime.now(datetime.timezone.utc)
        t_start = time.monotonic()
        log("== %s: %d workloads x %d allocators x %d rounds" % (
            self.args.mode, len(wls), len(allocs), repeat))
        R = {}
        tsv = ["round\tworkload\tallocator\tseconds\tpeak_rss_kib\tcpu_seconds\trc\toutput"]
        for rep in range(repeat):
            for wi, w in enumerate(wls):
                k = (rep + wi) % len(allocs)
                for a in allocs[k:] + allocs[:k]:
                    r = self.run(w, a, rep)
                    R.setdefault((w["name"], a.label), []).append(r)
                    tsv.append("%d\t%s\t%s\t%.3f\t%d\t%s\t%s\t%s" % (
                        rep, w["name"], a.label, r["time"], r["rss"],
                        "%.3f" % r["cpu"] if r["cpu"] is not None else "-", r["rc"], r["out"]))
                    log("   %d %-14s %-10s %7.2f s %8d KiB rc=%s" % (
                        rep, w["name"], a.label, r["time"], r["rss"], r["rc"]))
        cg, empty = ({}, 0) if self.args.no_callgrind else self.callgrind(allocs)
        elapsed = time.monotonic() - t_start
        self.report(allocs, wls, R, repeat, cg, empty, started, elapsed, tsv)

    # ---------------------------------------------------------- report
    def report(self, allocs, wls, R, repeat, cg, empty, started, elapsed, tsv):
        labels = [a.label for a in allocs]
        others = labels[1:]
        cells = {}
        problems = []
        for w in wls:
            ref = R.get((w["name"], "glibc"), [{}])[0]
            ref_out = ref.get("out") if ref.get("rc") == 0 else None
            for a in labels:
                runs = R.get((w["name"], a), [])
                state = "ok"
                for r in runs:
                    if r["rc"] != 0:
                        state = ("%s" % r["rc"]) if isinstance(r["rc"], str) else "FAIL(%s)" % r["rc"]
                    elif ref_out and r["out"] != ref_out and state == "ok":
                        state = "BAD-OUTPUT"
                    if state != "ok":
                        problems.append((w["name"], a, state, r["base"], ref.get("base")))
                        break
                t = statistics.median(r["time"] for r in runs) if runs else None
                m = statistics.median(r["rss"] for r in runs) if runs else None
                cs = [r["cpu"] for r in runs if r["cpu"] is not None]
                c = statistics.median(cs) if cs else None
                cells[(w["name"], a)] = (state, t, m, c)

        def ratio(wn, a, idx):
            g, c = cells[(wn, "glibc")], cells[(wn, a)]
            if g[0] != "ok" or c[0] != "ok" or not g[idx] or not c[idx]:
                return None
            return c[idx] / g[idx]

        def geo(vals):
            vals = [v for v in vals if v]
            return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None

        geot = {a: geo(ratio(w["name"], a, 1) for w in wls) for a in others}
        geom = {a: geo(ratio(w["name"], a, 2) for w in wls) for a in others}
        geoc = {a: geo(ratio(w["name"], a, 3) for w in wls) for a in others}
        nok = {a: sum(1 for w in wls if ratio(w["name"], a, 1)) for a in others}

        def fmt(v):
            return "%.2f" % v if v is not None else "-"

        def cell(wn, a, idx):
            st = cells[(wn, a)][0]
            if st != "ok":
                return "**%s**" % st
            return fmt(ratio(wn, a, idx))

        name = self.args.name or self.args.mode
        charts = self.charts(name, wls, others, ratio, (geot, geom))
        L = []
        L.append("# ward benchmark results: `make bench%s`" % (
            "-quick" if self.args.mode == "quick" else ""))
        L.append("")
        cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -n1") or platform.processor()
        L.append("- Date: %s (the run took %.0f s)" % (started.strftime("%Y-%m-%d %H:%M UTC"), elapsed))
        L.append("- Machine: %s, %s CPUs (%s), %s MiB RAM, kernel %s" % (
            cpu, os.cpu_count(), sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'") and
            "virtual machine, hypervisor " + sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'")
            or "bare metal", sh("awk '/MemTotal/{print int($2/1024)}' /proc/meminfo"),
            platform.release()))
        la = sh("cat /proc/loadavg")
        L.append("- Load average when the report was written: %s" % la)
        if self.args.note:
            L.append("- **Note: %s**" % self.args.note)
        vers = []
        for a in allocs:
            if a.label == "glibc":
                vers.append("glibc %s" % pkg_version("libc6"))
            elif a.label.startswith("ward"):
                continue
            else:
                vers.append("%s %s (%s)" % (a.label, pkg_version(a.pkg) if a.pkg else "?", a.pkg or a.lib))
        # the last commit that changed the library (stable when commits that
        # only touch bench/ are rebased)
        rev = sh("git -C %s log -1 --format=%%h -- src include" % ROOT)
        dirty = sh("git -C %s status --porcelain -- src include" % ROOT)
        vers.append("ward src/ at %s%s" % (rev, " + uncommitted changes" if dirty else ""))
        vers.append("gcc %s" % pkg_version("gcc-12") if pkg_version("gcc-12") != "?" else
                    "gcc " + sh("gcc -dumpfullversion"))
        for p in ("g++-12", "git", "perl", "python3", "sqlite3", "redis-server", "valgrind"):
            if pkg_version(p) != "?":
                vers.append("%s %s" % (p, pkg_version(p)))
        L.append("- Versions: " + "; ".join(vers))
        L.append("- Allocators: " + "; ".join(
            "%s = %s%s" % (a.label, a.lib or "no LD_PRELOAD",
                           "".join(" with %s=%s" % kv for kv in a.env.items())) for a in allocs))
        L.append("- Mode `%s`: %d rounds, every workload under every allocator each round "
                 "(rotating order); medians; multi-threaded workloads on %d threads; "
                 "micro scale %s; timeout %.0f s" % (
                     self.args.mode, repeat, self.threads, self.mode["micro"], self.timeout))
        for n in self.notes:
            L.append("- Note: " + n)
        L.append("")
        L.append("## Geometric means against glibc (lower is better)")
        L.append("")
        L.append("Over the %d workloads below; a workload that failed under an allocator "
                 "is left out of its mean (see Problems)." % len(wls))
        L.append("")
        L.append("| allocator | time | peak RSS | CPU time | workloads |")
        L.append("| --- | --- | --- | --- | --- |")
        for a in others:
            L.append("| %s | %s | %s | %s | %d of %d |" % (
                a, fmt(geot[a]), fmt(geom[a]), fmt(geoc[a]), nok[a], len(wls)))
        L.append("")
        L.append("Time is wall-clock time; CPU time (user + system, of the program and "
                 "its children; for redis, of the server) moves less with the load of a "
                 "shared machine, but does not count time a thread sleeps (on a lock, "
                 "or for the other thread).")
        L.append("")
        for title, idx, unit in (("Time", 1, "s"), ("Peak RSS", 2, "MiB"), ("CPU time", 3, "s")):
            L.append("## %s: ratio to glibc (median of %d)" % (title, repeat))
            L.append("")
            L.append("| workload | glibc (%s) | %s |" % (unit, " | ".join(others)))
            L.append("|" + " --- |" * (len(others) + 2))
            for w in wls:
                g = cells[(w["name"], "glibc")]
                gv = ("%.1f" % (g[2] / 1024) if idx == 2 else "%.2f" % (g[idx] or 0)) \
                    if g[0] == "ok" else "**%s**" % g[0]
                L.append("| %s | %s | %s |" % (w["name"], gv, " | ".join(cell(w["name"], a, idx) for a in others)))
            L.append("")
        # scaling
        L.append("## Scaling: throughput on %d threads / on 1 thread" % self.threads)
        L.append("")
        L.append("Work is per thread, so throughput(T) = T x work / time and the figure is "
                 "%d x t(1 thread) / t(%d threads); %d means perfect scaling. "
                 "The goal for ward is at least 1.8 on 2 threads." % (
                     self.threads, self.threads, self.threads))
        L.append("")
        L.append("| workload | %s |" % " | ".join(labels))
        L.append("|" + " --- |" * (len(labels) + 1))
        for base in ("larson", "xmalloc"):
            row = []
            for a in labels:
                c1, cT = cells.get((base + "-1t", a)), cells.get((base, a))
                if c1 and cT and c1[0] == "ok" and cT[0] == "ok":
                    row.append("%.2f" % (self.threads * c1[1] / cT[1]))
                else:
                    row.append("-")
            L.append("| %s | %s |" % (base, " | ".join(row)))
        L.append("")
        # callgrind
        L.append("## Instructions per malloc/free pair (callgrind)")
        L.append("")
        if cg:
            L.append("`bench/pairs.c`: 10^6 steps of malloc(size from a fixed table of 256 "
                     "sizes, 8..1024 bytes) under `valgrind --tool=callgrind "
                     "--toggle-collect=run_loop`, minus the same loop without the calls "
                     "(%.1f instructions per step). `pair`: free at once (the "
                     "fastest path); `ring`: free the block allocated 256 steps earlier. "
                     "Callgrind does not replace malloc (only memcheck-like tools do), so "
                     "glibc's and the preloaded allocators' own code is counted." % empty)
            L.append("")
            L.append("| allocator | pair | ring |")
            L.append("| --- | --- | --- |")
            for a in labels:
                row = cg.get(a, {})
                L.append("| %s | %s | %s |" % (a, *[
                    ("%.1f" % row[m]) if isinstance(row.get(m), float) else
                    "does not run: `%s`" % row.get(m, "?") for m in ("pair", "ring")]))
            if any(not isinstance(v, float) for row in cg.values() for v in row.values()):
                L.append("")
                L.append("Valgrind 3.19 refuses a mapping of 64 GiB or more (mmap fails with "
                         "EINVAL): an allocator that reserves that much address space at "
                         "start-up, and falls back to less only on ENOMEM, cannot run under it.")
        else:
            L.append("Not measured (see the notes above).")
        L.append("")
        L.append("## Raw medians (seconds / peak RSS MiB)")
        L.append("")
        L.append("| workload | %s |" % " | ".join(labels))
        L.append("|" + " --- |" * (len(labels) + 1))
        for w in wls:
            L.append("| %s | %s |" % (w["name"], " | ".join(
                ("%.2f / %.1f" % (cells[(w["name"], a)][1], cells[(w["name"], a)][2] / 1024))
                if cells[(w["name"], a)][1] is not None else "-" for a in labels)))
        L.append("")
        L.append("## Workloads")
        L.append("")
        for w in wls:
            L.append("- %s: %s%s" % (w["name"], w["what"], "" if "threads" not in w else
                                     " (%d thread%s)" % (w["threads"], "s" * (w["threads"] > 1))))
        if problems:
            L.append("")
            L.append("## Problems")
            for wn, a, state, base, gbase in problems:
                L.append("")
                L.append("- %s under %s: %s" % (wn, a, state))
                L.append("")
                L.append("  ```")
                for suffix in (".cmd", ".err"):
                    try:
                        with open(base + suffix, errors="replace") as f:
                            lines = f.read().splitlines()[-10:]
                    except OSError:
                        lines = []
                    L.extend("  " + ln[:300] for ln in lines)
                if state == "BAD-OUTPUT":
                    for lbl, b in (("its output", base), ("glibc's output", gbase)):
                        try:
                            with open(b + ".out", errors="replace") as f:
                                L.append("  %s: %s" % (lbl, f.read(300).replace("\n", " | ")))
                        except OSError:
                            pass
                L.append("  ```")
        if charts:
            L.insert(L.index("## Geometric means against glibc (lower is better)"),
                     " ".join("![%s](%s)" % (c, c) for c in charts) + "\n")
        out = os.path.abspath(self.args.out)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name + ".md"), "w") as f:
            f.write("\n".join(L) + "\n")
        with open(os.path.join(out, name + ".tsv"), "w") as f:
            f.write("\n".join(tsv) + "\n")
        print("\n".join(L))
        log("\n(written to %s/%s.md; per-run logs in %s)" % (out, name, self.logs))

    def charts(self, name, wls, others, ratio, geos):
        gp = shutil.which("gnuplot")
        if not gp:
            self.notes.append("charts skipped: gnuplot not installed (make bench-deps)")
            return []
        out = os.path.abspath(self.args.out)
        os.makedirs(out, exist_ok=True)
        made = []
        for kind, idx, title in (("time", 1, "time"), ("rss", 2, "peak RSS")):
            dat = os.path.join(self.bdir, "%s-%s.dat" % (name, kind))
            rows = [(w["name"], [ratio(w["name"], a, idx) for a in others]) for w in wls]
            rows.append(("geomean", [geos[idx - 1][a] for a in others]))
            vals = [v for _, r in rows for v in r if v]
            lo = 2.0 ** min(-1, math.floor(math.log2(min(vals)))) if vals else 0.125
            hi = 2.0 ** max(1, math.ceil(math.log2(max(vals)))) if vals else 32
            with open(dat, "w") as f:
                f.write("workload " + " ".join(others) + "\n")
                for wn, r in rows:
                    f.write(wn + " " + " ".join("%.4f" % v if v else "NaN" for v in r) + "\n")
            tics = []
            t = lo
            while t <= hi * 1.001:
                tics.append("%g" % t)
                t *= 2
            svg = "%s-%s.svg" % (name, kind)
            script = "\n".join([
                "set terminal svg size 1200,520 font 'sans,11' background rgb 'white'",
                "set output '%s'" % os.path.join(out, svg),
                "set title '%s: ratio to glibc, median of each workload, and the geometric "
                "mean (lower is better; log scale; 1 = glibc)'" % title,
                "set style data histograms",
                "set style histogram clustered gap 1",
                "set style fill solid 0.85 border -1",
                "set boxwidth 0.9",
                "set logscale y 2",
                "set yrange [%g:%g]" % (lo, hi),
                "set ytics (%s)" % ", ".join(tics),
                "set grid ytics",
                "set xtics rotate by -35 scale 0",
                "set key outside right top",
                "set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb 'black'",
                "plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)" % (len(others) + 1, dat),
            ])
            r = subprocess.run([gp], input=script, text=True, capture_output=True)
            if r.returncode == 0:
                made.append(svg)
            else:
                self.notes.append("chart %s failed: %s" % (svg, r.stderr.strip()[:200]))
        return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=sorted(MODES), default="quick")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--name", help="report file name (default: the mode)")
    ap.add_argument("--repeat", type=int, help="rounds (quick 3, full 5)")
    ap.add_argument("--note", default=os.environ.get("BENCH_NOTE", ""),
                    help="a line for the report, e.g. that the machine was shared")
    ap.add_argument("--no-callgrind", action="store_true")
    Runner(ap.parse_args()).main()


if __name__ == "__main__":
    main()
