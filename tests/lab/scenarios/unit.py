"""hotmemd in the lab's dom0 as the installed package runs it: the programs,
the unit and the conffile come from the arm64 hotmem .deb unpacked into the
dom0 image (tests/lab/mkimages.sh), and `hotmem-unit-start hotmemd.service`
(tests/lab/rootfs/hotmem-unit-start) execs the unit's ExecStart= with the
unit's capability bounding set, no inheritable or ambient capabilities and
no_new_privs, read from the installed unit file at run time. So every lab
run that uses start() is also the proof that hotmemd works with only the
capabilities the unit leaves it; check_caps() asserts that the running
daemon has exactly those (its /proc/PID/status against the unit file).

Import from a scenario file: `from scenarios import unit`. Registers no
scenario."""

import re

from lab import LabError, check

UNIT = "/lib/systemd/system/hotmemd.service"
SOCKET = "/run/hotmem/hotmemd.sock"

# linux/capability.h: the capability numbers (Linux 6.12 knows 0..40).
CAPS = ["chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
        "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
        "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
        "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
        "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
        "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore"]


def start(lab, log, pidfile="/run/hotmemd.pid", stderr=None, before=""):
    """Start hotmemd.service's ExecStart= in dom0's background through
    hotmem-unit-start, stdout and stderr to LOG (stderr to STDERR if given,
    e.g. a fifo); the daemon's pid goes to PIDFILE. Returns once its socket
    is there (a socket left by a killed daemon is removed first). BEFORE runs
    first in the same dom0 command (e.g. a fifo's reader, whose open waits
    for the writer)."""
    err = f"2>{stderr} >{log}" if stderr else f">{log} 2>&1"
    lab.dom0(f"{before + ' && ' if before else ''}rm -f {SOCKET}; (hotmem-unit-start hotmemd.service {err} & echo $! >{pidfile}); "
             "t0=$(cut -d. -f1 /proc/uptime); until [ -S " + SOCKET + " ]; do "
             f"kill -0 $(cat {pidfile}) 2>/dev/null || {{ cat {log}; exit 1; }}; "
             f"[ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 60)) ] && {{ cat {log}; exit 1; }}; "
             "usleep 100000; done", timeout=90)


def unit_caps(text):
    """The capability bounding set the unit file TEXT gives its service, as a
    mask, with systemd.exec(5)'s rules for CapabilityBoundingSet= in
    [Service]: lines are merged, an empty one empties the set, none at all
    leaves the full set."""
    section, caps = None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith("CapabilityBoundingSet="):
            value = line.split("=", 1)[1].split()
            if not value:
                caps = set()
                continue
            if value[0].startswith("~"):
                raise LabError(f"{UNIT}: ~ capability lists are not handled here: {line}")
            caps = (caps or set()) | {v.lower().removeprefix("cap_") for v in value}
    if caps is None:
        return (1 << len(CAPS)) - 1
    unknown = caps - set(CAPS)
    if unknown:
        raise LabError(f"{UNIT}: unknown capabilities {sorted(unknown)}")
    return sum(1 << CAPS.index(c) for c in caps)


def names(mask):
    return ",".join(c for i, c in enumerate(CAPS) if mask >> i & 1) or "none"


def check_caps(lab, pidfile="/run/hotmemd.pid"):
    """The running hotmemd (PIDFILE) has exactly the unit's capabilities:
    CapBnd = CapPrm = CapEff = the unit's CapabilityBoundingSet=, nothing
    inheritable or ambient, no_new_privs set (NoNewPrivileges=yes). Returns
    the status fields for the report."""
    unit_text = lab.dom0(f"cat {UNIT}").out
    want = unit_caps(unit_text)
    status = lab.dom0(f"pid=$(cat {pidfile}); cat /proc/$pid/status; echo exe=$(readlink /proc/$pid/exe)").out
    fields = dict(re.findall(r"^(\w+):\s*(\S+)", status, re.M))
    exe = re.search(r"^exe=(.*)$", status, re.M)
    check(exe and exe.group(1) == "/usr/sbin/hotmemd", f"the daemon runs {exe and exe.group(1)!r}, "
          "not the package's /usr/sbin/hotmemd")
    got = {k: int(fields.get(k, "-1"), 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    for k in ("CapBnd", "CapPrm", "CapEff"):
        check(got[k] == want, f"hotmemd {k} {got[k]:#x} ({names(got[k])}) != the unit's "
              f"CapabilityBoundingSet {want:#x} ({names(want)})")
    for k in ("CapInh", "CapAmb"):
        check(got[k] == 0, f"hotmemd {k} {got[k]:#x} ({names(got[k])}), the unit gives none")
    nnp = re.search(r"^NoNewPrivileges=(\S+)", unit_text, re.M)
    if nnp and nnp.group(1) in ("yes", "true", "on", "1"):
        check(fields.get("NoNewPrivs") == "1", f"hotmemd NoNewPrivs {fields.get('NoNewPrivs')}, the unit says yes")
    return {"cap_eff": f"{got['CapEff']:#x}", "cap_bnd": f"{got['CapBnd']:#x}", "caps": names(got["CapEff"]),
            "no_new_privs": fields.get("NoNewPrivs")}
