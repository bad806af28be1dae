"""Scenario "metrics" (ctest lab.metrics, issue #15): hotmem's metrics on real
Xen. dom0 runs the arm64 hotmem package's hotmemd as its installed
hotmemd.service says (scenarios/unit.py: ExecStart=, the unit's capabilities
only, the packaged /etc/hotmem/hotmem.conf with its default metrics-path in
/var/lib/prometheus/node-exporter), and the running daemon's capabilities
must be exactly the unit's. The guest loads the image's xen_hotmem.ko (built
from the xen-hotmem-dkms package's source as DKMS builds it), and
`xl-hotmem grow guest 256m` goes through the daemon. Then `xl-hotmem metrics`
must pass `promtool check metrics` on the host, count the grow (one ok, its
bytes), show the granted bytes and blocks `xl-hotmem --json info` reports and
the tot/max pages Xen reports (`xl list`'s memory and the hypervisor's
counters through hotmem-lab-mem), and the file hotmemd writes must appear
with the grow in it."""

import json
import re
import shutil
import subprocess

from lab import LabError, check, scenario, show
from scenarios import unit

PROM = "/var/lib/prometheus/node-exporter/hotmem.prom"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    samples = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            samples[(m.group(1), frozenset(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return samples


def get(samples, name, **labels):
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())))


def promtool(text, what):
    tool = shutil.which("promtool")
    check(tool is not None, "promtool not found on the host (apt-get install prometheus)")
    p = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, f"promtool check metrics on {what}: {p.stdout}{p.stderr}")


@scenario("metrics", "packaged hotmemd as its unit starts it (caps checked); xl-hotmem metrics after a grow")
def metrics(lab):
    if lab.dom0("command -v hotmemd && command -v xl-hotmem", check=False).rc:
        raise LabError("dom0 image lacks hotmemd or xl-hotmem (the arm64 hotmem .deb: <cache>/pkg.log)")
    lab.create_domu()
    lab.domu("insmod /lib/modules/xen_hotmem.ko")
    lab.dom0("mkdir -p /var/lib/prometheus/node-exporter && rm -f " + PROM)
    unit.start(lab, "/var/log/hotmemd-metrics.log")
    try:
        caps = unit.check_caps(lab)
        lab.report(scenario="metrics", step="caps", **caps)
        grow = json.loads(lab.dom0("xl-hotmem grow --json guest 256m", timeout=300).out)
        text = lab.dom0("xl-hotmem metrics").out
        info = json.loads(lab.dom0("xl-hotmem info --json guest").out)
        # the file: rewritten every 15 s (the default metrics-interval)
        ftext = lab.dom0("t0=$(cut -d. -f1 /proc/uptime); until grep -q "
                         "'hotmem_operations_total{kind=\"grow\",result=\"ok\"} 1' " + PROM +
                         " 2>/dev/null; do [ $(cut -d. -f1 /proc/uptime) -ge $((t0 + 40)) ] && break; "
                         "sleep 1; done; cat " + PROM, timeout=90, check=False).out
    finally:
        log = lab.dom0("kill $(cat /run/hotmemd.pid); i=0; while [ $i -lt 100 ] && "
                       "kill -0 $(cat /run/hotmemd.pid) 2>/dev/null; do usleep 100000; i=$((i+1)); done; "
                       "cat /var/log/hotmemd-metrics.log", check=False).out
        show("hotmemd.service (log)", log)
    show("xl-hotmem metrics (hotmem_domain_* of the guest, operations)",
         "\n".join(l for l in text.splitlines()
                   if ('domain="guest"' in l or l.startswith("hotmem_operations_total")
                       or l.startswith("hotmem_host_")) and not l.startswith("#")))
    promtool(text, "xl-hotmem metrics")
    s = parse(text)
    labels = {"domid": info["domid"], "domain": "guest"}
    granted = info["granted_bytes"]
    check(granted == grow["granted_bytes"] and granted >= 256 << 20, f"granted {granted}")
    for metric, key in (("hotmem_domain_granted_bytes", "granted_bytes"),
                        ("hotmem_domain_granted_blocks", "granted_blocks"),
                        ("hotmem_domain_xen_max_bytes", "max_mem_bytes"),
                        ("hotmem_domain_block_size_bytes", "block_size")):
        check(get(s, metric, **labels) == info[key],
              f"{metric} {get(s, metric, **labels)} != info {key} {info[key]}")
    # tot_pages moves while the balloon fills: within one block of info's
    tot = get(s, "hotmem_domain_xen_tot_bytes", **labels)
    check(tot is not None and abs(tot - info["tot_bytes"]) <= info["block_size"],
          f"tot {tot} vs info {info['tot_bytes']}")
    check(get(s, "hotmem_operations_total", kind="grow", result="ok") == 1, "one grow ok counted")
    check(get(s, "hotmem_operation_bytes_total", kind="grow", result="ok") == granted,
          "grow bytes counted = granted")
    check(get(s, "hotmem_domain_guest_state", hotmem_domain_guest_state="ready", **labels) == 1,
          "guest driver ready")
    check(get(s, "hotmem_host_free_bytes") > 0, "host free bytes")
    check("# EOF" in ftext and "hotmem_operations_total{kind=\"grow\",result=\"ok\"} 1" in ftext,
          f"hotmemd wrote {PROM} with the grow")
    promtool(ftext[ftext.index("# HELP"):] if "# HELP" in ftext else ftext, PROM)
    lab.report(scenario="metrics", granted_bytes=granted,
               grow_seconds_sum=get(s, "hotmem_operation_duration_seconds_sum", kind="grow", result="ok"),
               metrics_lines=len(text.splitlines()))
