"""Tracee memory access: strings read at a stop are read once (the recorder
and the VEE both read a path), and our own writes drop them."""

from __future__ import annotations

import ctypes
import os

from virt.tracer import Tracee


def test_strings_read_at_a_stop_are_read_once_and_writes_drop_them():
    buf = ctypes.create_string_buffer(b"/etc/passwd\0tail", 32)
    addr = ctypes.addressof(buf)
    t = Tracee(os.getpid(), os.getpid())  # our own memory stands in for a tracee's
    try:
        assert t.read_cstring(addr) == b"/etc/passwd"
        assert t.read_cstring(addr, 4) == b"/etc"  # a shorter limit: from what was read
        buf.value = b"/tmp/other"  # changed behind the stop's back: the stop's view holds
        assert t.read_cstring(addr) == b"/etc/passwd"
        t.cstrings = None  # what the tracer does at every new stop
        assert t.read_cstring(addr, 4) == b"/tmp"
        assert t.read_cstring(addr) == b"/tmp/other"  # a longer limit reads again
        t.write(addr, b"/v")
        assert t.read_cstring(addr) == b"/vmp/other"
    finally:
        t.close_mem()
