#!/usr/bin/env python3
"""bench/lab_grow.py (make bench-lab): grow a real Xen 4.17 arm64 guest in
the lab (tests/lab, QEMU TCG) by 1 GiB with `xl-hotmem grow` and print each
phase (admission, populate, guest add, online, balloon fill, ack) from
xl-hotmem --progress lines stamped with dom0's uptime and from the guest
driver's dmesg timestamps, plus the end-to-end time; then, on the same boot,
populate 1 GiB of a spare guest-physical range of the domain with order-0
extents and with order-9 extents (the order the engine uses for a block's
memmap head) through hotmem-lab-mem, and print the ratio (after shrinking
the guest back, timed: the 3 GiB lab host has no second free GiB). Figures, never
assertions: exit 0 unless the lab itself fails. Needs tests/lab/setup.sh once.
Every figure is also a "HOTMEM bench=lab-grow ..." line."""

import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "lab"))
sys.dont_write_bytecode = True
import lab as labmod  # noqa: E402

SPARE_GPA = 0x50000000  # bank 0 right above the 256 MiB guest's RAM; not the hotmem window
SPARE_BYTES = 1 << 30


def guest_phases(lab):
    """The driver's log of the grow: per block the time it took to be added
    (add_memory with the memmap in its head, the auto-online veto included),
    to come online (online_movable) and to be booked, summed over blocks;
    request seen to ack; and the lines themselves."""
    out = lab.domu("dmesg | grep -E 'xen_hotmem: (block |request )'", check=False).out
    ev = [(float(m.group(1)), int(m.group(2)), m.group(3), m.group(4)) for m in
          re.finditer(r"^\[\s*([\d.]+)\] xen_hotmem: block (\d+) \[mem [^]]+\]: (\S+) -> (\S+)", out, re.M)]
    req = [(float(m.group(1)), m.group(2)) for m in
           re.finditer(r"^\[\s*([\d.]+)\] xen_hotmem: (request \d+.*)$", out, re.M)]
    ph = {"guest_add_s": 0.0, "guest_online_s": 0.0, "guest_books_s": 0.0}
    prev = req[0][0] if req else (ev[0][0] if ev else 0.0)
    for t, _, _, to in ev:
        key = {"added": "guest_add_s", "online": "guest_online_s", "plugged": "guest_books_s"}.get(to)
        if key:
            ph[key] += t - prev
        prev = t
    acks = [t for t, r in req if " acked" in r]
    if req and acks:
        ph["guest_request_to_ack_s"] = acks[-1] - req[0][0]
        ph["guest_last_block_to_ack_s"] = acks[-1] - (ev[-1][0] if ev else req[0][0])
    return ph, ev, req


def dom0_phases(out):
    """Phases from xl-hotmem --progress lines stamped with dom0's uptime:
    admission (start to the first head populated: attach, the guest's
    handshake, admission, max memory and P2M pool), populate (first to last
    head), the guest's add and online plus its ack seen by dom0 (last head to
    the first "online" line, which xl-hotmem prints once it read the ack),
    and the balloon fill that xl-hotmem waits for (first "online" to its
    end)."""
    lines = [(float(m.group(1)), m.group(2)) for m in re.finditer(r"^([\d.]+) (.*)$", out, re.M)]
    if len(lines) < 2:
        return {}
    t0, t_end = lines[0][0], lines[-1][0]
    pop = [t for t, l in lines if l.endswith(" populated")]
    onl = [t for t, l in lines if l.endswith(" online")]
    ph = {"cli_total_s": t_end - t0}
    if pop:
        ph["admission_s"] = pop[0] - t0
        ph["populate_heads_s"] = pop[-1] - pop[0]
    if pop and onl:
        ph["request_to_ack_seen_s"] = onl[0] - pop[-1]
    if onl:
        ph["fill_wait_in_cli_s"] = t_end - onl[0]
    return ph


def run(lab):
    lab.create_domu()
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    domid = int(lab.dom0("xl domid guest").out.strip())
    lab.domu("dmesg -c >/dev/null")
    t = time.monotonic()
    # xl-hotmem --progress prints (and flushes) one line per block event
    # through the pipe; each gets dom0's uptime as it arrives.
    res = lab.dom0("t0=$(cut -d' ' -f1 /proc/uptime); echo \"$t0 start\"; xl-hotmem --progress grow guest 1g 2>&1 | "
                   "while IFS= read -r l; do echo \"$(cut -d' ' -f1 /proc/uptime) $l\"; done; "
                   "echo \"$(cut -d' ' -f1 /proc/uptime) end\"", timeout=600, check=False)
    cli_s = time.monotonic() - t
    fill = lab.domu("d=/sys/devices/system/xen_memory/xen_memory0; t0=$(cut -d' ' -f1 /proc/uptime); "
                    "while [ $(cat $d/info/current_kb) != $(cat $d/target_kb) ]; do usleep 50000; done; "
                    "echo $t0 $(cut -d' ' -f1 /proc/uptime)", timeout=300).out.split()
    end_to_end_s = time.monotonic() - t
    timings = dom0_phases(res.out)
    phases, ev, req = guest_phases(lab)
    phases["balloon_fill_left_after_cli_s"] = float(fill[1]) - float(fill[0])
    labmod.show("xl-hotmem --progress grow guest 1g (dom0 uptime per line)", res.out)
    labmod.show("guest driver log", "\n".join(f"{t:.3f} block {b}: {a} -> {z}" for t, b, a, z in ev) +
                "\n" + "\n".join(f"{t:.3f} {r}" for t, r in req))
    lab.report(bench="lab-grow", step="grow", cli_rc=res.rc, cli_s=cli_s, end_to_end_s=end_to_end_s,
               **timings, **phases)

    # Shrink back (the host has ~1.9 GiB for domUs: the populate below needs
    # the GiB the grow took), timed as the end-to-end of a 1 GiB shrink.
    t = time.monotonic()
    res = lab.dom0("xl-hotmem set guest 0", timeout=600, check=False)
    shrink_s = time.monotonic() - t
    lab.report(bench="lab-grow", step="shrink", cli_rc=res.rc, shrink_1gib_s=shrink_s)

    # Populate ratio on a spare range: order 0 vs order 9, same 1 GiB.
    info = dict(re.findall(r"(\w+)=(\d+)", lab.dom0(f"hotmem-lab-mem {domid} info").out))
    lab.dom0(f"hotmem-lab-mem {domid} maxmem {(int(info['max_pages']) * 4) + (SPARE_BYTES >> 10) + 4096} && "
             f"hotmem-lab-mem {domid} p2m {16 << 20}")
    times = {}
    for order in (0, 9):
        out = lab.dom0(f"hotmem-lab-mem {domid} populate {SPARE_GPA:#x} {SPARE_BYTES:#x} {order} && "
                       f"hotmem-lab-mem {domid} decrease {SPARE_GPA:#x} {SPARE_BYTES:#x} {order}",
                       timeout=900).out
        pop = re.search(r"populated .* in ([\d.]+) ms", out)
        dec = re.search(r"decreased .* in ([\d.]+) ms", out)
        times[order] = (float(pop.group(1)) / 1e3, float(dec.group(1)) / 1e3)
    lab.dom0(f"hotmem-lab-mem {domid} maxmem {int(info['max_pages']) * 4}")
    ratio = times[0][0] / times[9][0] if times[9][0] else 0.0
    lab.report(bench="lab-grow", step="populate-1GiB", order0_populate_s=times[0][0],
               order9_populate_s=times[9][0], order0_decrease_s=times[0][1], order9_decrease_s=times[9][1],
               populate_ratio_order0_over_order9=ratio)
    print(f"\n1 GiB grow end to end: {end_to_end_s:.2f} s (xl-hotmem returned after {cli_s:.2f} s; "
          "harness round trips included)")
    names = [("admission", "admission_s"), ("populate (8 memmap heads)", "populate_heads_s"),
             ("guest add (add_memory, 8 blocks)", "guest_add_s"), ("guest online (movable)", "guest_online_s"),
             ("guest books (balloon)", "guest_books_s"), ("guest last block -> ack", "guest_last_block_to_ack_s"),
             ("dom0: last head -> ack seen", "request_to_ack_seen_s"), ("balloon fill (xl-hotmem waits)", "fill_wait_in_cli_s"),
             ("balloon fill left after xl-hotmem", "balloon_fill_left_after_cli_s"), ("xl-hotmem total (dom0 clock)", "cli_total_s")]
    for label, key in names:
        v = {**timings, **phases}.get(key)
        print(f"  {label:36} {v:.3f} s" if isinstance(v, float) else f"  {label:36} -")
    print(f"1 GiB shrink (xl-hotmem set guest 0, offline + remove + decrease): {shrink_s:.2f} s")
    print(f"populate 1 GiB: order 0 {times[0][0]:.2f} s, order 9 {times[9][0]:.2f} s, ratio {ratio:.1f}x "
          f"(decrease: order 0 {times[0][1]:.2f} s, order 9 {times[9][1]:.2f} s)")


def main():
    labmod.install_cleanup()
    cache = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".cache" / "lab")
    lab = labmod.Lab(cache, Path(cache) / "runs" / "bench-lab-grow")
    rc = 1
    try:
        lab.boot()
        run(lab)
        rc = 0
    except (labmod.LabError, AssertionError, labmod.Skip) as e:
        labmod.log(f"bench failed: {e}")
        lab.dump(str(e).splitlines()[0] if str(e) else type(e).__name__)
    finally:
        if rc == 0:
            lab.poweroff()
        lab.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
