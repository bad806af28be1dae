"""Pass/fail bookkeeping shared by the sim end-to-end tests of xl-hotmem and
hotmemd (test_cli.py, test_autoscale.py): one "ok"/"FAIL" line per check, a
count of failures for the exit code, and the shape every refused command
must have (exit 1, exactly one line on stderr that names the program).
"""

failures = 0


def check(cond, what):
    """Print one line for the check and count it if it failed; return cond."""
    global failures
    if cond:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what)
    return cond


def one_line_failure(rc, err):
    return rc == 1 and err.count("\n") == 1 and err.startswith("xl-hotmem")


def exit_code():
    """Print the failure count; 1 if any check failed, else 0."""
    print("%d failure(s)" % failures)
    return 1 if failures else 0
