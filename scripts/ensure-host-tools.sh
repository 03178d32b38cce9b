#!/usr/bin/env bash
# The Linux tools the agent and its namespace tests drive: iproute2 (ip netns, veth, bridge,
# vxlan), nftables, ping, nc, dhclient (the DHCP tests' real client) and dnsmasq (the
# `dnsmasq` DHCP driver). Debian packages; installed only when missing.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v ping >/dev/null || need+=(iputils-ping)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v dhclient >/dev/null || need+=(isc-dhcp-client)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
