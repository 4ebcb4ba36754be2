"""minidl._allocator: glibc accepts the thresholds; MINIDL_MALLOC=system and other C libraries are left alone."""
import platform
import sys

from minidl import _allocator


def test_glibc_accepts_the_thresholds(monkeypatch):
    monkeypatch.delenv("MINIDL_MALLOC", raising=False)
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert _allocator.keep_freed_memory() is on_glibc


def test_opt_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv("MINIDL_MALLOC", "system")
    assert _allocator.keep_freed_memory() is False
