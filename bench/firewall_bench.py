"""Firewall cost at scale, in a throwaway namespace (no traffic; needs root and nft).

1,000 ports in one security group with 10 rules (8 ingress, 1 egress, 1 ingress from the
group itself, like bench/dataplane/gen_fw.py), then: a no-op apply, a remote-group member
joining (set element added over netlink; "element kernel work" is that change alone on the
warm socket) and a member leaving (element deleted, then conntrack dumped and pruned).
Usage: python bench/firewall_bench.py [PORTS]"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace

from neutrino.agent.firewall import Firewall, firewall_spec, intervals, render
from neutrino.wire.snapshot import HostSnapshot, SnapshotPort, SnapshotRule

SG = "6a1f0c2e-9d3b-4c5e-8f70-1b2c3d4e5f60"


def snapshot(n: int) -> HostSnapshot:
    ports = tuple(SnapshotPort(
        id=f"{0x1a000000 + i:08x}-{i & 0xFFFF:04x}-4000-8000-{i:012x}", network_id="net",
        mac_address=f"fa:16:3e:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
        fixed_ips=(("sub", f"198.18.{(10 + i) // 256}.{(10 + i) % 256}"),),
        admin_state_up=True, device_owner="compute:nova", port_security_enabled=True,
        security_groups=(SG,), allowed_address_pairs=(), revision_number=1, status="ACTIVE")
        for i in range(n))
    spec = [("tcp", 22, 22, None), ("tcp", 80, 80, None), ("tcp", 443, 443, None),
            ("icmp", None, None, None), ("udp", 53, 53, "198.18.0.0/16"),
            ("tcp", 8000, 8100, "10.0.0.0/8"), ("tcp", 5432, 5432, "172.16.0.0/12"),
            ("udp", 123, 123, None)]
    rules = [SnapshotRule(f"r{k}", SG, "ingress", "IPv4", p, lo, hi, pfx, None)
             for k, (p, lo, hi, pfx) in enumerate(spec)]
    rules += [SnapshotRule("r8", SG, "egress", "IPv4", None, None, None, None, None),
              SnapshotRule("r9", SG, "ingress", "IPv4", None, None, None, None, SG)]
    members = tuple(ip for p in ports for _, ip in p.fixed_ips)
    return HostSnapshot(host="bench", seq=1, ports=ports, rules=tuple(rules),
                        group_members={SG: members})


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ns = f"nqb-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        fw = Firewall(netns=ns)
        snap = snapshot(n)
        t0 = time.perf_counter()
        spec = firewall_spec(snap)
        script = render(spec)
        compile_ms = ms(t0)
        t0 = time.perf_counter()
        fw.apply(spec)
        apply_ms = ms(t0)
        rules = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
                               capture_output=True, text=True, check=True).stdout.count("\n")
        print(f"{n} ports x 10 rules: compile+render {compile_ms:.0f} ms "
              f"({len(script) // 1024} KiB script), first apply {apply_ms:.0f} ms, "
              f"total {compile_ms + apply_ms:.0f} ms ({rules} lines listed)")
        t0 = time.perf_counter()
        fw.apply(spec, full=True)
        print(f"full replace of an existing ruleset: {ms(t0):.0f} ms")

        noops = []
        for _ in range(7):
            t0 = time.perf_counter()
            fw.apply(spec)
            noops.append(ms(t0))
            assert fw.last_script is None
        med = statistics.median
        print(f"no-op apply (read digests + sets over netlink, compare): {med(noops):.1f} ms")

        totals, applies, kernel, computes, removals = [], [], [], [], []
        members = snap.group_members[SG]
        name = f"sg_{SG}_v4"
        for k in range(7):
            members = (*members, f"198.18.250.{k + 1}")
            t0 = time.perf_counter()
            new = firewall_spec(replace(snap, group_members={SG: members}))
            computes.append(ms(t0))
            t0 = time.perf_counter()
            fw.apply(new)
            applies.append(ms(t0))
            totals.append(computes[-1] + applies[-1])
            assert fw.last_script is not None and fw.last_script.startswith("add element")
            # the kernel part alone: one element change on the firewall's warm socket
            nl = fw._netlink
            assert nl is not None
            span = [intervals.interval(f"198.18.251.{k + 1}")]
            t0 = time.perf_counter()
            nl.change_elements("inet", "neutrino", [("add", name, 4, span)])
            kernel.append(ms(t0))
            nl.change_elements("inet", "neutrino", [("delete", name, 4, span)])
            # and a member leaving: set update plus the conntrack dump and deletes
            t0 = time.perf_counter()
            fw.apply(firewall_spec(replace(snap, group_members={SG: members[:-1]})))
            removals.append(ms(t0))
            assert fw.last_script is not None and fw.last_script.startswith("delete element")
            fw.apply(new)
        print(f"remote-group member change at {n} ports (median of 7): "
              f"total {med(totals):.1f} ms = spec {med(computes):.1f} ms + apply "
              f"{med(applies):.1f} ms; element kernel work {med(kernel):.2f} ms; "
              f"a member leaving (with conntrack) {med(removals):.1f} ms")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
