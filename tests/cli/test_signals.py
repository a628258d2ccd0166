"""Ctrl-C and SIGTERM: the library installs no handler (a caller gets KeyboardInterrupt); the command line stops
at once, publishes nothing and exits 130 / 143. Tested with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from matcher import generate_tables
from matcher.cli import main
from matcher.io import write_tables

TESTS = Path(__file__).parents[1]


PROLOGUE = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in any program started in the foreground
before = signal.getsignal(signal.SIGINT)
"""


def script(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROLOGUE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(TESTS)})


def test_a_library_caller_gets_keyboard_interrupt_after_a_cpsat_solve() -> None:
    """OR-Tools' own SIGINT handler used to kill the process with 130, skipping finally blocks."""
    r = script("""
        import os, signal, threading, time
        import matcher
        from instances import tight_problem
        s = matcher.solve(tight_problem(3), matcher.SolveOptions(time_limit_s=5))
        assert s.stats["engine"] == "flow+cpsat", s.stats["engine"]
        assert signal.getsignal(signal.SIGINT) is before  # matcher installed no handler
        try:
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            while True:
                time.sleep(0.02)
        except KeyboardInterrupt:
            print("caught")
        finally:
            print("finally ran")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["caught", "finally", "ran"]


def test_ctrl_c_during_a_library_solve_raises_keyboard_interrupt() -> None:
    r = script("""
        import os, signal, threading
        import matcher
        p = matcher.generate_problem("street", 1, scale=0.4)
        threading.Timer(4.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            matcher.solve(p, matcher.SolveOptions(time_limit_s=60))
            print("finished")
        except KeyboardInterrupt:
            print("caught")
        finally:
            print("finally ran")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["caught", "finally", "ran"]


def test_ctrl_c_while_a_solver_is_imported_is_a_keyboard_interrupt_after_the_import() -> None:
    """A signal inside an extension's initialisation would read as ImportError; held back, it acts after it."""
    r = script("""
        import os, signal
        from matcher.engine.context import held_signals
        try:
            with held_signals():
                os.kill(os.getpid(), signal.SIGINT)  # arrives while the import runs
                from ortools.sat.python import cp_model
            print("missed")
        except KeyboardInterrupt:
            print("caught")
        from ortools.sat.python import cp_model
        print("imported", cp_model.CpModel is not None)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["caught", "imported", "True"]


def test_a_signal_delivered_to_another_thread_waits_for_the_import() -> None:
    """The kernel may hand the signal to any thread (a mask on the main thread does not hold it back); CPython
    then runs the handler in the main thread at its next instruction, which was inside the import."""
    r = script("""
        import os, signal, threading
        from matcher.engine.context import held_signals
        try:
            with held_signals():
                t = threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGINT))
                t.start()
                t.join()  # the signal is pending before the import starts
                from ortools.sat.python import cp_model
                print("imported", cp_model.CpModel is not None)
            print("missed")
        except KeyboardInterrupt:
            print("caught")
        assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["imported", "True", "caught"]


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("street")
    write_tables(generate_tables("street", 1, scale=0.4), folder, settings={"taxonomy": "builtin"})
    return folder


def published(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_interrupted_in_its_cpsat_step_publishes_nothing(street: Path, tmp_path: Path, sig: int,
                                                               code: int) -> None:
    root = tmp_path / "runs"
    good = subprocess.run([sys.executable, "-m", "matcher.cli", "run", str(TESTS / "data" / "tiny.json"),
                           "--out", str(root), "-q"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    before, target = published(root), os.readlink(root / "latest")
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "run", str(street), "--out", str(root),
                             "--time-limit", "120", "-v"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait for the CP-SAT step
        if "overbooking resolved greedily, then swaps" in line:
            break
    time.sleep(0.5)
    t0 = time.perf_counter()
    proc.send_signal(sig)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == code, rest
    assert time.perf_counter() - t0 < 10  # CP-SAT's search was stopped, not waited out
    assert "nothing was published" in rest and "Traceback" not in rest
    assert published(root) == before and os.readlink(root / "latest") == target


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_signal_while_writing_publishes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  wrapped: bool) -> None:
    """``wrapped``: a library turned the handler's exception into its own (pybind11 gives ImportError while an
    extension initialises); the command must still exit 143, publish nothing and print no traceback."""
    import matcher.workflows.batch as batch

    root = tmp_path / "runs"
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    assert main(["run", str(TESTS / "data" / "tiny.json"), "--out", str(root), "-q"]) == 0
    before, target = published(root), os.readlink(root / "latest")
    real = batch.write_text_synced

    def interrupted(path: Any, text: str) -> None:
        real(path, text)
        if Path(path).name == "solution.json":
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            except BaseException as exc:
                if wrapped:
                    raise ImportError("initialization failed") from exc
                raise

    monkeypatch.setattr(batch, "write_text_synced", interrupted)
    assert main(["run", str(TESTS / "data" / "tiny.json"), "--out", str(root), "-q"]) == 143
    assert published(root) == before and os.readlink(root / "latest") == target
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # put back


def test_a_signal_between_the_folder_and_the_link_takes_the_folder_back(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    root = tmp_path / "runs"
    assert main(["run", str(TESTS / "data" / "tiny.json"), "--out", str(root), "-q"]) == 0
    before, target = published(root), os.readlink(root / "latest")
    real = os.symlink

    def late(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the folder is already renamed to its final name
        real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "symlink", late)
    assert main(["run", str(TESTS / "data" / "tiny.json"), "--out", str(root), "-q"]) == 130
    monkeypatch.undo()
    assert published(root) == before and os.readlink(root / "latest") == target
