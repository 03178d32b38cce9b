"""Each resource's attribute table bound to its service functions."""

from __future__ import annotations

from neutrino.api.resources import Binding
from neutrino.schema.networks import NETWORK
from neutrino.services import networks

NETWORKS = Binding(
    NETWORK,
    list=networks.list_,
    get=networks.get,
    create_in=networks.create_in,
    update=networks.update,
    delete=networks.delete,
)

ALL = (NETWORKS,)
