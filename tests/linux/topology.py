"""Several "hosts" on one machine, for the dataplane tests (DESIGN §3): each host is a
namespace with two NICs cabled to a switch namespace: `ul0` on the underlay bridge, with an
address from 192.0.2.0/24 (TEST-NET-1; VXLAN runs over it), and `pn0` on a second bridge
with no address, to stand in for a physical network (flat/VLAN). Workload namespaces are
made too, for `plug`. Everything lives in namespaces from `netns.namespaces()`, so names
are unique per test (xdist-safe) and all of it is deleted on exit, even on failure.

    with topology(["host1", "host2"], workloads=["w1", "w2"]) as topo:
        topo.hosts["host1"].ns, topo.hosts["host1"].underlay_ip, topo.workloads["w1"]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tests.linux.netns import namespaces, run

UNDERLAY_IF = "ul0"
PHYSNET_IF = "pn0"
PHYSNET = "physnet1"


@dataclass(frozen=True)
class Host:
    ns: str
    underlay_ip: str
    underlay_if: str = UNDERLAY_IF
    physnet_if: str = PHYSNET_IF  # carries physical network PHYSNET


@dataclass(frozen=True)
class Topology:
    switch: str
    hosts: dict[str, Host]
    workloads: dict[str, str]  # role -> namespace name


def ip_batch(ns: str, lines: Sequence[str]) -> None:
    """Many `ip` commands in one process (`ip -n NS -batch -`)."""
    run(None, "ip", "-n", ns, "-batch", "-", input="\n".join(lines) + "\n")


@contextlib.contextmanager
def topology(hosts: Sequence[str], workloads: Sequence[str] = ()) -> Iterator[Topology]:
    """Hosts `hosts` (at most 250), cabled to one switch; plus empty workload namespaces."""
    assert len(hosts) <= 250 and not {"switch"} & {*hosts, *workloads}
    with namespaces("switch", *hosts, *workloads) as ns:
        sw = ns["switch"]
        cmds = ["link add ul type bridge", "link set ul up",
                "link add pn type bridge", "link set pn up"]
        made: dict[str, Host] = {}
        for i, role in enumerate(hosts):
            h = Host(ns[role], f"192.0.2.{i + 1}")
            # created in the switch namespace, so no name ever appears in the root namespace
            cmds += [f"link add u{i} type veth peer name {UNDERLAY_IF} netns {h.ns}",
                     f"link add p{i} type veth peer name {PHYSNET_IF} netns {h.ns}",
                     f"link set u{i} master ul up", f"link set p{i} master pn up"]
            made[role] = h
        ip_batch(sw, cmds)
        for h in made.values():
            ip_batch(h.ns, [f"addr add {h.underlay_ip}/24 dev {UNDERLAY_IF}",
                            f"link set {UNDERLAY_IF} up", f"link set {PHYSNET_IF} up"])
        yield Topology(sw, made, {w: ns[w] for w in workloads})
