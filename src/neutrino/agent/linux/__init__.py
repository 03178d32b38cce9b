"""Thin shells that make an `agent.desired` spec real in the Linux kernel: read what the
kernel has (only our objects), diff, apply (DESIGN §3, decision 6). One module per family
of kernel objects: `l2` (bridges, VXLAN, uplinks, FDB, taps) and `plug` (a port's veth into
a workload namespace)."""
