"""Scenario "autoscale" (ctest lab.autoscale, issue #6): hotmemd's policy on
real Xen. Two domUs from the lab's guest.cfg, autoa (256 MiB) and autob
(512 MiB), both in mode auto (hotmemd attaches them itself), on a host made
too small for both peaks: a paused third domain, "filler" (mode off, never
touched), holds what Xen has free beyond the reserve and AUTOSCALE_ROOM_MIB.
autoa runs hotmem-memload ramping a checksummed working set up to
WORKLOAD_MIB at RAMP_MIB_S, holds it, and exits; autob stays idle. hotmemd
must grow autoa block by block as its MemAvailable falls (PSI from the
sysfs file an agent feeds), take autob's surplus through its balloon when
the host runs short (contention: autob's own surplus-hold is long), and give
autoa's blocks back once the workload is gone (its reclaim removes whole
blocks: a Linux balloon cannot take the movable hot-added memory).
Then phase 2, the PSI trigger: autoa's watermarks go to 0 (only PSI can
start a grow), it gets a zram swap and runs hotmem-memload thrash, a
working set bigger than its memory touched in a cycle; its kernel stalls
on memory and hotmemd must grow it because of PSI.
Checked: autoa grew by more than the host had free above its reserve,
autob was ballooned down and never below its min, autoa ended with no
block granted, no OOM kill in either guest, the working set verified after
every grow, the filler untouched, Xen's free memory (`xl info`) never under
the reserve; in phase 2, autoa's /proc/pressure/memory and the PSI its
driver published reached psi-grow, autoa's first move names PSI as its
reason and gave it memory, and the thrash's pages verified; the swap in use
its kernel showed under the thrash (/proc/meminfo) reached 32 MiB, its
driver published it (stats-swap) before the move and never more than the
kernel said, and at the end, the working set fitting, at most 16 MiB.
HOTMEM_AUTOSCALE_BREAK=psi0 (the agent feeds zeros), =noswap (it feeds no
swap figure) or =reserve (checks a reserve of more than the host has) must
make the run fail.
A dom0 sampler records per second each
guest's memory, target, MemAvailable and PSI and the host's free memory;
the timeline goes out as HOTMEM lines, as autoscale-timeline.csv (with
autoscale-decisions.txt, hotmemd's decisions with their dom0 time) in the
test's log folder, and bench/policy_lab_timeline.py draws it into
autoscale-timeline.png there when gnuplot is installed (docs/policy.md)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from lab import LabError, check, scenario, show
from scenarios import unit

MIB = 1 << 20
BLOCK_MIB = 128
RESERVE_MIB = 256          # [host] reserve below
AUTOSCALE_ROOM_MIB = 256   # free above the reserve at the start: two blocks
WORKLOAD_MIB = 416         # autoa's peak working set: needs more than the room
RAMP_MIB_S = 8             # slow enough for a grow (and a reclaim to fund it) to follow
HOLD_S = 8                 # the plateau
B_MIN_MIB = 192
# The packaged conffile, edited as an operator would: the unit starts hotmemd
# without --config.
CONF_PATH = "/etc/hotmem/hotmem.conf"
LOG = "/var/log/hotmemd-autoscale.log"
SAMPLES = "/var/log/autoscale.samples"
REPO = Path(__file__).resolve().parent.parent.parent.parent

# Timers short enough for a four-minute run, long against the 1 s tick.
CONF = f"""\
# lab.autoscale (tests/lab/scenarios/autoscale.py)
[host]
reserve = {RESERVE_MIB}m
tick = 1s
stale-stats = 15s

[domain *]
mode = off
# Wide margins: under TCG a grow funded by a reclaim takes seconds.
low-watermark = 10%
low-watermark-min = 128m
high-watermark = 30%
high-watermark-min = 256m
psi-hold = 2s
grow-cooldown = 2s
shrink-cooldown = 12s
surplus-hold = 6s
release-hold = 8s
max-step-blocks = 8

[domain autoa]
mode = auto
max = 1g

[domain autob]
mode = auto
min = {B_MIN_MIB}m
# Idle surplus is only taken early when the host is short (contention).
surplus-hold = 10m
"""

# One sample a second in dom0 (on dom0's clock, catching up when a round
# took longer): Xen's books of both guests, their targets and the stats their
# drivers published, the host's free frames (XEN_SYSCTL_physinfo, through
# hotmem-lab-mem) and `xl info`'s free_memory (MiB, what the strict reserve
# check reads: Xen's own figure through Xen's own tool, not hotmemd's). Few processes per round: each
# costs real time under TCG.
SAMPLER = r"""
A=$(xl domid autoa) B=$(xl domid autob)
while :; do
  t=$(cut -d' ' -f1 /proc/uptime)
  ia=$(hotmem-lab-mem $A info 2>/dev/null); ib=$(hotmem-lab-mem $B info 2>/dev/null)
  xf=$(xl info | sed -n 's/^free_memory *: *//p')
  x=$(xenstore-read /local/domain/$A/memory/target /local/domain/$B/memory/target \
      /local/domain/$A/hotmem/guest/stats /local/domain/$B/hotmem/guest/stats 2>/dev/null | tr '\n' ';')
  echo "$t;$ia;$ib;$xf;$x"
  t2=$(cut -d' ' -f1 /proc/uptime)
  left=$(( (${t%.*} + 1) * 100 - ${t2%.*}${t2#*.} ))
  [ $left -gt 0 ] && usleep $((left * 10000))
done
"""

# The guest's PSI agent: /proc/pressure/memory into the driver every second,
# its "some" line also into PSI_LOG with the guest's uptime. HOTMEM_AUTOSCALE_BREAK=psi0
# feeds the driver zeros instead (the PSI checks must then fail).
BREAK = os.environ.get("HOTMEM_AUTOSCALE_BREAK", "")
PSI_LOG = "/tmp/psi.log"
# The agent also feeds the driver /proc/meminfo's swap lines (sysfs "swap",
# published as stats-swap's sixth figure) and logs them to SWAP_LOG with the
# guest's uptime: what the kernel said, to hold the published figure to.
SWAP_LOG = "/tmp/swap.log"
# HOTMEM_AUTOSCALE_BREAK=noswap: the agent logs the swap lines but does not
# feed the driver, which then publishes five figures (the swap checks fail).
SWAP_FEED = "" if BREAK == "noswap" else "cat /tmp/swap.now >/sys/kernel/xen_hotmem/swap; "
PSI_SRC = ("printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\\nfull avg10=0.00 avg60=0.00 "
           "avg300=0.00 total=0\\n'" if BREAK == "psi0" else "cat /proc/pressure/memory")
PSI_AGENT = (f"(while :; do {PSI_SRC} > /sys/kernel/xen_hotmem/psi 2>/dev/null; "
             f"grep ^Swap /proc/meminfo >/tmp/swap.now; {SWAP_FEED}"
             f"echo \"$(cut -d' ' -f1 /proc/uptime) $(head -n 1 /proc/pressure/memory)\" >>{PSI_LOG}; "
             f"echo \"$(cut -d' ' -f1 /proc/uptime)\" $(cat /tmp/swap.now) >>{SWAP_LOG}; "
             "sleep 1; done) >/dev/null 2>&1 &")
# Phase 2 (the PSI trigger): autoa's watermarks go to 0, so that neither
# MemAvailable nor its trend can be under them and only PSI can start a
# grow; then hotmem-memload thrash touches THRASH_MIB in a cycle, more than
# autoa's boot memory holds, with ZRAM_MIB of zram swap: the kernel reclaims
# and swaps every pass, and the guest stalls on memory (docs/policy.md 5).
PSI_POLICY = "low-watermark=0% low-watermark-min=0"
THRASH_MIB = 240
ZRAM_MIB = 256
PSI_GROW = 10.0            # psi-grow's default, % (some avg10)
SWAPPED_MIN_MIB = 32       # the thrash's 240 MiB on autoa's ~180 MiB free push out more than this
SWAPPED_END_MAX_MIB = 16   # with the working set fitting, the thrash's passes read it all back


def free_mib(lab):
    return int(re.search(r"free_memory\s*:\s*(\d+)", lab.dom0("xl info").out).group(1))


def guest_cfg(lab, name, mib, extra_sed=""):
    lab.dom0(f"sed -e 's/^name = .*/name = \"{name}\"/' -e 's/^memory = .*/memory = {mib}/' "
             f"{extra_sed} /etc/xen/guest.cfg > /etc/xen/{name}.cfg")


def create_guests(lab, names, timeout=240):
    """xl create every guest, then wait for all of them (they boot in parallel)."""
    t = time.monotonic()
    for n in names:
        log = f"/var/log/xen/console/guest-{n}.log"
        lab.dom0(f"[ ! -f {log} ] || mv {log} {log}.old; xl create /etc/xen/{n}.cfg", timeout=120)
    for n in names:
        res = lab.dom0(f"hotmem-guest wait {n} HOTMEM-DOMU-READY {timeout}", timeout=timeout + 30,
                       check=False)
        check(res.rc == 0, f"domU {n} did not boot: {res.out.strip()}")
    lab.timings["create_guests_s"] = time.monotonic() - t


def oom_kills(lab, name):
    out = lab.domu("dmesg | grep -c -e 'invoked oom-killer' -e 'Out of memory'; true", name=name).out
    return int(out.split()[-1])


def parse_sample(line):
    """One sampler line -> dict (MiB, percent), or None if a field is missing."""
    f = line.split(";")
    if len(f) < 8:
        return None
    try:
        t = float(f[0])
        a = dict(re.findall(r"(\w+)=(\d+)", f[1]))
        b = dict(re.findall(r"(\w+)=(\d+)", f[2]))
        sa, sb = f[6].split(), f[7].split()
        return dict(t=t,
                    a_mib=int(a["tot_pages"]) * 4096 / MIB, a_target_mib=int(f[4]) / 1024,
                    a_avail_mib=int(sa[2]) / 1024 if len(sa) in (5, 6) else float("nan"),
                    a_psi=int(sa[3]) / 100 if len(sa) in (5, 6) else float("nan"),
                    a_swapped_mib=int(sa[5]) / 1024 if len(sa) == 6 else float("nan"),
                    b_mib=int(b["tot_pages"]) * 4096 / MIB, b_target_mib=int(f[5]) / 1024,
                    b_avail_mib=int(sb[2]) / 1024 if len(sb) in (5, 6) else float("nan"),
                    b_psi=int(sb[3]) / 100 if len(sb) in (5, 6) else float("nan"),
                    free_mib=int(a["free_pages"]) * 4096 / MIB, xl_free_mib=int(f[3]))
    except (KeyError, ValueError, IndexError):
        return None


def wait_dom0(lab, cond, what, timeout, required=True):
    """Poll a dom0 shell condition on dom0's clock; seconds it took (None if
    it was not reached and not required: the checks after say what failed)."""
    res = lab.dom0(f"t0=$(cut -d' ' -f1 /proc/uptime); i=0; while [ $i -lt {timeout * 5} ]; do "
                   f"{cond} && break; usleep 200000; i=$((i+1)); done; "
                   f"echo \"$(cut -d' ' -f1 /proc/uptime) $t0\"; {cond}", timeout=timeout + 60,
                   check=False)
    t1, t0 = (float(x) for x in res.out.split()[-2:])
    if res.rc and not required:
        return None
    check(res.rc == 0, f"dom0: {what} not reached within {timeout} s")
    return t1 - t0


def render(lab, csv, decisions):
    """The PNG, with bench/policy_lab_timeline.py (needs gnuplot on the host)."""
    png = lab.log_dir / "autoscale-timeline.png"
    script = REPO / "bench" / "policy_lab_timeline.py"
    res = subprocess.run([sys.executable, str(script), str(csv), str(png), "--decisions",
                          str(decisions)], capture_output=True, text=True, timeout=120)
    print(res.stdout, end="")
    if res.returncode == 77:
        print(f"lab: no PNG: {res.stderr.strip()}", file=sys.stderr)
        return None
    check(res.returncode == 0 and png.is_file(), f"policy_lab_timeline.py failed: {res.stderr.strip()}")
    return png


@scenario("autoscale", "hotmemd grows a busy guest, reclaims an idle one, gives memory back; no OOM")
def autoscale(lab):
    if lab.dom0("command -v hotmemd && command -v xl-hotmem && command -v hotmem-lab-mem", check=False).rc:
        raise LabError("dom0 image lacks hotmemd, xl-hotmem (<cache>/pkg.log) or hotmem-lab-mem "
                       "(<cache>/build-aarch64.log)")
    guest_cfg(lab, "autoa", 256)
    guest_cfg(lab, "autob", 512)
    create_guests(lab, ["autoa", "autob"])
    for n in ("autoa", "autob"):
        if lab.domu("test -f /lib/modules/xen_hotmem.ko && test -x /usr/local/bin/hotmem-memload",
                    name=n, check=False).rc:
            raise LabError(f"{n}: guest image lacks xen_hotmem.ko or hotmem-memload")
        lab.domu(f"insmod /lib/modules/xen_hotmem.ko && {PSI_AGENT}", name=n)

    # The host: what is free beyond the reserve and the room goes to a paused filler.
    free0 = free_mib(lab)
    lab_free0 = free0
    filler = free0 - RESERVE_MIB - AUTOSCALE_ROOM_MIB
    if filler >= 64:
        guest_cfg(lab, "filler", filler)
        lab.dom0("xl create -p /etc/xen/filler.cfg", timeout=180)
    free1 = free_mib(lab)
    room = free1 - RESERVE_MIB
    lab.report(scenario="autoscale", step="host", free_before_filler_mib=free0, filler_mib=max(filler, 0),
               free_mib=free1, reserve_mib=RESERVE_MIB, room_mib=room, workload_mib=WORKLOAD_MIB)

    lab.dom0(f"cat > {CONF_PATH} <<'EOF'\n{CONF}EOF")
    # hotmemd.service's ExecStart= with the unit's capabilities only, its
    # stderr time-stamped by a reader of /run/hd.fifo.
    unit.start(lab, "/dev/null", pidfile="/run/hotmemd-as.pid", stderr="/run/hd.fifo",
               before="rm -f /run/hd.fifo && mkfifo /run/hd.fifo && "
                      "(while IFS= read -r l; do echo \"$(cut -d' ' -f1 /proc/uptime) $l\"; done "
                      f"</run/hd.fifo >{LOG} 2>/dev/null &)")
    try:
        lab.report(scenario="autoscale", step="caps", **unit.check_caps(lab, "/run/hotmemd-as.pid"))
        wait_dom0(lab, f"grep -q 'autob): attached implicitly' {LOG} && "
                       f"grep -q 'autoa): attached implicitly' {LOG}", "both guests attached", 60)
        # Stats flow (the driver publishes every tick once hotmemd asked).
        wait_dom0(lab, "A=$(xl domid autoa); B=$(xl domid autob); "
                       "xenstore-read /local/domain/$A/hotmem/guest/stats >/dev/null 2>&1 && "
                       "xenstore-read /local/domain/$B/hotmem/guest/stats >/dev/null 2>&1",
                  "stats from both guests", 60)
        lab.dom0(f"cat > /run/sampler.sh <<'EOF'\n{SAMPLER}EOF\n"
                 f"(sh /run/sampler.sh >{SAMPLES} 2>/dev/null & echo $! >/run/sampler.pid)")
        t_start = time.monotonic()

        # The workload: a working set that grows, holds, and goes.
        lab.domu(f"rm -f /tmp/ramp.status; hotmem-memload ramp {WORKLOAD_MIB} /tmp/ramp.status {RAMP_MIB_S} "
                 f">/tmp/ramp.log 2>&1 & echo $! >/tmp/ramp.pid", name="autoa")
        res = lab.domu("i=0; while [ $i -lt 1800 ]; do grep -q -e '^filled' -e '^error' /tmp/ramp.status "
                       "2>/dev/null && break; kill -0 $(cat /tmp/ramp.pid) 2>/dev/null || break; "
                       "usleep 100000; i=$((i+1)); done; cat /tmp/ramp.status; "
                       "kill -0 $(cat /tmp/ramp.pid) && echo alive", name="autoa", timeout=240, check=False)
        ramp_s = time.monotonic() - t_start
        show("autoa: the working set ramps up", res.out)
        check("filled" in res.out and "alive" in res.out,
              f"the workload did not reach {WORKLOAD_MIB} MiB alive (OOM?): {res.out.strip()}")
        lab.domu(f"sleep {HOLD_S}; kill -TERM $(cat /tmp/ramp.pid); i=0; "
                 "while [ $i -lt 600 ] && kill -0 $(cat /tmp/ramp.pid) 2>/dev/null; do usleep 100000; i=$((i+1)); done",
                 name="autoa", timeout=HOLD_S + 120)
        verify = lab.domu("cat /tmp/ramp.status", name="autoa").out
        t_end = time.monotonic()

        # Memory back: autoa holds its boot size again (blocks removed; what is
        # left under a block may be ballooned out of its boot memory).
        back_s = wait_dom0(lab, "A=$(xl domid autoa); t=$(hotmem-lab-mem $A info | "
                                "sed 's/tot_pages=\\([0-9]*\\).*/\\1/'); "
                                f"[ $t -le {(256 + 16) * 256} ] && "
                                "xl-hotmem info --json autoa | grep -q '\"busy\": false'",
                           "autoa back at its boot size", 150)
        t_back = time.monotonic()
        # A few more samples of the quiet end.
        lab.dom0("sleep 3")

        # Phase 2: only PSI may grow autoa now.
        lab.dom0(f"xl-hotmem policy autoa {PSI_POLICY}")
        lab.domu(f"for m in $(cat /etc/hotmem/modules); do insmod /lib/modules/$m || exit 1; done; "
                 f"echo {ZRAM_MIB}M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && "
                 "swapon /dev/zram0", name="autoa")
        p2_dom0 = float(lab.dom0("cut -d' ' -f1 /proc/uptime").out.split()[0])
        p2_guest = float(lab.domu("cut -d' ' -f1 /proc/uptime", name="autoa").out.split()[0])
        lab.domu(f"rm -f /tmp/thrash.status; hotmem-memload thrash {THRASH_MIB} /tmp/thrash.status "
                 ">/tmp/thrash.log 2>&1 & echo $! >/tmp/thrash.pid", name="autoa")
        psi_grow_s = wait_dom0(lab, f"awk '$1 >= {p2_dom0} && /\\(autoa\\): (grow by|target)/' {LOG} | "
                                    "grep -q .", "a grow of autoa under PSI", 150,
                               required=False)
        # The grow lands; a few samples with the working set fitting.
        lab.dom0("sleep 12")
        thrash = lab.domu("kill -TERM $(cat /tmp/thrash.pid); i=0; while [ $i -lt 600 ] && "
                          "kill -0 $(cat /tmp/thrash.pid) 2>/dev/null; do usleep 100000; i=$((i+1)); done; "
                          "cat /tmp/thrash.status", name="autoa", timeout=120).out
    except BaseException:
        # What hotmemd decided and the last samples say why it went wrong.
        res = lab.dom0(f"tail -n 60 {LOG}; echo ----; tail -n 15 {SAMPLES}", timeout=60, check=False)
        show("hotmemd's log and the last samples", res.out)
        raise
    finally:
        lab.dom0("kill $(cat /run/sampler.pid) 2>/dev/null; kill $(cat /run/hotmemd-as.pid) 2>/dev/null; "
                 "i=0; while [ $i -lt 100 ] && kill -0 $(cat /run/hotmemd-as.pid) 2>/dev/null; do "
                 "usleep 100000; i=$((i+1)); done; true", timeout=60, check=False)

    raw = lab.dom0(f"cat {SAMPLES}", timeout=120).out
    log = lab.dom0(f"cat {LOG}", timeout=60).out
    ooms = {n: oom_kills(lab, n) for n in ("autoa", "autob")}
    psi = lab.domu("cat /sys/kernel/xen_hotmem/psi", name="autoa", check=False).out.strip()
    guest_psi = lab.domu(f"cat {PSI_LOG}", name="autoa", timeout=60).out
    guest_swap = lab.domu(f"cat {SWAP_LOG}", name="autoa", timeout=60).out
    # autoa's own /proc/pressure/memory (its uptime, the "some" line) and the thrash's passes.
    (lab.log_dir / "autoscale-guest-psi.txt").write_text(guest_psi + thrash)
    (lab.log_dir / "autoscale-guest-swap.txt").write_text(guest_swap)
    filler_books = lab.dom0("xl list filler 2>/dev/null | tail -n 1; true").out.strip()
    show("hotmemd (dom0 uptime, log)", "\n".join(l for l in log.splitlines() if "policy" in l or "exit" in l))

    samples = [s for s in (parse_sample(l) for l in raw.splitlines()) if s]
    check(len(samples) > 20, f"only {len(samples)} timeline samples")
    t0 = samples[0]["t"]
    cols = ["t_s", "a_mib", "a_target_mib", "a_avail_mib", "a_psi", "b_mib", "b_target_mib", "b_avail_mib",
            "b_psi", "free_mib", "xl_free_mib", "a_swapped_mib"]
    csv = lab.log_dir / "autoscale-timeline.csv"
    with open(csv, "w") as f:
        f.write(",".join(cols) + "\n")
        for s in samples:
            s["t_s"] = s["t"] - t0
            f.write(",".join(f"{s[c]:.1f}" if c in ("t_s", "a_psi", "b_psi", "a_swapped_mib") else f"{s[c]:.0f}"
                             for c in cols) + "\n")
            lab.report(scenario="autoscale", step="sample", t_s=round(s["t_s"], 1), a_mib=round(s["a_mib"]),
                       a_target_mib=round(s["a_target_mib"]), b_mib=round(s["b_mib"]),
                       b_target_mib=round(s["b_target_mib"]), free_mib=round(s["free_mib"]))
    decisions = lab.log_dir / "autoscale-decisions.txt"
    with open(decisions, "w") as f:
        for line in log.splitlines():
            m = re.match(r"([\d.]+) hotmemd: policy: (.*)", line)
            if m and float(m.group(1)) >= t0 - 5:
                f.write(f"{float(m.group(1)) - t0:.1f} {m.group(2)}\n")
    png = render(lab, csv, decisions)

    # Phase 1 (the ramp) and phase 2 (PSI), split on dom0's clock.
    p1 = [s for s in samples if s["t"] < p2_dom0]
    p2 = [s for s in samples if s["t"] >= p2_dom0]
    log1 = [l for l in log.splitlines() if re.match(r"[\d.]+ ", l) and float(l.split()[0]) < p2_dom0]
    log2 = [l for l in log.splitlines() if re.match(r"[\d.]+ ", l) and float(l.split()[0]) >= p2_dom0]
    a_boot = p1[0]["a_mib"]
    a_peak = max(s["a_mib"] for s in p1)
    a_end = p1[-1]["a_mib"]
    b_boot = max(s["b_mib"] for s in p1[:3])
    b_low = min(s["b_target_mib"] for s in p1)
    free_min = min(s["free_mib"] for s in samples)
    xl_free_min = min(s["xl_free_mib"] for s in samples)
    grows = [l for l in log1 if "(autoa): grow by" in l and "started" in l]
    b_reclaims = [l for l in log1 if "(autob): target" in l]
    a_reclaims = [l for l in log1 if "(autoa): target" in l or "(autoa): shrink by" in l]
    # Phase 2: autoa's first decision, what the driver published before it,
    # and what the guest's kernel said (/proc/pressure/memory, some avg10).
    a_moves2 = [l for l in log2 if re.search(r"\(autoa\): (grow by|target)", l)]
    psi_move = a_moves2[0] if a_moves2 else ""
    t_move = float(psi_move.split()[0]) if psi_move else float("inf")
    pub_psi = [s["a_psi"] for s in p2 if s["t"] <= t_move and s["a_psi"] == s["a_psi"]]
    kern_psi = [float(m.group(2)) for m in re.finditer(r"^([\d.]+) some avg10=([\d.]+)", guest_psi, re.M)
                if float(m.group(1)) >= p2_guest]
    # Swap alone (SwapTotal - SwapFree - SwapCached), MiB: what autoa's kernel
    # said in phase 2, and what its driver published before the first move and
    # at the end (the working set fitting again: read back, not left in swap).
    kern_swapped = []
    for m in re.finditer(r"^([\d.]+) (.*)$", guest_swap, re.M):
        kib = dict(re.findall(r"(Swap\w+): (\d+) kB", m.group(2)))
        if float(m.group(1)) >= p2_guest and len(kib) == 3:
            kern_swapped.append((int(kib["SwapTotal"]) - int(kib["SwapFree"]) - int(kib["SwapCached"])) / 1024)
    pub_swapped = [s["a_swapped_mib"] for s in p2 if s["t"] <= t_move and s["a_swapped_mib"] == s["a_swapped_mib"]]
    end_swapped = [s["a_swapped_mib"] for s in p2[-3:] if s["a_swapped_mib"] == s["a_swapped_mib"]]
    a_before2 = p2[0]["a_mib"] if p2 else float("nan")
    a_after2 = max((s["a_mib"] for s in p2 if s["t"] > t_move or not psi_move), default=a_before2)
    passes = [(int(n), int(ms)) for n, ms in re.findall(r"^pass n=(\d+) ms=(\d+)", thrash, re.M)]
    tv = re.search(r"^verify (ok|bad) pages=(\d+) bad=(\d+)", thrash, re.M)
    check_reserve = RESERVE_MIB if BREAK != "reserve" else lab_free0 + 1
    vm = re.search(r"^verify (ok|bad) pages=(\d+) bad=(\d+)", verify, re.M)
    lab.report(scenario="autoscale", step="result", a_boot_mib=round(a_boot), a_peak_mib=round(a_peak),
               a_end_mib=round(a_end), a_grew_mib=round(a_peak - a_boot), room_mib=room,
               b_boot_mib=round(b_boot), b_lowest_target_mib=round(b_low),
               b_reclaimed_mib=round(b_boot - b_low), free_min_mib=round(free_min),
               grows=len(grows), a_reclaims=len(a_reclaims), b_reclaims=len(b_reclaims),
               ramp_s=round(ramp_s, 1), workload_s=round(t_end - t_start, 1),
               give_back_s=round(back_s, 1), total_timeline_s=round(t_back - t_start, 1),
               xl_free_min_mib=xl_free_min, reserve_checked_mib=check_reserve,
               psi_move=psi_move.split("policy: ", 1)[-1],
               psi_move_after_s=round(psi_grow_s, 1) if psi_grow_s is not None else -1,
               psi_published_max=max(pub_psi, default=-1), psi_kernel_max=max(kern_psi, default=-1),
               a_before_psi_mib=round(a_before2), a_after_psi_mib=round(a_after2),
               swapped_kernel_max_mib=round(max(kern_swapped, default=-1), 1),
               swapped_published_max_mib=round(max(pub_swapped, default=-1), 1),
               swapped_published_end_mib=round(max(end_swapped, default=-1), 1),
               thrash_pass_ms_first=passes[0][1] if passes else -1,
               thrash_pass_ms_last=passes[-1][1] if passes else -1,
               ooms_a=ooms["autoa"], ooms_b=ooms["autob"], verify=vm.group(1) if vm else "none",
               png=str(png) if png else "none")
    show("result", f"autoa {a_boot:.0f} -> peak {a_peak:.0f} -> {a_end:.0f} MiB ({len(grows)} grows); "
         f"autob {b_boot:.0f} -> lowest target {b_low:.0f} MiB; host free min {free_min:.0f} MiB "
         f"(xl info: {xl_free_min} MiB, reserve {RESERVE_MIB}); PSI phase: kernel some avg10 max "
         f"{max(kern_psi, default=-1):.2f}%, published max {max(pub_psi, default=-1):.2f}%, autoa "
         f"{a_before2:.0f} -> {a_after2:.0f} MiB on: {psi_move.strip()}; swapped (kernel max, published "
         f"max before the move, at the end): {max(kern_swapped, default=-1):.1f}, "
         f"{max(pub_swapped, default=-1):.1f}, {max(end_swapped, default=-1):.1f} MiB; thrash passes (n, ms): "
         f"{passes[:3]} ... {passes[-3:]}; "
         f"filler: {filler_books}")

    check(ooms == {"autoa": 0, "autob": 0}, f"OOM kills: {ooms}")
    check(psi and "age_ms -1" not in psi, f"autoa's PSI agent never fed the driver: {psi!r}")
    check(vm is not None and vm.group(1) == "ok" and vm.group(3) == "0",
          f"the working set did not verify after the grows: {verify.strip()}")
    check(grows, "hotmemd never grew autoa")
    check(a_peak - a_boot >= 2 * BLOCK_MIB, f"autoa grew by only {a_peak - a_boot:.0f} MiB")
    check(a_peak - a_boot > room, f"autoa grew by {a_peak - a_boot:.0f} MiB, within the {room} MiB the host "
          "had free: no overcommit was shown")
    check(b_reclaims and b_low <= b_boot - 64, f"autob was not reclaimed (lowest target {b_low:.0f} MiB)")
    check(b_low >= B_MIN_MIB, f"autob's target went to {b_low:.0f} MiB, below its min {B_MIN_MIB}")
    check(a_end <= a_boot + 16, f"autoa ended at {a_end:.0f} MiB, booted with {a_boot:.0f}")
    # The reserve, strictly: Xen's free memory (xl info) never under it.
    check(xl_free_min >= check_reserve, f"Xen's free memory (xl info) fell to {xl_free_min} MiB, "
          f"under the {check_reserve} MiB reserve")
    check(free_min >= check_reserve, f"Xen's free frames (physinfo) fell to {free_min:.0f} MiB, "
          f"under the {check_reserve} MiB reserve")
    # PSI: the guest's kernel stalled on memory, its driver published it, and
    # autoa's first move of phase 2 was for PSI (the watermarks were 0: no
    # other reason was possible) and gave it memory.
    check(max(kern_psi, default=0) >= PSI_GROW, f"autoa's /proc/pressure/memory some avg10 never reached "
          f"{PSI_GROW}% under the thrash (max {max(kern_psi, default=-1)} in {len(kern_psi)} samples)")
    check(max(pub_psi, default=0) >= PSI_GROW, f"the PSI autoa's driver published before the grow never "
          f"reached {PSI_GROW}% (max {max(pub_psi, default=-1)} in {len(pub_psi)} samples)")
    check(re.search(r"\(autoa\): (grow by \d+ MiB started|target).*: psi \d+\.\d+%", psi_move),
          f"autoa's first move under the thrash does not name PSI as its reason: {psi_move!r}")
    check(not [l for l in a_moves2 if re.search(r"(avail|trend) \d+M < low", l)],
          "a watermark or trend reason in phase 2, whose watermarks were 0")
    check(a_after2 >= a_before2 + 64, f"autoa was not given memory on PSI: {a_before2:.0f} -> "
          f"{a_after2:.0f} MiB")
    # stats-swap on real Xen: the thrash pushed part of its working set to
    # zram, the kernel said so, the driver published it before the move (the
    # figure the policy counts in a pressed guest's demand), and once the
    # working set fit again it came back: swap in use followed the shortfall
    # of the moment, not its history (what psim assumes).
    check(max(kern_swapped, default=0) >= SWAPPED_MIN_MIB, f"autoa's /proc/meminfo never showed "
          f"{SWAPPED_MIN_MIB} MiB in swap alone under the thrash (max {max(kern_swapped, default=-1)} "
          f"in {len(kern_swapped)} samples)")
    check(max(pub_swapped, default=0) >= SWAPPED_MIN_MIB, f"the swap figure autoa's driver published "
          f"before the move never reached {SWAPPED_MIN_MIB} MiB (max {max(pub_swapped, default=-1)} in "
          f"{len(pub_swapped)} samples with one)")
    check(max(pub_swapped, default=0) <= max(kern_swapped, default=0) + 1, f"autoa's driver published "
          f"{max(pub_swapped, default=-1)} MiB swapped, more than its kernel ever said "
          f"({max(kern_swapped, default=-1)})")
    check(end_swapped and max(end_swapped) <= SWAPPED_END_MAX_MIB, f"autoa still published "
          f"{end_swapped} MiB swapped with its working set fitting (at most {SWAPPED_END_MAX_MIB})")
    check(tv is not None and tv.group(1) == "ok" and tv.group(3) == "0",
          f"the thrash's pages did not verify: {thrash.strip()[-300:]}")
    check("filler" in filler_books and not re.search(r"\(filler\)", log), "the filler was touched")
