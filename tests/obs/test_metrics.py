#!/usr/bin/env python3
"""hotmem's metrics end to end on a simulated host (label sim).

Usage: test_metrics.py XL_HOTMEM HOTMEMD

Starts `hotmemd -F --hv sim` with a config whose [host] metrics-interval is
200 ms and metrics-path is in a temporary directory, grows a simulated
guest, has a shrink refused, sets the guest's stats, then checks:

- `xl-hotmem metrics` passes `promtool check metrics` (the parser and linter
  of node_exporter's and Prometheus's text format; Debian package
  `prometheus`); not finding promtool is a failure, not a skip;
- `xl-hotmem metrics --openmetrics` parses with prometheus_client's strict
  OpenMetrics parser (Debian package python3-prometheus-client);
- every per-domain and host value against what `xl-hotmem --json info` and
  `list` report (granted bytes and blocks, tot/max, guest stats, state);
- the operation counters: one grow ok with the granted bytes, one shrink
  refused, their duration histograms consistent;
- the file hotmemd writes: it appears, parses the same way, shows the grow,
  and no temporary file is left beside it;
- without a daemon, an in-process `xl-hotmem --hv sim metrics` also passes.
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clicheck import check, exit_code  # noqa: E402

MIB = 1 << 20
TIMEOUT = 30.0

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} from Prometheus text (our own output)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def get(samples, name, **labels):
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())))


def promtool():
    return shutil.which("promtool") or (
        "/usr/bin/promtool" if os.path.exists("/usr/bin/promtool") else None)


def promtool_check(text, what):
    tool = promtool()
    if not check(tool is not None, "promtool found (apt-get install prometheus)"):
        return
    p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
          "promtool check metrics: %s (rc %d %s%s)" % (what, p.returncode, p.stdout.strip(),
                                                      p.stderr.strip()))


OM_CHECK = """
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(sys.stdin.read()))
print(len(fams))
"""


def openmetrics_check(text, what):
    """Strict OpenMetrics parse; the system python has python3-prometheus-client."""
    for py in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(py):
            continue
        p = subprocess.run([py, "-c", OM_CHECK], input=text, capture_output=True, text=True,
                           timeout=60)
        if "No module named" in p.stderr:
            continue
        check(p.returncode == 0 and int(p.stdout.strip() or 0) > 20,
              "OpenMetrics parser: %s (%s%s)" % (what, p.stdout.strip(), p.stderr.strip()[-300:]))
        return
    check(False, "prometheus_client found (apt-get install python3-prometheus-client)")


class Hotmem:
    def __init__(self, xl, sock):
        self.xl, self.sock = xl, sock

    def run(self, *args):
        env = dict(os.environ)
        env.pop("HOTMEM_SOCKET", None)
        return subprocess.run([self.xl, "--hv", "sim", "--socket", self.sock] + list(args),
                              capture_output=True, text=True, timeout=TIMEOUT, env=env)

    def json(self, *args):
        p = self.run(*args, "--json")
        if p.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(args), p.stderr))
        return json.loads(p.stdout)


def wait_for(cond, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return None


def check_domain(samples, dom, info, what):
    labels = {"domid": dom["domid"], "domain": dom["name"]}
    for metric, key in (("hotmem_domain_granted_bytes", "granted_bytes"),
                        ("hotmem_domain_granted_blocks", "granted_blocks"),
                        ("hotmem_domain_xen_tot_bytes", "tot_bytes"),
                        ("hotmem_domain_xen_max_bytes", "max_mem_bytes"),
                        ("hotmem_domain_max_bytes", "max_bytes"),
                        ("hotmem_domain_block_size_bytes", "block_size")):
        check(get(samples, metric, **labels) == info[key],
              "%s: %s = %s (json %s %s)" % (what, metric, get(samples, metric, **labels), key,
                                           info[key]))
    stats = info["guest"]["stats"]
    check(get(samples, "hotmem_domain_guest_memtotal_bytes", **labels) == stats["memtotal_bytes"],
          "%s: guest MemTotal as json" % what)
    check(get(samples, "hotmem_domain_guest_memavailable_bytes", **labels)
          == stats["memavail_bytes"], "%s: guest MemAvailable as json" % what)
    check(abs(get(samples, "hotmem_domain_guest_psi_some_ratio", **labels)
              - stats["psi_some_avg10"] / 10000.0) < 1e-9, "%s: PSI some as json" % what)
    check(abs(get(samples, "hotmem_domain_guest_psi_full_ratio", **labels)
              - stats["psi_full_avg10"] / 10000.0) < 1e-9, "%s: PSI full as json" % what)
    # The swap figure only from a guest that published one (stats-swap).
    check(get(samples, "hotmem_domain_guest_swapped_bytes", **labels) == stats.get("swapped_bytes"),
          "%s: swapped %s as json %s" % (what, get(samples, "hotmem_domain_guest_swapped_bytes",
                                                     **labels), stats.get("swapped_bytes")))
    state = info["guest"]["state"]
    check(get(samples, "hotmem_domain_guest_state", hotmem_domain_guest_state=state, **labels)
          == 1, "%s: guest state %s is 1" % (what, state))
    check(sum(v for (n, l), v in samples.items() if n == "hotmem_domain_guest_state"
              and ("domid", str(dom["domid"])) in l) == 1,
          "%s: exactly one guest state is 1" % what)
    for metric, key in (("hotmem_domain_requests_outstanding", "outstanding"),
                        ("hotmem_domain_violation", "violation"),
                        ("hotmem_domain_busy", "busy")):
        check(get(samples, metric, **labels) == int(info[key]), "%s: %s" % (what, metric))


def check_ops(samples, granted, what):
    check(get(samples, "hotmem_operations_total", kind="grow", result="ok") == 1,
          "%s: one grow ok" % what)
    check(get(samples, "hotmem_operation_bytes_total", kind="grow", result="ok") == granted,
          "%s: grow bytes = granted %d" % (what, granted))
    check(get(samples, "hotmem_operations_total", kind="shrink", result="refused") == 1,
          "%s: one shrink refused" % what)
    check(get(samples, "hotmem_operation_duration_seconds_count", kind="grow", result="ok") == 1
          and get(samples, "hotmem_operation_duration_seconds_bucket", kind="grow", result="ok",
                  le="+Inf") == 1, "%s: grow duration histogram counts it" % what)
    buckets = sorted((float(dict(l)["le"]), v) for (n, l), v in samples.items()
                     if n == "hotmem_operation_duration_seconds_bucket"
                     and ("kind", "grow") in l and ("result", "ok") in l)
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
          "%s: buckets are cumulative" % what)


def main():
    xl, hotmemd = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="hotmem-metrics-")
    sock = os.path.join(tmp, "hotmemd.sock")
    prom = os.path.join(tmp, "textfile", "hotmem.prom")
    os.mkdir(os.path.dirname(prom))
    conf = os.path.join(tmp, "hotmem.conf")
    with open(conf, "w") as f:
        f.write("[host]\nmetrics-interval = 200ms\nmetrics-path = %s\n\n"
                "[domain *]\nmode = manual\n" % prom)
    hm = Hotmem(xl, sock)
    log = open(os.path.join(tmp, "hotmemd.log"), "w+")
    d = subprocess.Popen([hotmemd, "-F", "--hv", "sim", "--socket", sock, "--config", conf,
                          "--sim-domain", "web:512m", "--sim-domain", "db:1g"],
                         stdout=subprocess.DEVNULL, stderr=log)
    try:
        # the socket appears once hotmemd serves (an xl-hotmem before that
        # would run its own engine in-process)
        check(wait_for(lambda: os.path.exists(sock)) is not None, "hotmemd serves")
        r = hm.json("grow", "web", "256m")
        granted = r["granted_bytes"]
        check(granted >= 256 * MIB, "grow web 256m granted %d" % granted)
        p = hm.run("shrink", "db", "128m")
        check(p.returncode == 1, "shrink db refused (never attached)")
        hm.json("sim-guest", "web", "ws=200m", "psi=12.5", "psi-full=2")
        # the guest publishes its stats on its own clock: wait for them to show
        info = wait_for(lambda: (lambda i: i if i.get("guest", {}).get("stats", {})
                                 .get("psi_some_avg10") == 1250 else None)(hm.json("info", "web")))
        check(info is not None, "web's stats show the load")

        p = hm.run("metrics")
        check(p.returncode == 0 and p.stdout.endswith("# EOF\n"), "metrics ends with # EOF")
        text = p.stdout
        promtool_check(text, "hotmemd's reply")
        om = hm.run("metrics", "--openmetrics")
        openmetrics_check(om.stdout, "hotmemd's --openmetrics reply")
        samples = parse(text)
        # read the json after the metrics: nothing moves in between but the guest's stats
        info = hm.json("info", "web")
        lst = hm.json("list")
        web = next(x for x in lst["domains"] if x["name"] == "web")
        check_domain(samples, web, info, "web")
        db = next(x for x in lst["domains"] if x["name"] == "db")
        check(get(samples, "hotmem_domain_attached", domid=db["domid"], domain="db") == 0
              and get(samples, "hotmem_domain_xen_tot_bytes", domid=db["domid"], domain="db")
              == db["tot_bytes"], "db: not attached, tot as json")
        check(get(samples, "hotmem_domains_attached") == 1, "one domain attached")
        check_ops(samples, granted, "reply")
        free = get(samples, "hotmem_host_free_bytes")
        reserve = get(samples, "hotmem_host_reserve_bytes")
        check(reserve == 256 * MIB, "reserve is the config's 256 MiB")
        check(get(samples, "hotmem_host_headroom_bytes")
              == free - reserve - get(samples, "hotmem_host_promised_bytes"),
              "headroom = free - reserve - promised")

        # the file: written within an interval after the grow, atomically
        def file_with_grow():
            try:
                t = open(prom).read()
            except FileNotFoundError:
                return None
            s = parse(t)
            return t if get(s, "hotmem_operations_total", kind="grow", result="ok") == 1 else None
        ftext = wait_for(file_with_grow, 5)
        check(ftext is not None, "hotmemd wrote %s with the grow" % prom)
        if ftext:
            promtool_check(ftext, "the file")
            fs = parse(ftext)
            check(get(fs, "hotmem_domain_granted_bytes", domid=web["domid"], domain="web")
                  == granted, "the file: web's granted bytes")
            check_ops(fs, granted, "the file")
        check(sorted(os.listdir(os.path.dirname(prom))) == ["hotmem.prom"],
              "no temporary file left: %s" % os.listdir(os.path.dirname(prom)))
    finally:
        d.terminate()
        d.wait(timeout=TIMEOUT)
    log.seek(0)
    check(d.returncode == 0, "hotmemd exit 0 (%s)" % log.read()[-400:])

    # no daemon: the CLI runs the engine in-process on its own simulated host
    p = hm.run("metrics")
    check(p.returncode == 0, "in-process metrics")
    promtool_check(p.stdout, "in-process")
    s = parse(p.stdout)
    info = [dict(l) for n, l in s if n == "hotmem_build_info"]
    check(len(info) == 1 and info[0].get("backend") == "sim"
          and re.match(r"^\d+\.\d+\.\d+$", info[0].get("version", "")),
          "build info: %s" % info)
    check(get(s, "hotmem_operations_total", kind="grow", result="ok") == 0,
          "in-process: no operation counted")

    # a name with a quote and a backslash (xl takes them) is escaped, not broken
    p = subprocess.run([xl, "--hv", "sim", "--sim-domain", 'we"b\\x:256m', "metrics"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    promtool_check(p.stdout, "a domain named we\"b\\x")
    check(get(parse(p.stdout), "hotmem_domain_attached", domid=1, domain='we\\"b\\\\x') == 0,
          "the name escaped as we\\\"b\\\\x")
    shutil.rmtree(tmp, ignore_errors=True)
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
