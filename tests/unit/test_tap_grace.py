"""`TapGrace`: a tap the snapshot doesn't name is deleted only once a snapshot read after the
tap was seen still doesn't name it (a port created and plugged while a snapshot was being read
lost its tap to that reconcile, and stayed DOWN for good)."""

from __future__ import annotations

from neutrino.agent.linux.l2 import TapGrace


def test_a_tap_newer_than_the_snapshot_survives_until_a_newer_snapshot_decides() -> None:
    grace = TapGrace()
    old, new = object(), object()
    # the snapshot was read before the port existed; its tap appears during this pass
    assert grace.for_snapshot(old)(frozenset({"tapA", "tapNEW"}), frozenset({"tapNEW"})) \
        == {"tapNEW"}
    # another pass on the same (cached) snapshot, e.g. for the tap's own link event: still kept
    assert grace.for_snapshot(old)(frozenset({"tapA", "tapNEW"}), frozenset({"tapNEW"})) \
        == {"tapNEW"}
    # a newer snapshot names it: nothing unnamed, nothing to spare
    assert grace.for_snapshot(new)(frozenset({"tapA", "tapNEW"}), frozenset()) == frozenset()


def test_a_tap_of_a_deleted_port_goes_on_the_next_snapshot() -> None:
    grace = TapGrace()
    first, second, third = object(), object(), object()
    assert grace.for_snapshot(first)(frozenset({"tapA", "tapB"}), frozenset()) == frozenset()
    # port B deleted: the next snapshot doesn't name tapB, which was seen before it was read
    assert grace.for_snapshot(second)(frozenset({"tapA", "tapB"}), frozenset({"tapB"})) \
        == frozenset()
    # a tap first seen under a snapshot is spared, whatever else goes
    assert grace.for_snapshot(third)(frozenset({"tapA", "tapC"}), frozenset({"tapC"})) \
        == {"tapC"}


def test_after_a_restart_stale_taps_go_one_pass_later() -> None:
    grace = TapGrace()
    first, second = object(), object()
    assert grace.for_snapshot(first)(frozenset({"tapOLD"}), frozenset({"tapOLD"})) == {"tapOLD"}
    assert grace.for_snapshot(second)(frozenset({"tapOLD"}), frozenset({"tapOLD"})) \
        == frozenset()
