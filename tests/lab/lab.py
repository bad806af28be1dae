#!/usr/bin/env python3
"""lab.py: boot hotmem's lab and drive it. Starts qemu-system-aarch64 (TCG)
with Xen 4.17 and a Linux 6.12 dom0 built by fetch.sh + mkimages.sh, owns the
serial console through pipes (nothing on disk but the logs), waits for dom0's
ready marker, and talks to a small agent (rootfs/hotmem-agent) on dom0's console
to run commands with begin/end markers and exit codes. Commands reach a domU
through dom0 (rootfs/hotmem-guest: the guest's console pty in, its xenconsoled
log out). Results are printed as machine-readable lines "HOTMEM key=value ...".
Any timeout prints the last 50 lines of every console and fails. QEMU never
outlives the harness: own process group, killed on exit and on SIGTERM/SIGINT/
SIGHUP, and PR_SET_PDEATHSIG in case the harness is SIGKILLed.

  lab.py list                 scenarios, from tests/lab/scenarios/*.py
  lab.py run SCENARIO         boot, run it, power off; exit 0 pass, 1 fail, 77 skip
  lab.py shell                boot and hand dom0's console to a human (Ctrl-\\ quits)
  lab.py session start SOCK [--setup SCENARIO]
                              boot once, run SCENARIO, then serve scenarios on
                              the unix socket SOCK in the background (ctest
                              fixture: one boot for several tests)
  lab.py session run SOCK SCENARIO    run a scenario on that machine
  lab.py session stop SOCK            power it off

Python 3 standard library only.
"""

import argparse
import atexit
import base64
import codecs
import ctypes
import importlib.util
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (scenarios/)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SKIP = 77

QEMU = "qemu-system-aarch64"
# Load addresses of dom0's kernel and initramfs (guest-loader devices). QEMU
# puts its DTB at RAM+128M = 0x48000000: a module there makes Xen panic with
# only "Could not set up DOM0 guest OS".
RAM_BASE = 0x40000000
RAM_SIZE = 3 << 30
QEMU_DTB = 0x48000000
DOM0_KERNEL_ADDR = 0x49000000
DOM0_INITRD_ADDR = 0x50000000
# memop-max-order: dom0 (the control domain) may populate a domU with 1 GiB
# extents (order 18; Xen's default for it is 12), as hotmem does for a
# 1 GiB-aligned GiB of a grow; a refused order falls back to 2 MiB ones.
XEN_CMDLINE = ("dom0_mem=768M,max:768M dom0_max_vcpus=2 console=dtuart "
               "dtuart=/pl011@9000000 bootscrub=0 memop-max-order=,18")
DOM0_CMDLINE = "console=hvc0 earlycon=xenboot rdinit=/init"

DOM0_READY = re.compile(r"HOTMEM-DOM0-READY (\S+) (\S+)")
# The emulated machine's own fault (five times on 2026-12-05/06: lab.driver
# in two CI runs, the session in one of them, a lab.autoscale run, a reboot
# census): one of dom0's two vCPUs stops taking interrupts for good.
# Its timer never fires again ("Possible timer handling issue on cpu=N", the
# CPU idle), an IPI to it gets no answer ("Watchdog detected hard LOCKUP on
# cpu N", no backtrace follows), and the other vCPU runs on until something
# waits on the dead one. It came right after an `xl create` with no hotmem
# operation in flight (lab.autoscale), during a guest command (lab.driver)
# and in a reboot census; 100 presses of Xen's 'q' key (which take dom0's
# cpu1 offline and back) and 9 create/destroy cycles of a domU under host load did
# not bring it back. Xen 4.17 under QEMU TCG; no hotmem code runs in dom0's
# kernel. A scenario that fails after it ran on a broken machine: `run`
# boots a fresh one and runs it once more, a session reboots (docs/lab.md).
# Only dom0's own kernel lines count (at the start of a serial line, with
# printk's time stamp): a guest's messages relayed in a command's output
# carry the "|" prefix.
MACHINE_FAULT = re.compile(r"(?m:^\[\s*\d+\.\d+\] (?P<line>watchdog: Watchdog detected hard LOCKUP on cpu \d+|"
                           r"rcu: \s*Possible timer handling issue on cpu=\d+))")
# Console lines that mean the boot is lost: stop at once instead of timing out.
FATAL = re.compile(r"HOTMEM-DOM0-FAILED.*|Kernel panic - not syncing.*|"
                   r"\(XEN\) Panic on CPU.*|\(XEN\) Could not set up DOM0.*|" + MACHINE_FAULT.pattern)
GUEST_LOG_DIR = "/var/log/xen/console"
QUIT_KEY = b"\x1c"  # Ctrl-\ ends `lab.py shell` (Ctrl-] is xl console's escape)

PR_SET_PDEATHSIG = 1


class LabError(Exception):
    """The lab did something unexpected (a failed step, a dead QEMU)."""


class LabTimeout(LabError):
    """A wait for a console event ran out of time."""


class MachineFault(LabError):
    """dom0 printed a MACHINE_FAULT line: the machine, not hotmem, broke."""


class Skip(Exception):
    """qemu-system-aarch64 is missing: the lab cannot run at all (exit 77).
    The only skip there is: a scenario whose image lacks something fails."""


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Console: a reader thread on QEMU's serial output; waits are on its events.


class Console:
    """Collects one output stream (decoded, CR stripped) into memory and a
    raw log file; wait() blocks on a condition until a regex appears."""

    def __init__(self, name, fd, log_path):
        self.name = name
        self.text = ""
        self.eof = False
        self.echo = None  # a binary file to copy raw output to (lab.py shell)
        self._fd = fd
        self._log = open(log_path, "wb")
        self._cond = threading.Condition()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._thread = threading.Thread(target=self._reader, name=f"console-{name}",
                                        daemon=True)
        self._thread.start()

    def _reader(self):
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                data = b""
            if data:
                self._log.write(data)
                self._log.flush()
                if self.echo is not None:
                    self.echo.write(data)
                    self.echo.flush()
            text = self._decoder.decode(data, final=not data)
            with self._cond:
                self.text += text.replace("\r\n", "\n").replace("\r", "")
                if not data:
                    self.eof = True
                self._cond.notify_all()
            if not data:
                self._log.close()
                return

    def mark(self):
        """Position to search from for output that comes after this call."""
        with self._cond:
            return len(self.text)

    def wait(self, regex, timeout, since=0, what=None, fatal=FATAL):
        """Wait until REGEX matches the output after SINCE; return the match.
        Raises LabError on a FATAL line or end of output, LabTimeout after
        TIMEOUT seconds."""
        pattern = re.compile(regex) if isinstance(regex, str) else regex
        what = what or f"/{pattern.pattern}/"
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = pattern.search(self.text, since)
                if m:
                    return m
                if fatal is not None:
                    f = fatal.search(self.text, since)
                    if f:
                        raise LabError(f"{self.name}: {f.group(0).strip()} (while waiting for {what})")
                if self.eof:
                    raise LabError(f"{self.name}: output ended (QEMU exited) while waiting for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabTimeout(f"{self.name}: timed out after {timeout:.0f} s waiting for {what}")
                self._cond.wait(left)

    def tail(self, n=50):
        with self._cond:
            return self.text.splitlines()[-n:]


# --------------------------------------------------------------------------
# QEMU process ownership.

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIVE = set()  # Lab objects whose QEMU may run; killed on exit and on signals


def _child_setup(parent_pid):
    """preexec_fn: die with the harness even if it is SIGKILLed."""

    def setup():
        if _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent_pid:  # the harness died before prctl
            os._exit(126)

    return setup


def _kill_all():
    for lab in list(_LIVE):
        lab.kill()


def _on_signal(signum, frame):
    log(f"caught {signal.Signals(signum).name}: killing QEMU")
    _kill_all()
    raise SystemExit(128 + signum)


def install_cleanup():
    atexit.register(_kill_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)


# --------------------------------------------------------------------------
# The lab.


class Result:
    """What a command printed (stdout and stderr merged) and its exit code."""

    def __init__(self, rc, out):
        self.rc = rc
        self.out = out

    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out!r})"


def read_env(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


class Lab:
    """One QEMU running Xen + dom0 (+ domUs), driven through dom0's console."""

    def __init__(self, cache, log_dir, boot_timeout=300, verbose=False):
        self.cache = Path(cache)
        self.log_dir = Path(log_dir)
        self.boot_timeout = boot_timeout
        self.verbose = verbose
        self.images = self._load_images()
        self.proc = None
        self.serial = None
        self.agent = False
        self.results = []
        self.timings = {}
        self.state = {}  # what scenarios sharing one session pass on to each other
        self.rerun_after = None  # the MACHINE_FAULT line that made this run a rerun
        self._fault = None  # the first MACHINE_FAULT line seen (machine_fault())
        self._fault_scanned = 0  # serial text searched for it so far
        self._seq = 0
        self._t0 = None
        self._qemu_err = None

    # -- images and QEMU

    def _load_images(self):
        env_file = self.cache / "images" / "images.env"
        if not env_file.is_file():
            raise LabError(f"{env_file} missing: run tests/lab/fetch.sh and tests/lab/mkimages.sh")
        images = read_env(env_file)
        for key in ("XEN", "KERNEL", "DOM0_INITRD"):
            if not Path(images.get(key, "")).is_file():
                raise LabError(f"{key}={images.get(key)} from {env_file} is missing: rerun mkimages.sh")
        kernel_end = DOM0_KERNEL_ADDR + Path(images["KERNEL"]).stat().st_size
        initrd_end = DOM0_INITRD_ADDR + Path(images["DOM0_INITRD"]).stat().st_size
        if kernel_end > DOM0_INITRD_ADDR:
            raise LabError(f"dom0 kernel ends at {kernel_end:#x}, over the initramfs at {DOM0_INITRD_ADDR:#x}")
        if initrd_end > RAM_BASE + RAM_SIZE:
            raise LabError(f"dom0 initramfs ends at {initrd_end:#x}, past the end of RAM")
        assert not (DOM0_KERNEL_ADDR <= QEMU_DTB < kernel_end)
        return images

    def qemu_argv(self):
        return [
            QEMU, "-machine", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a57",
            "-smp", "2", "-m", f"{RAM_SIZE >> 20}M", "-accel", "tcg,thread=multi",
            "-display", "none", "-monitor", "none", "-no-reboot", "-nic", "none",
            "-kernel", self.images["XEN"], "-append", XEN_CMDLINE,
            "-device", f"guest-loader,addr={DOM0_KERNEL_ADDR:#x},kernel={self.images['KERNEL']},"
                       f"bootargs={DOM0_CMDLINE}",
            "-device", f"guest-loader,addr={DOM0_INITRD_ADDR:#x},initrd={self.images['DOM0_INITRD']}",
            "-chardev", "stdio,id=serial0,signal=off", "-serial", "chardev:serial0",
        ]

    def boot(self):
        """Start QEMU and wait for dom0's ready marker."""
        if shutil.which(QEMU) is None:
            raise Skip(f"{QEMU} not found (apt-get install qemu-system-arm)")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        argv = self.qemu_argv()
        (self.log_dir / "qemu.cmdline").write_text(" ".join(argv) + "\n")
        self._qemu_err = open(self.log_dir / "qemu.stderr", "wb")
        log(f"booting Xen + dom0 (logs in {self.log_dir})")
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._qemu_err, start_new_session=True,
                                     preexec_fn=_child_setup(os.getpid()))
        _LIVE.add(self)
        self.serial = Console("serial", self.proc.stdout.fileno(), self.log_dir / "serial.log")
        if self.verbose:
            self.serial.echo = sys.stderr.buffer
        m = self.serial.wait(DOM0_READY, self.boot_timeout, what="HOTMEM-DOM0-READY")
        self.timings["boot_s"] = time.monotonic() - self._t0
        log(f"dom0 ready after {self.timings['boot_s']:.1f} s (kernel {m.group(1)}, Xen {m.group(2)})")

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise LabError(f"cannot write to the serial console (QEMU gone?): {e}") from e

    def kill(self):
        """Kill QEMU's process group (idempotent)."""
        _LIVE.discard(self)
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        if self.proc is not None:
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        if self._qemu_err:
            self._qemu_err.close()
            self._qemu_err = None

    # -- commands

    def _start_agent(self):
        token = secrets.token_hex(4)
        since = self.serial.mark()
        self.write(f"exec /sbin/hotmem-agent {token}\n")
        self.serial.wait(f"HOTMEM-AGENT-READY {token}", 30, since, what="dom0 agent")
        self.agent = True

    def machine_fault(self):
        """The first MACHINE_FAULT line dom0 printed since this boot, or None.
        Called before every dom0 command: each call searches only from the
        start of the last line the previous one saw (it may have been cut)."""
        if self._fault is None and self.serial is not None:
            with self.serial._cond:
                text = self.serial.text
            m = MACHINE_FAULT.search(text, text.rfind("\n", 0, self._fault_scanned) + 1)
            self._fault_scanned = len(text)
            self._fault = m.group("line") if m else None
        return self._fault

    def dom0(self, script, timeout=60, check=True, on_fault=False):
        """Run SCRIPT (sh) in dom0; return a Result. With CHECK, a non-zero
        exit raises LabError. On timeout the command is interrupted (^C).
        On a machine that faulted (MACHINE_FAULT) it raises MachineFault
        at once, unless ON_FAULT (what the failure dump still reads)."""
        fault = None if on_fault else self.machine_fault()
        if fault:
            raise MachineFault(f"dom0 faulted earlier ({fault}); not running {short(script)}")
        if not self.agent:
            self._start_agent()
        self._seq += 1
        cid = f"c{self._seq}x{secrets.token_hex(2)}"
        b64 = base64.b64encode(script.encode()).decode()
        lines = [f"B {cid}"] + [b64[i:i + 76] for i in range(0, len(b64), 76)] + [f"E {cid}"]
        since = self.serial.mark()
        # One short line at a time, each acknowledged: Xen buffers only 128
        # bytes of serial input for dom0.
        for n, line in enumerate(lines):
            self.write(line + "\n")
            self.serial.wait(rf"HOTMEM-ACK {cid} {n}\b", 30, since, what=f"agent ack {n} of {cid}")
        end = re.compile(rf"HOTMEM-END {cid} rc=(\d+)")
        try:
            m = self.serial.wait(end, timeout, since, what=f"end of dom0 command {short(script)}")
        except LabTimeout:
            self.write(b"\x03")  # SIGINT to the command; the agent traps it
            try:
                self.serial.wait(end, 15, since, what="interrupted command")
            except LabError:
                self.agent = False
            raise
        begin = self.serial.wait(rf"HOTMEM-BEGIN {cid}\n", 1, since)
        # Output lines carry a "|" prefix; anything else (Xen's "(XEN)" lines,
        # kernel messages) just shares the serial line.
        out = "".join(l[1:] for l in self.serial.text[begin.end():m.start()].splitlines(keepends=True)
                      if l.startswith("|"))
        res = Result(int(m.group(1)), out)
        if self.verbose:
            log(f"dom0$ {short(script)} -> rc={res.rc}")
        if check and res.rc != 0:
            raise LabError(f"dom0 command failed (rc={res.rc}): {short(script)}\n{out.rstrip()}")
        return res

    def domu(self, script, name="guest", timeout=60, check=True):
        """Run SCRIPT in domU NAME (through dom0's hotmem-guest); Result.
        rc 124/125 may also mean hotmem-guest timed out / found no guest."""
        self._seq += 1
        cid = f"g{self._seq}x{secrets.token_hex(2)}"
        b64 = base64.b64encode(script.encode()).decode()
        body = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
        res = self.dom0(f"hotmem-guest run {name} {cid} {int(timeout)} <<'HOTMEM_EOF'\n{body}\nHOTMEM_EOF\n",
                        timeout=timeout + 30, check=False)
        last = res.out.rstrip("\n").rsplit("\n", 1)[-1]
        if res.rc in (124, 125) and last.startswith("hotmem-guest: "):
            raise (LabTimeout if res.rc == 124 else LabError)(f"{name}: {last}")
        if self.verbose:
            log(f"{name}$ {short(script)} -> rc={res.rc}")
        if check and res.rc != 0:
            raise LabError(f"{name} command failed (rc={res.rc}): {short(script)}\n{res.out.rstrip()}")
        return res

    def create_domu(self, cfg="/etc/xen/guest.cfg", name="guest", timeout=180):
        """xl create CFG and wait for the guest's HOTMEM-DOMU-READY line."""
        t = time.monotonic()
        # A re-created guest appends to its old log: move that out of the way
        # so the ready line we wait for is this boot's.
        log_file = f"{GUEST_LOG_DIR}/guest-{name}.log"
        self.dom0(f"[ ! -f {log_file} ] || mv {log_file} {log_file}.old; xl create {cfg}", timeout=120)
        res = self.dom0(f"hotmem-guest wait {name} HOTMEM-DOMU-READY {int(timeout)} && "
                        f"grep -m1 HOTMEM-DOMU-READY {log_file}",
                        timeout=timeout + 30, check=False)
        if res.rc != 0:
            raise LabTimeout(f"domU {name} did not print HOTMEM-DOMU-READY within {timeout} s: {res.out.strip()}")
        self.timings[f"create_{name}_s"] = time.monotonic() - t
        log(f"domU {name} ready after {self.timings[f'create_{name}_s']:.1f} s: {res.out.strip()}")
        return res.out.strip()

    def report(self, **kv):
        """Print one machine-readable result line: HOTMEM key=value ..."""
        line = "HOTMEM " + " ".join(f"{k}={fmt(v)}" for k, v in kv.items())
        self.results.append(line)
        print(line, flush=True)

    def poweroff(self, timeout=60):
        """Power the machine off from dom0 and wait for QEMU to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            if self.agent:
                self.dom0("(sleep 0.2; poweroff -f) >/dev/null 2>&1 &", timeout=20)
            else:
                self.write("\npoweroff -f\n")
            self.proc.wait(timeout=timeout)
            log("powered off")
        except (LabError, subprocess.TimeoutExpired) as e:
            log(f"poweroff did not finish ({e}); killing QEMU")
        finally:
            self.kill()

    # -- parsed views (for scenarios)

    def xl_info(self):
        """`xl info` as a dict of strings."""
        return parse_colon_kv(self.dom0("xl info").out)

    def xl_list(self):
        """`xl list` as {name: {"id", "mem", "vcpus", "state"}} (mem in MiB)."""
        return parse_xl_list(self.dom0("xl list").out)

    def meminfo(self, name=None):
        """/proc/meminfo of dom0 (NAME None) or of domU NAME, values in kB."""
        script = "cat /proc/meminfo"
        out = self.dom0(script).out if name is None else self.domu(script, name).out
        return {k: int(v.split()[0]) for k, v in parse_colon_kv(out).items()}

    # -- diagnostics

    def save_guest_logs(self):
        """Copy dom0's guest console logs into the log folder."""
        res = self.dom0(f"for f in {GUEST_LOG_DIR}/*.log; do [ -f \"$f\" ] && "
                        f"echo \"==> $f <==\" && cat \"$f\"; done; true", timeout=30, check=False,
                        on_fault=True)
        (self.log_dir / "guest-consoles.log").write_text(res.out)

    def xen_view_of_fault(self):
        """What Xen says about a faulted machine, into the serial log: the
        serial input switched to Xen (CTRL-a three times), debug keys 'r'
        (each pCPU's run queue and current vCPU: is the dead vCPU blocked,
        runnable or running?), 'd' (each pCPU's registers: where Xen is)
        and '0' (dom0's vCPUs' registers), then the input back to dom0. 'd'
        waits for every pCPU and '0' pauses every dom0 vCPU, so one stuck
        inside Xen hangs them: they go last. The machine is killed afterwards
        anyway; this is for whoever hunts the fault. Unless the input is
        back on dom0, the agent is taken as gone (no more dom0 commands:
        their lines would reach Xen as debug keys)."""
        alive = self.proc is not None and self.proc.poll() is None
        if not alive or self.serial is None:
            return
        since = self.serial.mark()
        keys = (("r", r"\(XEN\) CPUs info:"), ("d", r"'d' pressed"), ("0", r"'0' pressed"))
        try:
            self.write(b"\x01\x01\x01")
            self.serial.wait(r"\*\*\* Serial input to Xen", 10, since, what="serial input to Xen", fatal=None)
            for key, header in keys:
                self.write(key)
                self.serial.wait(header, 10, since, what=f"Xen's dump for '{key}'", fatal=None)
                time.sleep(2)
            print(f"==== Xen's run queues, pCPUs and dom0's vCPUs ('r', 'd', '0') are in "
                  f"{self.log_dir}/serial.log", file=sys.stderr)
        except LabError as e:
            print(f"==== Xen's view of the fault: incomplete ({e})", file=sys.stderr)
        try:
            back = self.serial.mark()
            self.write(b"\x01\x01\x01")
            self.serial.wait(r"\*\*\* Serial input to DOM0", 10, back, what="serial input to dom0", fatal=None)
        except LabError:
            self.agent = False

    def dump(self, reason):
        """Print the last 50 lines of every console."""
        out = sys.stderr
        print(f"\n==== lab failure: {reason}", file=out)
        fault = self.machine_fault()
        if fault:
            print(f"==== the machine faulted before this: dom0 printed \"{fault}\" (MACHINE_FAULT in "
                  f"lab.py: a dom0 vCPU stopped taking interrupts; Xen 4.17 under QEMU TCG)", file=out)
            self.xen_view_of_fault()
        if self.serial:
            print("==== last 50 lines of the serial console (Xen + dom0):", file=out)
            for line in self.serial.tail(50):
                print(f"  | {line}", file=out)
        alive = self.proc is not None and self.proc.poll() is None
        if alive and self.agent:
            try:
                res = self.dom0(f"for f in {GUEST_LOG_DIR}/*.log; do [ -f \"$f\" ] || continue; "
                                f"echo \"==== last 50 lines of $f:\"; tail -n 50 \"$f\"; done; "
                                f"echo '==== xl list:'; xl list; echo '==== last 20 lines of xl dmesg:'; "
                                f"xl dmesg | tail -n 20", timeout=30, check=False, on_fault=True)
                for line in res.out.splitlines():
                    print(line if line.startswith("====") else f"  | {line}", file=out)
            except LabError as e:
                print(f"==== domU console logs: dom0 does not answer ({e})", file=out)
        else:
            print("==== domU console logs: unavailable (dom0 agent not running)", file=out)
        try:
            err = (self.log_dir / "qemu.stderr").read_text(errors="replace").splitlines()[-50:]
        except OSError:
            err = []
        if err:
            print("==== last lines of QEMU's stderr:", file=out)
            for line in err:
                print(f"  | {line}", file=out)
        print(f"==== full logs: {self.log_dir}", file=out, flush=True)


def parse_colon_kv(text):
    """Lines "key : value" (xl info) or "Key: value kB" (/proc/meminfo)."""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def parse_xl_list(text):
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1].isdigit():
            rows[f[0]] = {"id": int(f[1]), "mem": int(f[2]), "vcpus": int(f[3]), "state": f[4]}
    return rows


def show(title, text):
    """Print a titled block for humans (demo output)."""
    print(f"---- {title}", flush=False)
    for line in text.rstrip("\n").splitlines():
        print(f"     {line}")
    sys.stdout.flush()


def short(script, n=70):
    s = " ".join(script.split())
    return s if len(s) <= n else s[:n - 3] + "..."


def fmt(v):
    if isinstance(v, float):
        v = f"{v:.2f}"
    s = str(v)
    return s if s and not re.search(r"\s", s) else '"' + s.replace('"', "'") + '"'


# --------------------------------------------------------------------------
# Scenarios: functions taking a booted Lab, registered by name.

SCENARIOS = {}


def scenario(name, help=""):
    """Decorator: register FUNC(lab) as scenario NAME. It may raise
    AssertionError/LabError (fail); a Skip it raises counts as a failure."""

    def register(func):
        SCENARIOS[name] = (func, help or (func.__doc__ or "").strip().splitlines()[0])
        return func

    return register


def check(cond, msg):
    """Assert for scenarios: fails the scenario with MSG."""
    if not cond:
        raise AssertionError(msg)


def load_scenarios():
    # Scenario files do `from lab import scenario`: make that this module.
    sys.modules.setdefault("lab", sys.modules[__name__])
    # Helpers scenario files import (scenarios/counters.py) are reloaded too,
    # so an edit takes effect in a running session like the scenarios do.
    for mod in [m for m in sys.modules if m == "scenarios" or m.startswith("scenarios.")]:
        del sys.modules[mod]
    for path in sorted((HERE / "scenarios").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"lab_scenarios.{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)


# --------------------------------------------------------------------------
# Commands.


def append_results(path, lines):
    """Append HOTMEM result LINES to the file PATH (--results), if any."""
    if path:
        with open(path, "a") as f:
            f.writelines(line + "\n" for line in lines)


def fault_tag(fault):
    """The result-line field for a MACHINE_FAULT line, if there was one."""
    return dict(machine_fault=fault) if fault else {}


def cmd_list(args):
    for name, (_, help) in sorted(SCENARIOS.items()):
        print(f"{name:16} {help}")
    return 0


def run_one(lab, name):
    """Run scenario NAME on the booted LAB: "pass" or "fail" (a
    failure prints the last lines of every console)."""
    func, _ = SCENARIOS[name]
    try:
        func(lab)
        return "pass"
    except (LabError, AssertionError, Skip) as e:
        log(f"FAIL {name}: {e}")
        lab.dump(str(e).splitlines()[0] if str(e) else type(e).__name__)
        return "fail"


def cmd_run(args):
    if args.scenario not in SCENARIOS:
        log(f"no scenario named {args.scenario!r}; try: lab.py list")
        return 2
    log_dir = Path(args.log_dir or Path(args.cache) / "runs" / args.scenario)
    status, fault = run_attempt(args, log_dir)
    if status == "fail" and fault:
        # The machine broke, not hotmem (MACHINE_FAULT): once more on a fresh
        # boot, which must pass on its own. Both runs are in the results.
        log(f"{args.scenario} failed on a machine that faulted ({fault}); running it once more on a "
            f"fresh boot (logs in {log_dir / 'rerun'})")
        status, fault = run_attempt(args, log_dir / "rerun", rerun_after=fault)
    return {"pass": 0, "skip": SKIP}.get(status, 1)


def run_attempt(args, log_dir, rerun_after=None):
    """Boot, run the scenario, power off: (status, the MACHINE_FAULT line
    dom0 printed or None). RERUN_AFTER: the fault that made this a rerun."""
    t0 = time.monotonic()
    lab = None
    status = "fail"
    fault = None
    try:
        lab = Lab(args.cache, log_dir, args.boot_timeout, args.verbose)
        lab.rerun_after = rerun_after
        lab.boot()
        status = run_one(lab, args.scenario)
    except Skip as e:
        log(f"SKIP {args.scenario}: {e}")
        status = "skip"
    except LabError as e:
        log(f"FAIL {args.scenario}: {e}")
        if lab:
            lab.dump(str(e).splitlines()[0] if str(e) else type(e).__name__)
    finally:
        if lab:
            fault = lab.machine_fault()
            alive = lab.proc is not None and lab.proc.poll() is None
            if alive and lab.agent:
                try:
                    lab.save_guest_logs()
                except LabError:
                    pass
            if alive and args.shell:
                interactive(lab)
            elif alive and status != "fail":
                lab.poweroff()
            lab.close()  # a failed lab is killed, not powered off
            lab.timings["total_s"] = time.monotonic() - t0
            extra = fault_tag(fault)
            if rerun_after:
                extra["rerun_after"] = rerun_after
            lab.report(scenario=args.scenario, status=status, **lab.timings, **extra)
            append_results(args.results, lab.results)
    return status, fault


# --------------------------------------------------------------------------
# Sessions: one boot shared by several ctest tests. `session start` forks a
# server that boots the machine, runs the setup scenario, then serves requests
# on a unix socket: "run SCENARIO" (output streamed back, last line
# HOTMEM-SESSION-RC <n>) and "stop" (power off). The start command relays the
# server's output until the machine is ready and exits with the setup's code.
# The server (and with it QEMU, through PR_SET_PDEATHSIG) goes away when the
# owner process (ctest: the start command's parent) dies, after
# SESSION_IDLE_S seconds without a request, or after SESSION_MAX_S in all.

SESSION_IDLE_S = 900
SESSION_MAX_S = 3600
SESSION_RC = re.compile(r"HOTMEM-SESSION-RC (\d+)$")


def session_socket_path(path):
    """A unix socket path short enough for sun_path (108 bytes)."""
    path = str(Path(path).resolve())
    if len(path.encode()) < 100:
        return path
    import hashlib
    return f"/tmp/hotmem-lab-{hashlib.sha1(path.encode()).hexdigest()[:12]}.sock"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


class _Tolerant:
    """A text stream over a client socket that ignores a vanished client (the
    scenario goes on; its result still lands in the session log)."""

    def __init__(self, conn, log_file):
        self.conn = conn
        self.log_file = log_file

    def write(self, text):
        try:
            self.log_file.write(text)
            self.log_file.flush()
        except (OSError, ValueError):
            pass
        if self.conn is not None:
            try:
                self.conn.sendall(text.encode(errors="replace"))
            except OSError:
                self.conn = None
        return len(text)

    def flush(self):
        pass

    @property
    def buffer(self):  # Console echo (verbose) writes bytes
        return self


def session_start(args):
    import socket
    sock_path = session_socket_path(args.socket)
    if args.setup and args.setup not in SCENARIOS:
        log(f"no scenario named {args.setup!r}; try: lab.py list")
        return 2
    if os.path.exists(sock_path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(sock_path)
            log(f"a session already answers on {sock_path}")
            return 1
        except OSError:
            os.unlink(sock_path)  # left by a dead session
        finally:
            probe.close()
    owner = args.owner_pid or os.getppid()
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        rc = 1
        with os.fdopen(r, errors="replace") as f:
            for line in f:
                m = re.match(r"HOTMEM-SESSION-START rc=(\d+)", line)
                if m:
                    rc = int(m.group(1))
                else:
                    sys.stdout.write(line)
                    sys.stdout.flush()
        return rc
    # The server: its own session, output into the relay pipe until ready.
    os.close(r)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(w, 1)
    os.dup2(w, 2)
    os.close(w)
    os.close(devnull)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    rc = 1
    try:
        rc = session_serve(args, sock_path, owner)
    except BaseException as e:  # noqa: B036: the server must never return into main()
        log(f"session server: {type(e).__name__}: {e}")
    finally:
        _kill_all()
        try:
            os.unlink(sock_path)
        except OSError:
            pass
        os._exit(rc)


def session_serve(args, sock_path, owner):
    import json
    import socket
    log_dir = Path(args.log_dir or Path(args.cache) / "runs" / "session")
    t0 = time.monotonic()
    busy = [False, time.monotonic()]  # a request runs; when the last one ended
    lab = Lab(args.cache, log_dir, args.boot_timeout, args.verbose)

    def watchdog():
        while True:
            time.sleep(2)
            why = None
            if not pid_alive(owner):
                why = f"owner process {owner} is gone"
            elif not busy[0] and time.monotonic() - busy[1] > args.idle_timeout:
                why = f"no request for {args.idle_timeout:.0f} s"
            elif time.monotonic() - t0 > SESSION_MAX_S:
                why = f"session older than {SESSION_MAX_S} s"
            if why:
                log(f"session watchdog: {why}; killing QEMU")
                _kill_all()
                try:
                    os.unlink(sock_path)
                except OSError:
                    pass
                os._exit(1)

    threading.Thread(target=watchdog, daemon=True).start()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    srv.settimeout(1)
    status = session_boot(lab, args, "session boot")
    fault = lab.machine_fault()
    lab.report(scenario=args.setup or "session", status=status, **lab.timings, **fault_tag(fault))
    box = dict(lab=lab, reboots=0)  # session_reboot() replaces the machine
    if status == "fail" and fault:
        # As for a scenario (MACHINE_FAULT): once more on a fresh machine.
        append_results(args.results, lab.results)
        ok = session_reboot(box, args, log_dir, f"the setup failed on a machine that faulted ({fault})")
        lab = box["lab"]
        status = "pass" if ok else "fail"
    append_results(args.results, lab.results)
    rc = {"pass": 0, "skip": SKIP}.get(status, 1)
    print(f"HOTMEM-SESSION-START rc={rc}", flush=True)
    if rc != 0:
        return rc
    # Ready: from now on our own output goes to the session log.
    log_file = open(log_dir / "session.log", "a", buffering=1, errors="replace")
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    busy[1] = time.monotonic()
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        busy[0] = True
        try:
            conn.settimeout(30)
            req = json.loads(conn.makefile("r").readline() or "{}")
            conn.settimeout(None)
            if session_request(box, args, req, conn, log_file, log_dir):
                return 0
        except (OSError, ValueError) as e:
            log(f"session: bad request: {e}")
        finally:
            conn.close()
            busy[0] = False
            busy[1] = time.monotonic()


def session_boot(lab, args, what):
    """Boot the session's machine LAB and run the setup scenario on it:
    "pass", "fail" or "skip" (WHAT names the step in a failure)."""
    try:
        lab.boot()
        return run_one(lab, args.setup) if args.setup else "pass"
    except Skip as e:
        log(f"SKIP {what}: {e}")
        return "skip"
    except LabError as e:
        log(f"FAIL {what}: {e}")
        lab.dump(str(e).splitlines()[0])
        return "fail"


def session_reboot(box, args, log_dir, why):
    """Replace the session's machine after a MACHINE_FAULT: kill it, boot a
    fresh one (logs in LOG_DIR/reboot<N>), run the setup scenario again.
    What earlier scenarios left in lab.state went with the old machine; each
    scenario makes what it needs when it is missing (hotmem.need()). True
    when the new machine is ready."""
    box["reboots"] += 1
    n = box["reboots"]
    log(f"session: {why}; rebooting the machine (reboot {n}, logs in {log_dir / f'reboot{n}'})")
    box["lab"].close()
    lab = box["lab"] = Lab(args.cache, log_dir / f"reboot{n}", args.boot_timeout, args.verbose)
    status = session_boot(lab, args, "session reboot")
    lab.report(scenario=args.setup or "session", status=status, reboot=n, reboot_after=why, **lab.timings)
    return status == "pass"


def run_reported(lab, name, **tags):
    """run_one() on the session's machine and its result line (total_s, the
    MACHINE_FAULT line if dom0 printed one, TAGS): (status, fault)."""
    t = time.monotonic()
    lab.timings = {}
    status = run_one(lab, name)
    fault = lab.machine_fault()
    lab.report(scenario=name, status=status, total_s=time.monotonic() - t, **fault_tag(fault), **tags)
    return status, fault


def session_request(box, args, req, conn, log_file, log_dir):
    """Serve one request; True when the session is over."""
    out = _Tolerant(conn, log_file)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    rc = 1
    lab = box["lab"]
    try:
        alive = lab.proc is not None and lab.proc.poll() is None
        if req.get("cmd") == "stop":
            if alive:
                try:
                    lab.save_guest_logs()
                except LabError:
                    pass
                lab.poweroff()
            lab.close()
            rc = 0 if alive else 1
            if not alive:
                log("the session's QEMU was already gone")
            return True
        name = req.get("run", "")
        load_scenarios()  # edited scenario files take effect without a reboot
        if name not in SCENARIOS:
            log(f"no scenario named {name!r}")
            return False
        if not alive:
            log(f"FAIL {name}: the session's machine is gone (QEMU exited with {lab.proc.poll()}); "
                f"see {log_dir}")
            return False
        first = len(lab.results)
        status = "fail"
        try:
            # A machine that faulted after the last scenario ended is no
            # place for the next one (MACHINE_FAULT).
            fault = lab.machine_fault()
            if fault:
                ok = session_reboot(box, args, log_dir, f"dom0 faulted before {name} ({fault})")
                lab, first = box["lab"], 0
                if not ok:
                    return False
            status, fault = run_reported(lab, name)
            if status == "fail" and fault:
                # Not hotmem's failure: once more on a fresh machine, which
                # must pass on its own; both runs are in the results.
                append_results(req.get("results"), lab.results[first:])
                ok = session_reboot(box, args, log_dir, f"{name} failed on a machine that faulted ({fault})")
                lab, first = box["lab"], 0
                if not ok:
                    return False
                status, _ = run_reported(lab, name, rerun=1)
        finally:
            append_results(req.get("results"), lab.results[first:])
        rc = {"pass": 0, "skip": SKIP}.get(status, 1)
        return False
    finally:
        out.write(f"HOTMEM-SESSION-RC {rc}\n")
        sys.stdout, sys.stderr = saved


def session_client(args, req):
    import json
    import socket
    sock_path = session_socket_path(args.socket)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(sock_path)
    except OSError as e:
        if req.get("cmd") == "stop":
            log(f"no lab session on {sock_path} ({e}): nothing to stop")
            return 0
        log(f"no lab session on {sock_path} ({e}): did the session's start test pass?")
        return 1
    conn.sendall((json.dumps(req) + "\n").encode())
    rc = 1
    with conn.makefile("r", errors="replace") as f:
        for line in f:
            m = SESSION_RC.match(line.rstrip("\n"))
            if m:
                rc = int(m.group(1))
                break
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            log("the lab session hung up before answering (it died?)")
    conn.close()
    return rc


def cmd_session(args):
    if args.action == "start":
        return session_start(args)
    if args.action == "run":
        if not args.scenario:
            log("session run needs a SCENARIO")
            return 2
        return session_client(args, {"run": args.scenario,
                                     "results": str(Path(args.results).resolve()) if args.results else ""})
    return session_client(args, {"cmd": "stop"})


def interactive(lab):
    """Hand dom0's console to the terminal until Ctrl-] or QEMU exits."""
    import termios
    import tty
    if lab.agent:
        lab.write("Q\n")  # leave the agent for a shell
    print("\r\nlab: dom0 console; Ctrl-\\ quits (QEMU is killed); Ctrl-] leaves xl console\r\n", file=sys.stderr, flush=True)
    lab.serial.echo = sys.stdout.buffer
    lab.write("\n")
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd) if os.isatty(fd) else None
    try:
        if old:
            tty.setraw(fd)
        while lab.proc.poll() is None:
            data = os.read(fd, 1024)
            if not data or QUIT_KEY in data:
                data = data.split(QUIT_KEY)[0]
                if data:
                    lab.write(data)
                break
            lab.write(data)
    finally:
        if old:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        lab.serial.echo = None
    lab.kill()


def cmd_shell(args):
    log_dir = Path(args.log_dir or Path(args.cache) / "runs" / "shell")
    lab = Lab(args.cache, log_dir, args.boot_timeout, args.verbose)
    try:
        lab.boot()
        interactive(lab)
    except Skip as e:
        log(f"SKIP: {e}")
        return SKIP
    except LabError as e:
        log(f"FAIL: {e}")
        lab.dump(str(e))
        return 1
    finally:
        lab.close()
    return 0


def main(argv=None):
    install_cleanup()
    load_scenarios()
    default_cache = os.environ.get("HOTMEM_CACHE") or str(REPO / ".cache" / "lab")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", default=default_cache, help="lab cache (default: %(default)s)")
    common.add_argument("--log-dir", help="where to keep console logs (default: <cache>/runs/<scenario>)")
    common.add_argument("--boot-timeout", type=float, default=300,
                        help="seconds from QEMU start to dom0 ready (default: 300)")
    common.add_argument("-v", "--verbose", action="store_true", help="copy the serial console to stderr")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list scenarios").set_defaults(func=cmd_list)
    r = sub.add_parser("run", parents=[common], help="boot, run a scenario, power off")
    r.add_argument("scenario")
    r.add_argument("--results", help="append the HOTMEM lines to this file")
    r.add_argument("--shell", action="store_true", help="stay on dom0's console afterwards")
    r.set_defaults(func=cmd_run)
    se = sub.add_parser("session", parents=[common], help="one boot shared by several runs (see above)")
    se.add_argument("action", choices=("start", "run", "stop"))
    se.add_argument("socket", help="the session's unix socket")
    se.add_argument("scenario", nargs="?", help="run: the scenario")
    se.add_argument("--setup", help="start: scenario to run once booted (its failure fails the start)")
    se.add_argument("--results", help="append the HOTMEM lines to this file")
    se.add_argument("--owner-pid", type=int, help="start: end the session when this process dies "
                    "(default: the parent of lab.py, e.g. ctest)")
    se.add_argument("--idle-timeout", type=float, default=SESSION_IDLE_S,
                    help="start: end the session after this many seconds without a request (default: %(default)s)")
    se.set_defaults(func=cmd_session)
    sub.add_parser("shell", parents=[common],
                   help="boot and give dom0's console to the terminal").set_defaults(func=cmd_shell)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
