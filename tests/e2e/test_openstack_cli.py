"""The real `openstack` command (python-openstackclient from PyPI) against a live neutrino.

One linear walk-through per auth mode, as a new user would type it (docs/walkthrough.md shows
the same steps): networks, a subnet from a subnet pool and one from a CIDR, a port with a fixed
IP, a security group rule, a router with an external gateway and an interface, a floating IP
associated with the port, lists with filters and `-c` columns, shows, tags, and deletes in
reverse order. Each call starts the CLI anew (about a second), so there is one scenario per
mode, not one test per step:

- noauth: `auth_type: none` + `endpoint` in clouds.yaml, no headers (admin of the default
  project); on PostgreSQL with two workers when PostgreSQL is available, else SQLite;
- Keystone: password auth, neutrino found in the catalog; an admin makes the external network,
  a member of project-a does the rest and sees only what its project may see.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import SERVERS, LiveServer
from tests.e2e.keystone_cloud import PASSWORD, REGION, Cloud

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:::openstack"),  # the fixture's SDK calls: deprecations
]

OPENSTACK = Path(sys.executable).with_name("openstack")
README = Path(__file__).resolve().parents[2] / "README.md"
PUBLIC = ipaddress.ip_network("172.24.4.0/24")


@dataclass(frozen=True)
class Openstack:
    """`openstack --os-cloud <cloud> ...` with our clouds.yaml and nothing from the caller's
    environment that could point it elsewhere (OS_* variables)."""

    config: Path
    cloud: str

    def _run(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_CLIENT_CONFIG_FILE=str(self.config), PYTHONWARNINGS="ignore")
        return subprocess.run([str(OPENSTACK), "--os-cloud", self.cloud, *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    def __call__(self, *args: str) -> Any:
        """Run a command that must succeed; parse its output when it was `-f json`."""
        done = self._run(args)
        assert done.returncode == 0, f"openstack {' '.join(args)}:\n{done.stderr}"
        return json.loads(done.stdout) if "json" in args else done.stdout

    def fails(self, *args: str) -> str:
        """Run a command that the server must refuse; its error message."""
        done = self._run(args)
        assert done.returncode != 0, f"openstack {' '.join(args)} succeeded:\n{done.stdout}"
        return done.stderr


def write_clouds(path: Path, clouds: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


@pytest.fixture(params=SERVERS[-1:])
def noauth_server(request: pytest.FixtureRequest) -> LiveServer:
    """The PostgreSQL server (two workers) when PostgreSQL runs here, else SQLite; its
    database is new for the module, and this is the module's only test on it."""
    server: LiveServer = request.getfixturevalue(request.param)
    return server


def readme_clouds_yaml(url: str) -> dict[str, dict[str, Any]]:
    """The README's clouds.yaml snippet, pointed at `url`."""
    block = re.search(r"```yaml\n(clouds:.*?)```", README.read_text(), re.S)
    assert block, "README lost its clouds.yaml snippet"
    clouds: dict[str, dict[str, Any]] = yaml.safe_load(
        block.group(1).replace("http://127.0.0.1:9696", url))["clouds"]
    return clouds


def test_walk_through_with_noauth(noauth_server: LiveServer, tmp_path: Path) -> None:
    """The README's clouds.yaml as it is: `auth_type: none` and the endpoint, no headers."""
    clouds = readme_clouds_yaml(noauth_server.url)
    assert clouds["neutrino"]["auth_type"] == "none"
    cli = Openstack(write_clouds(tmp_path / "clouds.yaml", clouds), "neutrino")
    walk_through(admin=cli, user=cli, project="admin", sees_all_ports=True)


def test_walk_through_with_keystone(cloud: Cloud, tmp_path: Path) -> None:
    auth_url = cloud.keystone.url + "/v3"
    config = write_clouds(tmp_path / "clouds.yaml", {
        "admin": {"auth": {"auth_url": auth_url, "username": "admin",
                           "password": cloud.keystone.admin_password, "project_name": "admin",
                           "user_domain_id": "default", "project_domain_id": "default"},
                  "region_name": REGION},
        "alice": {"auth": {"auth_url": auth_url, "username": "alice", "password": PASSWORD,
                           "project_name": "project-a", "user_domain_id": "default",
                           "project_domain_id": "default"},
                  "region_name": REGION},
    })
    walk_through(admin=Openstack(config, "admin"), user=Openstack(config, "alice"),
                 project=cloud.projects["project-a"], sees_all_ports=False, keystone=True)


def walk_through(*, admin: Openstack, user: Openstack, project: str, sees_all_ports: bool,
                 keystone: bool = False) -> None:
    """The scenario of docs/walkthrough.md; `admin` makes the external network, `user` (of
    `project`) does the rest. `--project` is only tried with Keystone: the CLI looks the
    project up there first (noauth has no Keystone to ask)."""
    # An operator's external network, which every project may use for gateways and FIPs.
    public = admin("network", "create", "--external", "public", "-f", "json")
    assert public["router:external"] is True
    admin("subnet", "create", "--network", "public", "--subnet-range", str(PUBLIC),
          "--no-dhcp", "public-subnet", "-f", "json")

    # A private network with a subnet from a CIDR.
    private = user("network", "create", "private", "-f", "json")
    assert private["status"] == "ACTIVE" and private["project_id"] == project
    subnet = user("subnet", "create", "--network", "private", "--subnet-range",
                  "192.168.50.0/24", "--dns-nameserver", "192.0.2.53", "private-subnet",
                  "-f", "json")
    assert subnet["network_id"] == private["id"] and subnet["gateway_ip"] == "192.168.50.1"
    assert subnet["allocation_pools"] == [{"start": "192.168.50.2", "end": "192.168.50.254"}]
    assert subnet["dns_nameservers"] == ["192.0.2.53"]

    # A subnet pool, and a subnet that takes its CIDR from it (one pool per network).
    pool = user("subnet", "pool", "create", "--pool-prefix", "10.10.0.0/16",
                "--default-prefix-length", "26", "demo-pool", "-f", "json")
    assert pool["prefixes"] == ["10.10.0.0/16"] and pool["default_prefixlen"] == 26
    user("network", "create", "pooled", "-f", "json")
    pooled = user("subnet", "create", "--network", "pooled", "--subnet-pool", "demo-pool",
                  "pooled-subnet", "-f", "json")
    assert pooled["subnetpool_id"] == pool["id"] and pooled["cidr"] == "10.10.0.0/26"
    assert pooled["gateway_ip"] == "10.10.0.1"

    # A port with the address we ask for, in a security group that lets SSH in.
    port = user("port", "create", "--network", "private", "--fixed-ip",
                "subnet=private-subnet,ip-address=192.168.50.10", "vm-port", "-f", "json")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "192.168.50.10"}]
    assert port["mac_address"].startswith("fa:16:3e:") and port["status"] == "DOWN"
    web = user("security", "group", "create", "web", "-f", "json")
    rule = user("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
                "web", "-f", "json")
    assert rule["security_group_id"] == web["id"] and rule["direction"] == "ingress"
    assert (rule["port_range_min"], rule["port_range_max"]) == (22, 22)
    assert rule["remote_ip_prefix"] == "0.0.0.0/0" and rule["ether_type"] == "IPv4"
    user("port", "set", "--security-group", "web", "vm-port")

    # A router: gateway on the external network, an interface on the private subnet.
    router = user("router", "create", "r1", "-f", "json")
    assert router["external_gateway_info"] is None
    user("router", "set", "--external-gateway", "public", "r1")
    user("router", "add", "subnet", "r1", "private-subnet")
    router = user("router", "show", "r1", "-f", "json")
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == public["id"] and gateway["enable_snat"] is True
    [gateway_ip] = gateway["external_fixed_ips"]
    assert ipaddress.ip_address(gateway_ip["ip_address"]) in PUBLIC
    [interface] = router["interfaces_info"]
    assert interface["subnet_id"] == subnet["id"] and interface["ip_address"] == "192.168.50.1"

    # A floating IP from the external network, then associated with the port.
    fip = user("floating", "ip", "create", "public", "-f", "json")
    assert ipaddress.ip_address(fip["floating_ip_address"]) in PUBLIC
    assert fip["port_id"] is None and fip["router_id"] is None
    user("floating", "ip", "set", "--port", "vm-port", fip["floating_ip_address"])
    fip = user("floating", "ip", "show", fip["id"], "-f", "json")
    assert fip["port_id"] == port["id"] and fip["fixed_ip_address"] == "192.168.50.10"
    assert fip["router_id"] == router["id"]
    assert fip["port_details"]["name"] == "vm-port"

    # Lists with filters and chosen columns; tags; shows.
    networks = user("network", "list", "--long", "-f", "json")
    assert {n["Name"]: n["Router Type"] for n in networks} == {
        "public": True, "private": False, "pooled": False}
    internal = user("network", "list", "--long", "--internal", "--enable", "-f", "json")
    assert sorted(n["Name"] for n in internal) == ["pooled", "private"]
    assert all(n["Project"] == project and n["State"] is True for n in internal)
    if keystone:
        mine = user("network", "list", "--project", project, "-f", "json")
        assert sorted(n["Name"] for n in mine) == ["pooled", "private"]
    user("network", "set", "--tag", "prod", "--tag", "web", "private")
    tagged = user("network", "list", "--tags", "prod", "-f", "json")
    assert [(n["ID"], n["Subnets"]) for n in tagged] == [(private["id"], [subnet["id"]])]
    shown = user("network", "show", "private", "-f", "json")
    assert shown["tags"] == ["prod", "web"] and shown["subnets"] == [subnet["id"]]
    ports = user("port", "list", "-c", "ID", "-c", "Fixed IP Addresses", "-f", "json")
    addresses = {p["ID"]: [ip["ip_address"] for ip in p["Fixed IP Addresses"]] for p in ports}
    assert addresses[port["id"]] == ["192.168.50.10"]
    assert addresses[interface["port_id"]] == ["192.168.50.1"]
    # + the DHCP ports of private and pooled (the project's, as in Neutron); the gateway and
    # the floating IP's own port belong to no project: only an admin sees them
    assert (len(addresses) == 6) is sees_all_ports and (len(addresses) == 4) is not sees_all_ports
    dhcp = user("port", "list", "--device-owner", "network:dhcp", "-c", "ID", "-f", "json")
    assert len(dhcp) == 2
    on_private = user("port", "list", "--network", "private", "--device-owner",
                      "network:router_interface", "-c", "ID", "-f", "json")
    assert on_private == [{"ID": interface["port_id"]}]
    assert user("floating", "ip", "list", "--port", "vm-port", "-f", "json")[0]["ID"] == fip["id"]
    assert set(user("port", "show", "vm-port", "-f", "json")["security_group_ids"]) >= {web["id"]}
    refused = user.fails("network", "delete", "private")
    assert "409" in refused and "still in use" in refused, refused

    # Everything goes again, in reverse order.
    user("floating", "ip", "unset", "--port", fip["id"])
    user("floating", "ip", "delete", fip["id"])
    user("router", "remove", "subnet", "r1", "private-subnet")
    user("router", "unset", "--external-gateway", "r1")
    user("router", "delete", "r1")
    user("port", "delete", "vm-port")
    user("security", "group", "delete", "web")
    user("subnet", "delete", "pooled-subnet")
    user("network", "delete", "pooled")
    user("subnet", "pool", "delete", "demo-pool")
    user("subnet", "delete", "private-subnet")
    user("network", "delete", "private")
    admin("subnet", "delete", "public-subnet")
    admin("network", "delete", "public")
    assert admin("network", "list", "-f", "json") == []
    assert admin("port", "list", "-f", "json") == []
    assert admin("router", "list", "-f", "json") == []
