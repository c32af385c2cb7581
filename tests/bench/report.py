#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest's raw bench records into the table, JSON and chart data.

usage: report.py DIR   (DIR/raw/results.txt from tests/bench/guest.sh)
writes DIR/table.txt, DIR/results.json, DIR/plot/*.dat (for plot.gp)
See Documentation/bench.rst for the meaning of every figure.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

DIR = sys.argv[1]
RAW = os.path.join(DIR, "raw")

vals = defaultdict(list)        # (scen, system, metric) -> [(run, value)]
nas = defaultdict(list)         # (scen, system) -> [reason]
info = {}
host = {}
done = False


def add(scen, system, metric, run, value):
    vals[(scen, system, metric)].append((run, value))


def fio_json(tag):
    path = os.path.join(RAW, "fio", tag + ".json")
    with open(path) as f:
        text = f.read()
    # fio may print notes before the JSON object
    j = json.loads(text[text.index("{"):])
    w = j["jobs"][0]["write"]
    pct = w["clat_ns"].get("percentile", {})
    return {
        "iops": w["iops"],
        "ios": w["total_ios"],
        "p99_ms": pct.get("99.000000", 0) / 1e6,
        "clat_max_ms": w["clat_ns"]["max"] / 1e6,
        "lat_max_ms": w["lat_ns"]["max"] / 1e6,
    }


def window_max(tag, t0, t1):
    """Longest latency (ms) of the I/Os that completed in [t0, t1 + 2 s]
    (fio lat log, unix epoch ms, latency in ns), and the I/Os so counted."""
    path = os.path.join(RAW, "fio", tag + "_lat.1.log")
    worst, n = 0.0, 0
    with open(path) as f:
        for line in f:
            p = line.split(",")
            t, lat = int(p[0]), int(p[1])
            if t0 <= t <= t1 + 2000:
                worst = max(worst, lat / 1e6)
                n += 1
    return worst, n


with open(os.path.join(RAW, "host.txt")) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition(" ")
        host[k] = v
# the scenarios asked for (--scenarios); the table leaves the others out
ALL_SCEN = {1, 2, 3, 4, 5, 6, 7, 8}
ran = set(ALL_SCEN)
if os.path.exists(os.path.join(RAW, "config")):
    with open(os.path.join(RAW, "config")) as f:
        for line in f:
            if line.startswith("SCENARIOS="):
                ran = {int(x) for x in line.split("=", 1)[1].strip().strip('"').split()}
with open(os.path.join(RAW, "results.txt")) as f:
    for line in f:
        p = line.split()
        if not p:
            continue
        kind = p[0]
        try:
            if kind == "DONE":
                done = True
            elif kind == "I":
                info[p[1]] = " ".join(p[2:])
            elif kind == "R":
                scen, system, metric, run, value = p[1], p[2], p[3], int(p[4]), " ".join(p[5:])
                try:
                    value = float(value)
                except ValueError:
                    pass
                add(scen, system, metric, run, value)
            elif kind == "NA":
                nas[(p[1], p[2])].append(" ".join(p[4:]))
            elif kind == "F":
                scen, system, run, tag = p[1], p[2], int(p[3]), p[4]
                r = fio_json(tag)
                for k, v in r.items():
                    add(scen, system, k, run, v)
            elif kind == "W":
                scen, system, run, tag, t0, t1 = p[1], p[2], int(p[3]), p[4], int(p[5]), int(p[6])
                worst, n = window_max(tag, t0, t1)
                add(scen, system, "stall_ms", run, worst)
                add(scen, system, "window_ios", run, n)
        except (OSError, ValueError, KeyError, IndexError) as e:
            nas[(p[1] if len(p) > 1 else "?", p[2] if len(p) > 2 else "?")].append(
                f"unreadable record {line.strip()!r}: {e}")


def nums(scen, system, metric):
    return [v for _, v in vals.get((scen, system, metric), []) if isinstance(v, float)]


def stat(scen, system, metric):
    v = nums(scen, system, metric)
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v), "values": v}


def paired(scen, a, b):
    """Median over the runs of a's value / b's value in the same run (the
    systems of one run are measured back to back, so slow drifts of the
    host's load cancel); None without a common run."""
    va = {run: v for run, v in vals.get((scen, *a), []) if isinstance(v, float)}
    vb = {run: v for run, v in vals.get((scen, *b), []) if isinstance(v, float)}
    q = [va[run] / vb[run] for run in va if run in vb and vb[run]]
    return statistics.median(q) if q else None


def why(scen, system):
    r = nas.get((scen, system))
    return r[0] if r else "not measured"


rows = []        # dicts for JSON and the table


def row(scen, system, metric, unit, label, baseline=None, scale=1.0, fmt="{:.0f}",
        higher_better=True, note=None, ratio_to=None, baseline2=None):
    """One table row; ratio = median / baseline median (baseline = (system, metric)
    in the same scenario, or ratio_to = a number); ratio2 the same against
    baseline2 (scenario 1: the copy's physical limit)."""
    s = stat(scen, system, metric)
    r = {"scenario": int(scen), "system": system, "metric": metric, "unit": unit,
         "label": label}
    if s is None:
        r.update({"na": why(scen, system)})
        rows.append(r)
        return r
    s = {k: (v * scale if k in ("median", "min", "max") else v) for k, v in s.items()}
    s["values"] = [v * scale for v in s["values"]]
    r.update(s)
    base = None
    if ratio_to is not None:
        base = ratio_to
    elif baseline is not None:
        r["baseline"] = "/".join(baseline)
        pr = paired(scen, (system, metric), baseline)
        if pr is not None:
            r["ratio"] = pr
        else:
            b = stat(scen, *baseline)
            base = b["median"] * scale if b else None
    if base:
        r["ratio"] = r["median"] / base
    if baseline2 is not None:
        r["baseline2"] = "/".join(baseline2)
        pr = paired(scen, (system, metric), baseline2)
        if pr is not None:
            r["ratio2"] = pr
    r["fmt"] = fmt
    r["higher_better"] = higher_better
    if note:
        r["note"] = note
    lost = nas.get((scen, system))
    if lost:
        r["failed_runs"] = lost
    rows.append(r)
    return r


def load_rows(scen, system, label, base):
    """fio's IOPS and p99 of a write load, each against base's in the same run."""
    row(scen, system, "iops", "IOPS", label, baseline=(base, "iops"))
    row(scen, system, "p99_ms", "ms", label + ": p99", fmt="{:.1f}", higher_better=False,
        baseline=(base, "p99_ms"))


def backup_device_rows(sysname, lab, chunk, n, note, wa=True):
    """Backup-device bytes of a scenario-3 pass (aux_bytes) per chunk and
    (wa) per guest byte of its n 4 KiB writes."""
    for run, v in vals.get(("3", sysname, "aux_bytes"), []):
        add("3", sysname, "chunks_per_write", run, v / (n * chunk))
        if wa:
            add("3", sysname, "wa", run, v / (n * 4096))
    row("3", sysname, "chunks_per_write", "chunks", lab + ": backup-device chunks per write",
        fmt="{:.3f}", higher_better=False, note=note)
    if wa:
        row("3", sysname, "wa", "x", lab + ": backup bytes per guest byte",
            fmt="{:.2f}", higher_better=False, note=note)


vol_mb = float(info.get("vol_mb", 0) or 0)
S1 = ["dd", "fio-limit", "bj-mirror", "qemu-mirror", "qemu-mirror-wb", "bj-backup-full",
      "qemu-backup", "dm-raid1", "dm-clone", "dm-clone-t16", "dd-1M", "bj-mirror-1M"]
qemu = info.get("qemu", "")
qemu = "QEMU " + qemu.split()[0] if qemu and not qemu.startswith("n/a") else "QEMU"
S1_LABEL = {"dd": "dd 4M O_DIRECT",
            "fio-limit": "fio read + write 1M qd16 at once (the copy's limit)",
            "bj-mirror": "blockjob mirror (to ready)",
            "qemu-mirror": f"{qemu} blockdev-mirror (to BLOCK_JOB_READY)",
            "qemu-mirror-wb": f"{qemu} blockdev-mirror write-blocking (to READY)",
            "qemu-backup": f"{qemu} blockdev-backup sync full (to COMPLETED)",
            "bj-backup-full": "blockjob backup sync full (to concluded)",
            "dm-raid1": "dm-raid1 resync (core log, 2M regions)",
            "dm-clone": "dm-clone hydration (64K regions, defaults)",
            "dm-clone-t16": "dm-clone hydration (64K, threshold 16, batch 16)",
            "dd-1M": "(diagnostic) dd 1M O_DIRECT (the copier's I/O size)",
            "bj-mirror-1M": "(diagnostic) blockjob mirror, 1M regions (one region a copy)"}
for s in S1:
    row("1", s, "rate_mbs", "MB/s", S1_LABEL[s], baseline=("dd", "rate_mbs"),
        baseline2=("fio-limit", "rate_mbs"))
    row("1", s, "copy_s", "s", S1_LABEL[s] + ": time", fmt="{:.2f}", higher_better=False,
        baseline=("dd", "copy_s"), baseline2=("fio-limit", "copy_s"))

S2 = [("dm-linear", "dm-linear, no job"),
      ("bj-background", "blockjob mirror background, during the copy"),
      ("bj-write_blocking", "blockjob mirror write_blocking, during the copy"),
      ("dm-raid1", "dm-raid1, during the resync"),
      ("bj-background-insync", "blockjob mirror background, ready"),
      ("bj-write_blocking-insync", "blockjob mirror write_blocking, ready"),
      ("dm-raid1-insync", "dm-raid1, in sync")]
for s, label in S2:
    load_rows("2", s, label, "dm-linear")
    if s in ("bj-background", "bj-write_blocking", "dm-raid1"):
        idle = "bj-mirror" if s.startswith("bj") else "dm-raid1"
        b = stat("1", idle, "copy_s")
        row("2", s, "ready_s", "s", label + ": time to ready", fmt="{:.2f}",
            higher_better=False, ratio_to=b["median"] if b else None)

# scenario 2 through qemu-storage-daemon's NBD export (tests/bench/nbd-path.sh)
S2N = [("nbd-linear", "NBD export, no job"),
       ("bj-background-nbd", "via NBD, blockjob mirror background, during the copy"),
       ("qemu-mirror-nbd", f"via NBD, {qemu} blockdev-mirror, during the copy"),
       ("bj-write_blocking-nbd", "via NBD, blockjob mirror write_blocking, during the copy"),
       ("qemu-mirror-wb-nbd", f"via NBD, {qemu} blockdev-mirror write-blocking, during the copy")]
for s, label in S2N + [(s + "-insync", label.replace("during the copy", "ready")) for s, label in S2N[1:]]:
    load_rows("2", s, label, "nbd-linear")
    if s != "nbd-linear" and not s.endswith("-insync"):
        row("2", s, "ready_s", "s", label + ": time to ready", fmt="{:.2f}", higher_better=False)

nios = float(info.get("s3_writes", 0) or 0)
# the rewrite pass replays the first writes several times over
nios_re = float(info.get("s3_rewrites", 0) or 0) or nios
S3 = [("dm-linear", "dm-linear, no snapshot"), ("bj-backup-none", "blockjob backup sync none"),
      ("bj-backup-full", "blockjob backup sync full"),
      ("bj-backup-full-md", "blockjob backup sync full, metadata device"),
      ("dm-snap-P", "dm-snapshot persistent"), ("dm-snap-N", "dm-snapshot transient")]
for ck in ("4k", "64k"):
    for p in ("first", "rewrite"):
        for s, label in S3:
            sysname = f"{s}-{ck}-{p}"
            lab = f"{label}, {ck.upper()} chunks, {'first writes' if p == 'first' else 'rewrites'}"
            lab = lab.replace("no snapshot, ", "")
            load_rows("3", sysname, lab, f"dm-linear-{ck}-{p}")
            if s != "dm-linear" and nios:
                backup_device_rows(sysname, lab, int(ck[:-1]) * 1024, nios if p == "first" else nios_re,
                                   "includes the background copy" if s.startswith("bj-backup-full")
                                   else None)

# scenario 3 through the NBD export, 64 KiB chunks
S3N = [("nbd-linear", "NBD export, no backup"), ("bj-backup-none-nbd", "via NBD, blockjob backup sync none"),
       ("qemu-backup-none-nbd", f"via NBD, {qemu} blockdev-backup sync none"),
       ("bj-backup-full-nbd", "via NBD, blockjob backup sync full"),
       ("qemu-backup-full-nbd", f"via NBD, {qemu} blockdev-backup sync full")]
for p in ("first", "rewrite"):
    for s, label in S3N:
        sysname = f"{s}-64k-{p}"
        lab = f"{label}, 64K chunks, {'first writes' if p == 'first' else 'rewrites'}"
        load_rows("3", sysname, lab, f"nbd-linear-64k-{p}")
        if s != "nbd-linear" and nios:
            backup_device_rows(sysname, lab, 65536, nios if p == "first" else nios_re,
                               "includes the background copy" if "full" in s else None, wa=False)

raw_iops = float(info.get("s4_raw_iops", 0) or 0)
idle = stat("1", "bj-mirror", "copy_s")
for pct in ("25", "50", "90"):
    for mode in ("background", "write_blocking"):
        s = f"bj-{mode}-{pct}"
        lab = f"mirror {mode}, {pct}% load ({raw_iops * int(pct) / 100:.0f} IOPS)"
        r = row("4", s, "ready_s", "s", lab + ": time to ready", fmt="{:.2f}", higher_better=False,
                ratio_to=idle["median"] if idle else None)
        ok = len(nums("4", s, "ready_s"))
        total = ok + len(nums("4", s, "notready_pct"))
        r["ready_runs"] = f"{ok}/{total}"
        if idle and ok:
            for run, v in vals[("4", s, "ready_s")]:
                add("4", s, "after_idle_s", run, v - idle["median"])
            row("4", s, "after_idle_s", "s", lab + ": minus idle copy time", fmt="{:+.2f}",
                higher_better=False)
        if total > ok:
            row("4", s, "notready_pct", "%", lab + ": done at the limit",
                fmt="{:.1f}")

for s, label in (("dm-linear-reload", "dm-linear suspend/load/resume"),
                 ("bj-complete", "blockjob complete (pivot)")):
    row("5", s, "stall_ms", "ms", label + ": stall (max latency at switch)", fmt="{:.1f}",
        higher_better=False, baseline=("dm-linear-reload", "stall_ms"))
    row("5", s, "switch_ms", "ms", label + ": command wall time", fmt="{:.0f}",
        higher_better=False, baseline=("dm-linear-reload", "switch_ms"))
    row("5", s, "clat_max_ms", "ms", label + ": clat max, whole run", fmt="{:.1f}",
        higher_better=False, baseline=("dm-linear-reload", "clat_max_ms"))

tib = float(info.get("mem_tib", 0) or 0)
if tib > 1:
    # per TiB: the slope between the 1 TiB and the mem_tib volumes (fixed
    # costs cancel); fixed: what is left at 1 TiB
    for s in ("bj-mirror", "bj-backup", "dm-raid1", "dm-snap-N"):
        for m in ("slabvm", "used"):
            small = dict(vals.get(("6", s, f"{m}_kb@1"), []))
            big = dict(vals.get(("6", s, f"{m}_kb@{tib:g}"), []))
            for run in sorted(set(small) & set(big)):
                slope = (big[run] - small[run]) / (tib - 1)
                add("6", s, f"{m}_mib_per_tib", run, slope / 1024)
                add("6", s, f"{m}_fixed_kib", run, small[run] - slope)
    # the target's own account ("memory" message), same slope
    for s in ("bj-mirror", "bj-backup"):
        small = dict(vals.get(("6", s, "msg_state_b@1"), []))
        big = dict(vals.get(("6", s, f"msg_state_b@{tib:g}"), []))
        for run in sorted(set(small) & set(big)):
            add("6", s, "msg_state_mib_per_tib", run, (big[run] - small[run]) / (tib - 1) / 2**20)
        for run, v in vals.get(("6", s, "msg_copies_b@1"), []):
            add("6", s, "msg_copies_kib", run, v / 1024)
    exc = nums("6", "dm-snap-N-exc", "exceptions")
    if exc:
        for run, v in vals.get(("6", "dm-snap-N-exc", "slab_kb"), []):
            add("6", "dm-snap-N-exc", "bytes_per_exception", run, v * 1024 / exc[0])
    M6 = [("bj-mirror", "blockjob mirror (64K regions, start_paused)"),
          ("bj-backup", "blockjob backup sync full (64K chunks, start_paused)"),
          ("dm-raid1", "dm-raid1 core log (64K regions, nosync)"),
          ("dm-snap-N", "dm-snapshot transient (64K chunks), at creation")]
    for s, label in M6:
        row("6", s, "slabvm_mib_per_tib", "MiB/TiB", label + ": slab+vmalloc per TiB", fmt="{:.2f}",
            higher_better=False, baseline=("dm-raid1", "slabvm_mib_per_tib"))
        row("6", s, "used_mib_per_tib", "MiB/TiB", label + ": all kernel memory per TiB", fmt="{:.2f}",
            higher_better=False, baseline=("dm-raid1", "used_mib_per_tib"))
        row("6", s, "slabvm_fixed_kib", "KiB", label + ": fixed (slab+vmalloc)", fmt="{:.0f}",
            higher_better=False)
        if s.startswith("bj-"):
            row("6", s, "msg_state_mib_per_tib", "MiB/TiB", label + ": state per TiB, by its memory message",
                fmt="{:.2f}", higher_better=False)
            row("6", s, "msg_copies_kib", "KiB", label + ": copy buffers, by its memory message",
                fmt="{:.0f}", higher_better=False)
    row("6", "dm-snap-N-exc", "bytes_per_exception", "B",
        f"dm-snapshot transient: slab per exception ({exc[0]:.0f} exceptions)" if exc else
        "dm-snapshot transient: slab per exception", fmt="{:.0f}", higher_better=False)

S7 = [("bj-persistent", "blockjob, persistent 64K bitmap"), ("dm-era", "dm-era, 64K blocks"),
      ("bj-memory", "blockjob, in-memory 64K bitmap")]
S7_PASS = [("first-qd1", "first writes qd1"), ("first-qd16", "first writes qd16"),
           ("rewrite", "rewrites qd16")]
for p, plabel in S7_PASS:
    # first writes: baseline dm-era (both make a bit durable first); rewrites:
    # baseline the in-memory bitmap (both take the fast path)
    base = "dm-era" if p.startswith("first") else "bj-memory"
    for s, label in S7:
        sysname = f"{s}-{p}"
        lab = f"{label}, {plabel}"
        load_rows("7", sysname, lab, f"{base}-{p}")
        ios = dict(vals.get(("7", sysname, "ios"), []))
        for m, per, unit in (("md_writes", "md_writes_per_write", 1), ("md_flushes", "md_flushes_per_write", 1),
                             ("md_bytes", "md_blocks_per_write", 4096), ("md_held", "held_per_write", 1)):
            for run, v in vals.get(("7", sysname, m), []):
                if ios.get(run):
                    add("7", sysname, per, run, v / unit / ios[run])
        held = dict(vals.get(("7", sysname, "md_held"), []))
        commits = dict(vals.get(("7", sysname, "md_commits"), []))
        for run, v in vals.get(("7", sysname, "md_blocks"), []):
            if held.get(run):
                add("7", sysname, "blocks_per_held", run, v / held[run])
                add("7", sysname, "commits_per_held", run, commits[run] / held[run])
            if commits.get(run):
                add("7", sysname, "held_per_commit", run, held[run] / commits[run])
        row("7", sysname, "md_blocks_per_write", "blocks", lab + ": metadata 4K blocks written per guest write",
            fmt="{:.3f}", higher_better=False)
        row("7", sysname, "md_writes_per_write", "requests", lab + ": metadata disk write requests per guest write",
            fmt="{:.3f}", higher_better=False)
        # the block layer counts empty flush writes as writes: a flush row only if it saw any
        if any(nums("7", sysname, "md_flushes_per_write")):
            row("7", sysname, "md_flushes_per_write", "flushes", lab + ": metadata disk flushes per guest write",
                fmt="{:.3f}", higher_better=False)
        if s.startswith("bj-"):
            row("7", sysname, "held_per_write", "writes", lab + ": writes held per guest write",
                fmt="{:.3f}", higher_better=False)
        if s == "bj-persistent" and p.startswith("first"):
            row("7", sysname, "blocks_per_held", "blocks", lab + ": bitmap blocks written per write held",
                fmt="{:.3f}", higher_better=False)
            row("7", sysname, "commits_per_held", "commits", lab + ": commits per write held",
                fmt="{:.3f}", higher_better=False)
            row("7", sysname, "held_per_commit", "writes", lab + ": writes held per commit (batch)",
                fmt="{:.2f}")
if tib > 1 or nums("7", "bj-persistent-mem", "msg_bitmaps_b@1"):
    for s in ("bj-persistent", "bj-memory"):
        sm = f"{s}-mem"
        small = dict(vals.get(("7", sm, "msg_bitmaps_b@1"), []))
        big = dict(vals.get(("7", sm, f"msg_bitmaps_b@{tib:g}"), []))
        for run, v in small.items():
            add("7", sm, "msg_bitmaps_mib_1tib", run, v / 2**20)
        if tib > 1:
            for run in sorted(set(small) & set(big)):
                add("7", sm, "msg_bitmaps_mib_per_tib", run, (big[run] - small[run]) / (tib - 1) / 2**20)
            small = dict(vals.get(("7", sm, "slabvm_kb@1"), []))
            big = dict(vals.get(("7", sm, f"slabvm_kb@{tib:g}"), []))
            for run in sorted(set(small) & set(big)):
                add("7", sm, "slabvm_mib_per_tib", run, (big[run] - small[run]) / (tib - 1) / 1024)
    for s, label in (("bj-persistent", "blockjob, persistent 64K bitmap"),
                     ("bj-memory", "blockjob, in-memory 64K bitmap")):
        sm = f"{s}-mem"
        row("7", sm, "msg_bitmaps_mib_1tib", "MiB", label + ": bitmaps at 1 TiB, by its memory message",
            fmt="{:.3f}", higher_better=False, baseline=("bj-memory-mem", "msg_bitmaps_mib_1tib"))
        row("7", sm, "msg_bitmaps_mib_per_tib", "MiB/TiB", label + ": bitmaps per TiB, by its memory message",
            fmt="{:.3f}", higher_better=False, baseline=("bj-memory-mem", "msg_bitmaps_mib_per_tib"))
        row("7", sm, "slabvm_mib_per_tib", "MiB/TiB", label + ": slab+vmalloc per TiB (bitmap add)",
            fmt="{:.2f}", higher_better=False, baseline=("bj-memory-mem", "slabvm_mib_per_tib"))


# scenario 8: migration to another host over NBD (veth between namespaces)
srv = info.get("nbd_server", "an NBD server")
for s, label in (("dd-nbd", f"dd 4M O_DIRECT into the NBD device ({srv})"),
                 ("bj-mirror-nbd", "blockjob mirror into the NBD export (to ready)")):
    row("8", s, "rate_mbs", "MB/s", label, baseline=("dd-nbd", "rate_mbs"))
    row("8", s, "copy_s", "s", label + ": time", fmt="{:.2f}", higher_better=False,
        baseline=("dd-nbd", "copy_s"))
for s, label in (("bj-volume-load", "fio 4K randwrite qd16, volume with no job"),
                 ("bj-mirror-nbd-load", "fio 4K randwrite qd16, during a mirror into the NBD export")):
    load_rows("8", s, label, "bj-volume-load")

# ---- targets -------------------------------------------------------------
def med(scen, system, metric):
    s = stat(scen, system, metric)
    return s["median"] if s else None


targets = []


def target(name, ok, measured, detail=""):
    targets.append({"target": name, "met": ok, "measured": measured, "detail": detail})


def ratio_target(name, scen, a, b, want, what):
    """a, b: (system, metric); the ratio is paired by run (see paired())."""
    ma, mb = med(scen, *a), med(scen, *b)
    q = paired(scen, a, b)
    if q is None:
        target(name, None, "n/a", f"not measured ({what})")
    else:
        target(name, q >= want, f"{q:.3f}x",
               f"{what}, medians {ma:.0f} vs {mb:.0f}; ratio: median of per-run ratios; want >= {want}x")


ratio_target("mirror bulk copy >= 0.9x dd", "1", ("bj-mirror", "rate_mbs"), ("dd", "rate_mbs"), 0.9, "MB/s")
ratio_target("full backup bulk copy >= 0.9x dd", "1", ("bj-backup-full", "rate_mbs"), ("dd", "rate_mbs"),
             0.9, "MB/s")
ratio_target("mirror to ready >= 1.0x QEMU's blockdev-mirror", "1", ("bj-mirror", "rate_mbs"),
             ("qemu-mirror", "rate_mbs"), 1.0, "MB/s")
ratio_target("full backup >= 1.0x QEMU's blockdev-backup", "1", ("bj-backup-full", "rate_mbs"),
             ("qemu-backup", "rate_mbs"), 1.0, "MB/s")
ratio_target("mirror to ready >= 0.9x the fio limit", "1", ("bj-mirror", "rate_mbs"),
             ("fio-limit", "rate_mbs"), 0.9, "MB/s")
ratio_target("full backup >= 0.9x the fio limit", "1", ("bj-backup-full", "rate_mbs"),
             ("fio-limit", "rate_mbs"), 0.9, "MB/s")
ratio_target("write_blocking mirror IOPS (during the copy) >= dm-raid1 in sync", "2",
             ("bj-write_blocking", "iops"), ("dm-raid1-insync", "iops"), 1.0, "IOPS")
ratio_target("write_blocking mirror IOPS (ready) >= dm-raid1 in sync", "2",
             ("bj-write_blocking-insync", "iops"), ("dm-raid1-insync", "iops"), 1.0, "IOPS")
ratio_target("mirror to an NBD export >= 0.9x dd to it", "8", ("bj-mirror-nbd", "rate_mbs"),
             ("dd-nbd", "rate_mbs"), 0.9, "MB/s")
for bj, q, what in (("bj-background-nbd", "qemu-mirror-nbd", "writes during a mirror"),
                   ("bj-write_blocking-nbd", "qemu-mirror-wb-nbd", "writes during a write-blocking mirror")):
    ratio_target(f"{what}, through NBD, >= 1.0x QEMU's", "2", (bj, "iops"), (q, "iops"), 1.0,
                 "IOPS during the copy, fio through qemu-storage-daemon's NBD export")
for sync in ("none", "full"):
    ratio_target(f"writes during a backup sync {sync}, through NBD, >= 1.0x QEMU's", "3",
                 (f"bj-backup-{sync}-nbd-64k-first", "iops"), (f"qemu-backup-{sync}-nbd-64k-first", "iops"),
                 1.0, "IOPS, first writes to 64K chunks, through qemu-storage-daemon's NBD export")
for ck in ("4k", "64k"):
    for snap in ("dm-snap-P", "dm-snap-N"):
        ratio_target(f"backup CBW first writes IOPS >= {snap} ({ck.upper()} chunks)", "3",
                     (f"bj-backup-none-{ck}-first", "iops"), (f"{snap}-{ck}-first", "iops"),
                     1.0, "IOPS, sync none")
    ratio_target(f"backup rewrites IOPS >= 0.9x dm-linear ({ck.upper()} chunks)", "3",
                 (f"bj-backup-none-{ck}-rewrite", "iops"), (f"dm-linear-{ck}-rewrite", "iops"),
                 0.9, "IOPS, sync none")
    c = nums("3", f"bj-backup-none-{ck}-first", "chunks_per_write")
    r = nums("3", f"bj-backup-none-{ck}-rewrite", "aux_bytes")
    if c:
        target(f"write amplification = 1 chunk per first write ({ck.upper()} chunks)",
               all(abs(x - 1.0) < 1e-9 for x in c) and all(x == 0 for x in r),
               " ".join(f"{x:.3f}" for x in c),
               f"backup-device writes per first write, each run; rewrites wrote {sum(r):.0f} bytes")
    else:
        target(f"write amplification = 1 chunk per first write ({ck.upper()} chunks)", None, "n/a",
               why("3", f"bj-backup-none-{ck}-first"))
ok = len(nums("4", "bj-write_blocking-90", "ready_s"))
tot = ok + len(nums("4", "bj-write_blocking-90", "notready_pct"))
target("write_blocking mirror reaches ready at 90% write load", (ok == tot and tot > 0) if tot else None,
       f"{ok}/{tot} runs ready", f"time limit {info.get('conv_t', '')}")
s = stat("5", "bj-complete", "stall_ms")
target("pivot stall < 100 ms", (s["max"] < 100) if s else None,
       f"{s['median']:.1f} ms [{s['min']:.1f}-{s['max']:.1f}]" if s else "n/a",
       "longest guest I/O latency around blockjob complete" if s else why("5", "bj-complete"))
for sys, what in (("bj-mirror", "mirror"), ("bj-backup", "backup sync full")):
    s = stat("6", sys, "slabvm_mib_per_tib")
    target(f"{what} bitmap memory <= 2.5 MiB per TiB (64K)",
           (s["median"] <= 2.5) if s else None,
           f"{s['median']:.2f} MiB/TiB" if s else "n/a",
           f"slab+vmalloc growth per TiB of a start_paused {what} table (1 vs mem_tib TiB)")
for qd in ("qd1", "qd16"):
    ratio_target(f"persistent bitmap first writes IOPS >= dm-era ({qd})", "7",
                 (f"bj-persistent-first-{qd}", "iops"), (f"dm-era-first-{qd}", "iops"), 1.0,
                 "IOPS, every write to a clean 64K granule")
ratio_target("persistent bitmap rewrites IOPS >= 0.95x in-memory bitmap", "7",
             ("bj-persistent-rewrite", "iops"), ("bj-memory-rewrite", "iops"), 0.95, "IOPS, qd16")
for qd in ("qd1", "qd16"):
    b = nums("7", f"bj-persistent-first-{qd}", "blocks_per_held")
    c = nums("7", f"bj-persistent-first-{qd}", "commits_per_held")
    if b and c:
        target(f"metadata writes per first write <= 1 ({qd})", max(b) <= 1 and max(c) <= 1,
               f"blocks {statistics.median(b):.3f}, commits {statistics.median(c):.3f} per write held",
               f"medians; worst run blocks {max(b):.3f}, commits {max(c):.3f}")
    else:
        target(f"metadata writes per first write <= 1 ({qd})", None, "n/a",
               why("7", f"bj-persistent-first-{qd}"))
m1, m16 = med("7", "bj-persistent-first-qd1", "commits_per_held"), med("7", "bj-persistent-first-qd16", "commits_per_held")
b1, b16 = med("7", "bj-persistent-first-qd1", "blocks_per_held"), med("7", "bj-persistent-first-qd16", "blocks_per_held")
if None not in (m1, m16, b1, b16):
    bt = med("7", "bj-persistent-first-qd16", "held_per_commit")
    target("fewer metadata writes per first write at qd16 than at qd1", m16 < m1 and b16 < b1,
           f"commits {m16:.3f} vs {m1:.3f}, blocks {b16:.3f} vs {b1:.3f} per write held",
           f"medians; batch at qd16: {bt:.2f} writes held per commit")
else:
    target("fewer metadata writes per first write at qd16 than at qd1", None, "n/a",
           why("7", "bj-persistent-first-qd16"))
s = stat("7", "bj-persistent-mem", "msg_bitmaps_mib_1tib")
target("persistent bitmap memory <= 2.5 MiB per TiB (64K)", (s["max"] <= 2.5) if s else None,
       f"{s['median']:.3f} MiB" if s else "n/a",
       "bitmaps figure of the memory message, 1 TiB volume, one persistent 64K bitmap; worst run "
       f"{s['max']:.3f} MiB" if s else why("7", "bj-persistent-mem"))

# ---- output ----------------------------------------------------------------
SCEN_NAME = {1: "bulk copy, idle guest", 2: "guest writes during a mirror",
             3: "guest writes during a backup", 4: "convergence under load",
             5: "pivot cost", 6: "memory", 7: "persistent bitmap",
             8: "migration to another host over NBD"}


def fmt_row(r):
    if "na" in r:
        return "n/a", ""
    f = r.get("fmt", "{:.0f}")
    fig = f"{f.format(r['median'])}"
    if r["n"] > 1:
        fig += f" [{f.format(r['min'])}-{f.format(r['max'])}]"
    fig += f" {r['unit']}"
    if "ready_runs" in r:
        fig += f" (ready {r['ready_runs']})"
    if "failed_runs" in r:
        fig += f" ({len(r['failed_runs'])} runs n/a)"
    ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
    if "ratio2" in r:
        ratio = f"{ratio or '-':<6}{r['ratio2']:.2f}"
    return fig, ratio


lines = []
meta = dict(host)
meta.update(info)
meta["complete"] = done
lines.append(f"dm-blockjob bench, {host.get('date', '?')}, host {host.get('host', '?')} "
             f"({host.get('host_cpu', '?')}, {host.get('host_cpus', '?')} CPUs, load {host.get('host_load', '?')})")
lines.append(f"guest: kernel {info.get('kernel', '?')}, {info.get('cpus', '?')} vCPUs under TCG, "
             f"volume {info.get('vol_mb', '?')} MiB; {host.get('args', '')}; git {host.get('git', '?')}")
lines.append("figures: median [min-max] over the runs; ratio: median over the runs of (figure / the"
             " baseline's figure in the same run)")
lines.append("baselines: 1 dd (then, second column, the fio limit); 2, 3 dm-linear (same chunk size and pass;"
             " the NBD rows: the NBD export with no job); 4 the idle mirror copy time"
             " (median of 1); 5 dm-linear reload; 6 dm-raid1; 7 dm-era (first writes), the in-memory"
             " bitmap (rewrites, memory)")
if not done:
    lines.append("WARNING: the guest did not finish: some scenarios are missing")
FIG = {"rate_mbs": "copy rate", "iops": "IOPS", "copy_s": "time"}
for r in rows:
    sysl, _, fig = r["label"].partition(": ")
    r["system_label"], r["figure"] = sysl, fig or FIG.get(r["metric"], r["metric"])
w1 = max([len(r["system_label"]) for r in rows] + [10])
w2 = max([len(r["figure"]) for r in rows] + [10])
cur = None
prev = None
for r in rows:
    if r["scenario"] not in ran:
        continue
    if r["scenario"] != cur:
        cur = r["scenario"]
        prev = None
        lines.append("")
        lines.append(f"{cur}. {SCEN_NAME[cur]}")
        lines.append(f"   {'system':<{w1}}  {'figure':<{w2}}  {'median [min-max]':<30} ratio")
    fig, ratio = fmt_row(r)
    if "na" in r:
        fig = "n/a: " + r["na"]
    sysl = r["system_label"] if r["system_label"] != prev else ""
    prev = r["system_label"]
    lines.append(f"   {sysl:<{w1}}  {r['figure']:<{w2}}  {fig:<30} {ratio}".rstrip())
lines.append("")
lines.append("targets")
for t in targets:
    if t["met"] is None and ran != ALL_SCEN:
        continue        # most likely a scenario not asked for
    mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
    lines.append(f"   {mark} {t['target']}: {t['measured']}  ({t['detail']})")
with open(os.path.join(DIR, "table.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")

for r in rows:
    r.pop("fmt", None)
with open(os.path.join(DIR, "results.json"), "w") as f:
    json.dump({"meta": meta, "rows": rows, "targets": targets,
               "na": {f"{k[0]}/{k[1]}": v for k, v in nas.items()}}, f, indent=1)

# ---- chart data (plot.gp) --------------------------------------------------
P = os.path.join(DIR, "plot")
os.makedirs(P, exist_ok=True)


def dat(name, series, items):
    """items: [(label, system per series...)]; writes label then median min max per series."""
    with open(os.path.join(P, name), "w") as f:
        for label, syss in items:
            cols = []
            for scen, system, metric, scale in syss:
                s = stat(scen, system, metric)
                cols += [f"{s[k] * scale:.4g}" for k in ("median", "min", "max")] if s else ["0", "0", "0"]
            lab = label if any(stat(sc, sy, m) for sc, sy, m, _ in syss) else label + " (n/a)"
            f.write(f'"{lab}" ' + " ".join(cols) + "\n")


dat("s1.dat", 1, [(s.replace("bj-", "blockjob "), [("1", s, "rate_mbs", 1)]) for s in S1])
dat("s2.dat", 2, [("dm-linear", [("2", "dm-linear", "iops", 1), ("2", "dm-linear", "iops", 1)]),
                  ("blockjob bg", [("2", "bj-background", "iops", 1), ("2", "bj-background-insync", "iops", 1)]),
                  ("blockjob wb", [("2", "bj-write_blocking", "iops", 1),
                                   ("2", "bj-write_blocking-insync", "iops", 1)]),
                  ("dm-raid1", [("2", "dm-raid1", "iops", 1), ("2", "dm-raid1-insync", "iops", 1)])])
for ck in ("4k", "64k"):
    dat(f"s3-{ck}.dat", 2, [(lab.split(",")[0].replace("blockjob backup ", "bj ").replace("dm-snapshot ", "snap "),
                             [("3", f"{s}-{ck}-first", "iops", 1), ("3", f"{s}-{ck}-rewrite", "iops", 1)])
                            for s, lab in S3])
dat("s4.dat", 2, [(f"{pct}%", [("4", f"bj-background-{pct}", "ready_s", 1),
                               ("4", f"bj-write_blocking-{pct}", "ready_s", 1)]) for pct in ("25", "50", "90")])
dat("s5.dat", 1, [("dm-linear reload", [("5", "dm-linear-reload", "stall_ms", 1)]),
                  ("blockjob complete", [("5", "bj-complete", "stall_ms", 1)])])
dat("s7.dat", 3, [(lab.split(", ")[0].replace("blockjob", "bj") + " " + lab.split(", ")[1].split()[0],
                  [("7", f"{s}-{p}", "iops", 1) for p, _ in S7_PASS]) for s, lab in S7])
dat("nbd.dat", 2, [("export, no job (2 / 3)", [("2", "nbd-linear", "iops", 1), ("3", "nbd-linear-64k-first", "iops", 1)]),
                   ("mirror, copy", [("2", "bj-background-nbd", "iops", 1), ("2", "qemu-mirror-nbd", "iops", 1)]),
                   ("mirror, ready", [("2", "bj-background-nbd-insync", "iops", 1),
                                      ("2", "qemu-mirror-nbd-insync", "iops", 1)]),
                   ("write-blocking, copy", [("2", "bj-write_blocking-nbd", "iops", 1),
                                             ("2", "qemu-mirror-wb-nbd", "iops", 1)]),
                   ("write-blocking, ready", [("2", "bj-write_blocking-nbd-insync", "iops", 1),
                                              ("2", "qemu-mirror-wb-nbd-insync", "iops", 1)]),
                   ("backup none, first writes", [("3", "bj-backup-none-nbd-64k-first", "iops", 1),
                                                  ("3", "qemu-backup-none-nbd-64k-first", "iops", 1)]),
                   ("backup full, first writes", [("3", "bj-backup-full-nbd-64k-first", "iops", 1),
                                                  ("3", "qemu-backup-full-nbd-64k-first", "iops", 1)])])
dat("s6.dat", 1, [(s.replace("bj-", "blockjob "), [("6", s, "slabvm_mib_per_tib", 1)])
                  for s in ("bj-mirror", "bj-backup", "dm-raid1", "dm-snap-N")])
with open(os.path.join(P, "title.txt"), "w") as f:
    f.write(f"dm-blockjob bench {host.get('date', '')[:10]}: {info.get('kernel', '?')} under TCG, "
            f"{info.get('vol_mb', '?')} MiB volume, {host.get('args', '').split()[0]}; median, bars min-max\n")
