"""The tracer thread with rdtsc trapped (virt/notsc.py): its handler, checked
against its assembly source, and its behaviour in a process of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT
from virt import notsc


@pytest.mark.skipif(shutil.which("as") is None or shutil.which("objcopy") is None,
                    reason="GNU as/objcopy not installed")
def test_code_is_the_assembled_source(tmp_path):
    src, obj, bin_ = tmp_path / "h.s", tmp_path / "h.o", tmp_path / "h.bin"
    src.write_text(notsc.ASM)
    subprocess.run(["as", "-o", str(obj), str(src)], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(bin_)], check=True)
    code = bin_.read_bytes()
    assert code[:len(notsc.CODE)] == notsc.CODE
    assert code[notsc.RESTORER:notsc.RESTORER + 7] == bytes.fromhex("b80f0000000f05")  # rt_sigreturn
    assert not code[len(notsc.CODE):notsc.PAGE].strip(b"\0")  # nothing else before the data page


def _run(body: str) -> subprocess.CompletedProcess[str]:
    prog = textwrap.dedent("""
        import ctypes, mmap, sys, time
        sys.path.insert(0, %r)
        from virt import notsc

        def machine_code(hexcode):
            buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            buf.write(bytes.fromhex(hexcode))
            addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
            return buf, ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)

        # rdtsc; shl rdx, 32; or rax, rdx; ret   and   rdtscp; mov eax, ecx; ret
        keep1, rdtsc = machine_code("0f3148c1e2204809d0c3")
        keep2, tsc_aux = machine_code("0f01f989c8c3")
    """ % str(ROOT)) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", prog], capture_output=True,
                          text=True, timeout=60)


def test_counter_reads_in_the_trapped_thread_are_emulated():
    p = _run("""
        a = rdtsc()
        with notsc.TscOff() as off:
            assert off.on
            b = rdtsc()
            aux = tsc_aux()
            t0 = time.monotonic()   # the vDSO reads the counter too
            t1 = time.monotonic()
            raw = notsc.monotonic_ns()
            inside = notsc.emulated()
        c = rdtsc()
        after = notsc.emulated()
        print(a < b < c, t0 <= t1, abs(raw - time.monotonic_ns()) < 10**9, inside >= 3, after == inside,
              aux == tsc_aux())
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True"] * 6


def test_a_real_fault_still_reaches_the_previous_handler():
    p = _run("""
        with notsc.TscOff():
            time.monotonic()
            ctypes.string_at(0)
    """)
    assert p.returncode < 0 and -p.returncode == 11  # SIGSEGV, as without the handler
    assert "Fatal Python error: Segmentation fault" in p.stderr  # faulthandler got it
    assert "string_at" in p.stderr


def test_a_trace_writer_started_with_the_counter_trapped(tmp_path):
    """The trace writer's thread, started inside TscOff, inherits the trap:
    its clock reads reach the handler (they are not blocked with the other
    signals) and the trace is written."""
    path = tmp_path / "t.scribe"
    p = _run(f"""
        from traces import Syscall, TraceReader, TraceWriter
        from traces.samples import HEADER
        with notsc.TscOff() as off:
            assert off.on
            w = TraceWriter({str(path)!r}, HEADER)
            for i in range(50):
                w.append(Syscall(1, 39, (0,) * 6, 1, (), (), 0, i))
                time.sleep(0.004)  # the writer's thread waits with a timeout meanwhile
            w.close(0)
        print(len(TraceReader({str(path)!r})), notsc.emulated() > 0)
    """)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["50", "True"]


def test_raw_clock_and_sigtimedwait():
    import signal
    import threading
    import time

    assert abs(notsc.monotonic_ns() - time.monotonic_ns()) < 10**9
    assert abs(notsc.clock_ns(time.CLOCK_REALTIME) - time.time_ns()) < 10**9
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    try:
        t = time.monotonic()
        assert notsc.sigtimedwait(signal.SIGUSR1, 0.05) is False
        assert time.monotonic() - t >= 0.04
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # this thread, where it is blocked
        assert notsc.sigtimedwait(signal.SIGUSR1, 5) is True
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
