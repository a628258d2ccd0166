"""Work beside the solve in a forked child: signals around the fork, answers that do not come back, a parent gone.

Each case runs in its own Python process (a fork hook, once registered, stays for the process's life).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

from matcher.errors import PinnedError, ProblemError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="work beside the solve forks on Linux only")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run after :data:`PRELUDE` in a new Python process."""
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)


PRELUDE = """
import os, signal, sys, time
from matcher.engine.beside import Beside, fork_beside
fork_beside()
class Stop(BaseException):
    pass
def handler(signum, frame):
    raise Stop(signum)
signal.signal(signal.SIGINT, handler)
signal.signal(signal.SIGTERM, handler)
import threading
threading.Thread(target=threading.Event().wait, daemon=True).start()  # (as the command line's watcher: a thread
# that does not block the signals, to which the kernel hands them while the forking thread does)
"""


def test_a_signal_during_the_fork_reaches_the_parent() -> None:
    # the command line's handler raises: raised inside Python's after-fork hooks it was swallowed there
    done = _run("""
    os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
    os.register_at_fork(after_in_parent=lambda: [x for x in range(100_000)])  # (another hook, as logging's, runs on)
    try:
        Beside(lambda: 1, "t").result()
    except Stop:
        print("stopped")
    """)
    assert done.stdout.strip() == "stopped" and "Exception ignored" not in done.stderr, done.stderr


def test_a_signal_to_the_child_does_not_reach_the_parent() -> None:
    # the parent's wake-up descriptor (which the command line watches) hears nothing; the child dies, and its
    # work is done again in the parent
    done = _run("""
    r, w = os.pipe()
    os.set_blocking(w, False)
    os.set_blocking(r, False)
    signal.set_wakeup_fd(w)
    os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGTERM))
    got = Beside(lambda: os.getpid(), "t")
    answer = got.result()
    try:
        heard = os.read(r, 64)
    except BlockingIOError:
        heard = b""
    print(got.forked, answer == os.getpid(), heard == b"")
    """)
    assert done.stdout.split() == ["True", "True", "True"], done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


def test_answers_that_do_not_come_back_are_worked_out_here() -> None:
    done = _run("""
    class Odd(Exception):  # pickles, but does not unpickle (two arguments to __init__)
        def __init__(self, a, b):
            super().__init__(f"{a} {b}")
    def odd():
        raise Odd(1, 2)
    try:
        Beside(odd, "t").result()
    except Odd as exc:
        print("odd", exc)
    from matcher.errors import ProblemError
    def bad():
        raise ProblemError(["first", "second"])
    try:
        Beside(bad, "t").result()
    except ProblemError as exc:
        print(exc.errors)
    sys.stdout.close()
    sys.stdout = None  # a command run with its standard output closed
    print(Beside(lambda: 5, "t").result(), file=sys.stderr)
    """)
    assert done.stdout.splitlines() == ["odd 1 2", "['first', 'second']"], done.stderr
    assert done.stderr.strip() == "5"


def test_a_child_ends_with_its_parent() -> None:
    done = _run("""
    import multiprocessing
    Beside(lambda: (time.sleep(30), b"x" * 1_000_000)[1], "t")  # long, and an answer bigger than a pipe holds
    print(*[c.pid for c in multiprocessing.active_children()])
    sys.stdout.flush()
    os._exit(0)
    """)
    (pid,) = map(int, done.stdout.split())
    for _ in range(60):  # 3 s
        if not _alive(pid):
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_problem_errors_pickle_with_their_problems() -> None:
    for error in (ProblemError(["a", "b; c"]), PinnedError(["pinned: v1 breaks rule 7"])):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and back.errors == error.errors and str(back) == str(error)
