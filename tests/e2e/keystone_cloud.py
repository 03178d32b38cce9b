"""A small cloud for end-to-end tests: a real Keystone (PyPI, SQLite) with the users a cloud has,
and `neutrino serve --auth keystone` (SQLite) in its catalog as the `network` service.

Members of two projects, a reader, a user with a role neutrino does not know, an agent with the
`service` role, and the service user keystonemiddleware validates tokens with. The `cloud`
fixture in conftest.py starts one per test module that asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import openstack
from keystoneauth1.identity import v3

from tests.e2e import live

SERVICE_PASSWORD = "e2e-neutrino-pw"
PASSWORD = "e2e-user-pw"
REGION = "RegionOne"
# user -> (project, roles); projects are created on the fly, roles by `keystone-manage bootstrap`
USERS = {
    "alice": ("project-a", ("member",)),
    "rita": ("project-a", ("reader",)),
    "olga": ("project-a", ("observer",)),  # a role neutrino does not know
    "bob": ("project-b", ("member",)),
    "agent": ("service", ("service",)),
}


@dataclass(frozen=True)
class Cloud:
    keystone: live.Keystone
    neutrino: str
    projects: dict[str, str]  # name -> id
    users: dict[str, str]  # name -> id

    def auth(self, user: str) -> v3.Password:
        if user == "admin":
            return v3.Password(auth_url=self.keystone.url + "/v3", username="admin",
                               password=self.keystone.admin_password, project_name="admin",
                               user_domain_id="default", project_domain_id="default")
        return v3.Password(auth_url=self.keystone.url + "/v3", username=user, password=PASSWORD,
                           project_id=self.projects[USERS[user][0]], user_domain_id="default")


def _admin(keystone: live.Keystone) -> openstack.connection.Connection:
    return openstack.connection.Connection(
        auth_url=keystone.url + "/v3", username="admin", password=keystone.admin_password,
        project_name="admin", user_domain_id="default", project_domain_id="default",
        region_name=REGION,
    )


def _populate(keystone: live.Keystone, neutrino_url: str) -> tuple[dict[str, str],
                                                                    dict[str, str]]:
    """Projects, users and role assignments; the catalog's `network` entry -> neutrino."""
    conn = _admin(keystone)
    idc = conn.identity
    projects = {name: idc.create_project(name=name, domain_id="default").id
                for name in ("project-a", "project-b", "service")}
    idc.create_role(name="observer")
    roles = {r.name: r.id for r in idc.roles()}
    users = {}
    for name, (project, role_names) in {
        **USERS, "neutrino": ("service", ("service",)),
    }.items():
        password = SERVICE_PASSWORD if name == "neutrino" else PASSWORD
        user = idc.create_user(name=name, password=password, domain_id="default",
                               default_project_id=projects[project])
        users[name] = user.id
        for role in role_names:
            idc.assign_project_role_to_user(projects[project], user.id, roles[role])
    service = idc.create_service(type="network", name="neutrino")
    idc.create_endpoint(service_id=service.id, interface="public", url=neutrino_url,
                        region_id=REGION)
    conn.close()
    return projects, users


@contextmanager
def running_cloud(work: Path) -> Iterator[Cloud]:
    """Keystone, its users and catalog, and neutrino validating tokens with it; both stopped
    on exit."""
    with live.running_keystone(work / "keystone") as keystone:
        port = live.free_port()
        neutrino_url = f"http://127.0.0.1:{port}"
        projects, users = _populate(keystone, neutrino_url)
        config = f"""\
[neutrino]
auth = "keystone"
data_dir = "{work / 'neutrino'}"

[keystone_authtoken]
www_authenticate_uri = "{keystone.url}"
auth_url = "{keystone.url}"
username = "neutrino"
password = "{SERVICE_PASSWORD}"
project_name = "service"
user_domain_name = "Default"
project_domain_name = "Default"
"""
        with live.running_neutrino(work / "neutrino", config, port) as url:
            yield Cloud(keystone=keystone, neutrino=url, projects=projects, users=users)
