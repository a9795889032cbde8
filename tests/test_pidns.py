"""The virtual pid namespace when live replay restores a checkpoint: tasks get
new real ids, the groups they led keep theirs."""

from virt.pidns import PidNamespace


def test_moved_tasks_keep_their_virtual_ids_even_when_real_ids_wrap() -> None:
    ns = PidNamespace()
    ns.allocate(100)  # vpid 1, leader of group 100
    ns.allocate(200)  # vpid 2
    # Real ids wrapped: the new task of vpid 1 got 200, the old id of vpid 2.
    ns.moved({100: 200, 200: 300}, groups={100})
    assert (ns.to_real(1), ns.to_real(2)) == (200, 300)
    assert (ns.to_virtual(200), ns.to_virtual(300)) == (1, 2)
    assert ns.to_virtual(100) == 1  # group 100 still names vpid 1's group
    assert ns.to_real_group(1) == 100 and ns.to_real_group(2) == 300


def test_a_group_whose_leader_did_not_move_is_untouched() -> None:
    ns = PidNamespace()
    ns.allocate(10)
    ns.allocate(11)
    ns.retire(10, still_group=True)  # leader gone, its group lives on
    ns.moved({11: 12}, groups={10})
    assert ns.to_real_group(1) == 10 and ns.to_real(2) == 12
