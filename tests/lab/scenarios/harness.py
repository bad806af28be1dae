"""Scenarios that test the harness itself (ctest lab.harness-rerun and
lab.harness-no-rerun): a scenario that fails after dom0 printed a
MACHINE_FAULT line runs once more on a fresh boot (lab.py run_attempt()),
and one that fails without such a line does not; the first run's failure
dump holds Xen's view of the fault. The fault is a kernel line
of the same text written to dom0's /dev/kmsg at KERN_EMERG (dom0-init sets
the console level to 4, so only levels 0-3 reach the serial line)."""

from lab import LabError, MachineFault, check, scenario

FAKE_FAULT = "watchdog: Watchdog detected hard LOCKUP on cpu 1"


@scenario("harness-rerun", "a failure after a dom0 fault line runs once more on a fresh boot, which passes")
def harness_rerun(lab):
    # The first run leaves this file only when its every check held.
    first_ok = (lab.log_dir.parent if lab.rerun_after else lab.log_dir) / "harness-first-run.ok"
    if lab.rerun_after:
        check(lab.rerun_after == FAKE_FAULT, f"rerun after {lab.rerun_after!r}, expected {FAKE_FAULT!r}")
        check(first_ok.is_file(), f"the first run failed before its end (no {first_ok})")
        # The failure dump of the first run asked Xen for its view
        # (Lab.xen_view_of_fault) and gave the serial input back to dom0.
        first_serial = (lab.log_dir.parent / "serial.log").read_text(errors="replace")
        after = first_serial[first_serial.find(FAKE_FAULT):]
        for what in ("Serial input to Xen", "(XEN) CPUs info:", "'d' pressed", "'0' pressed",
                     "Serial input to DOM0"):
            check(what in after, f"the first run's serial log has no {what!r} after the fault line")
        check(lab.machine_fault() is None, f"the fresh boot already shows a fault: {lab.machine_fault()}")
        lab.dom0("true")
        return
    first_ok.unlink(missing_ok=True)
    # The command that prints the line fails when the line shows (FATAL)...
    try:
        lab.dom0(f"echo '<0>{FAKE_FAULT}' > /dev/kmsg; sleep 2")
        failed = None
    except LabError as e:
        failed = e
    check(failed is not None and not isinstance(failed, MachineFault) and FAKE_FAULT in str(failed),
          f"the dom0 command that printed the fault line: {failed!r}, expected it to fail on that line")
    check(lab.machine_fault() == FAKE_FAULT, f"machine_fault() is {lab.machine_fault()!r}")
    # ...and the machine runs no further dom0 command.
    try:
        lab.dom0("true")
    except MachineFault:
        first_ok.write_text(f"{FAKE_FAULT}\n")
        raise AssertionError("injected fault: this first run fails on purpose; the rerun must pass")
    raise AssertionError("dom0 ran a command on a machine that faulted")


@scenario("harness-no-rerun", "a failure without a dom0 fault line is final (ctest expects it to fail)")
def harness_no_rerun(lab):
    lab.dom0("true")
    # A rerun of any kind passes, which turns this test's expected failure
    # into a failure of the test.
    check(lab.log_dir.name == "rerun", "plain failure: no fault line, so there must be no rerun")
