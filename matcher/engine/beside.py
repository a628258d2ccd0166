"""Work beside the solve: a thread, or a forked process where the caller lets the solve fork.

Some work's answer is needed only at the end of a solve: the unmet ladder's counts (0.6-0.8 s on a district)
and the input's fingerprint (0.6 s). :class:`Beside` starts it at once and hands its answer over when asked.

In a thread, the work is hidden only while the solve itself lets go of the GIL (HiGHS and big numpy
operations do). pydantic's JSON serialisation holds the GIL for the whole fingerprint, so as a thread it only
made the solve wait; a forked child runs it on the other core. A fork has its own cost: every page of the
parent's memory becomes copy-on-write, and the parent's first write to each page afterwards takes a page fault
(0.3-1 s over a district's LP tiers, measured), so only work that holds the GIL and starts while the process is
small (the fingerprint, right after loading) asks for one (``fork=True``, the default); the ladder runs in a
thread beside HiGHS. Forking is also the caller's choice (:func:`fork_beside`): the command line turns it on for
its own short-lived process; a library caller, whose process may run threads of its own, gets threads unless
it turns it on. It is used only on Linux, where ``fork`` is the usual start method of :mod:`multiprocessing`
(Python's documentation, "Contexts and start methods"); elsewhere, and if the fork fails, the work runs in a
thread.

The child answers through a pipe (:meth:`multiprocessing.connection.Connection.send`, which pickles), so an
answer must pickle; it takes the usual signals' default actions, so Ctrl-C stops it as it stops a command.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from matcher.engine.context import HELD_SIGNALS, held_signals

__all__ = ["Beside", "fork_beside"]

T = TypeVar("T")

_FORK: list[bool] = [False]  # whether Beside may fork (fork_beside)


def fork_beside(on: bool = True) -> None:
    """Let :class:`Beside` run its work in a forked child process (Linux only), or stop it.

    For a process that runs no threads which could hold a lock while it forks (the command line: its own
    threads only wait on events). Off by default. A child dies with the thread that forked it (Linux's
    parent-death signal): one forked from a thread that ends before the answer is read has its work done again
    by :meth:`Beside.result`.
    """
    _FORK[0] = on


def _forking() -> bool:
    return _FORK[0] and sys.platform == "linux"


class Beside(Generic[T]):
    """``fn()`` run beside the solve, for work whose answer is needed only at the end.

    :meth:`result` waits for the answer and raises what the work raised; if a child stopped without an
    answer (killed), the work is done again in the caller's thread. The work runs in a forked child when
    ``fork`` asks for one and :func:`fork_beside` allows it (``fn`` is not pickled: the child has it; its answer
    must pickle), else in a daemon thread. Either way an interrupted solve does not wait for it at exit, and a
    caller that fails before asking for the answer leaves the work to finish on its own (its error, if any,
    unread).
    """

    def __init__(self, fn: Callable[[], T], name: str, *, fork: bool = True) -> None:
        self._fn = fn
        self._value: list[T] = []  # the answer, once there is one (an answer may be None)
        self._error: BaseException | None = None
        self._lost = False  # a child that stopped without an answer (killed): the work is done again here
        self.forked = False
        """Whether the work runs in a child process."""
        target: Callable[..., None] = self._run
        args: tuple[Any, ...] = (fn,)
        if fork and _forking():
            try:
                child, receive = _fork(fn, name)
            except OSError:
                pass  # (no fork to be had: a thread does the work)
            else:
                target, args, self.forked = self._receive, (receive, child), True
        self._thread = threading.Thread(target=target, args=args, name=f"matcher-{name}", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._value.append(fn())
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def _receive(self, receive: Connection, child: Any) -> None:
        """Wait (without the GIL) for the child's answer, then for the child."""
        try:
            ok, value = receive.recv()
        except Exception:  # the child stopped without answering, or its answer does not unpickle
            self._lost = True
        else:
            if ok:
                self._value.append(value)
            else:
                self._error = value
        finally:
            receive.close()
            child.join()

    def result(self) -> T:
        """The work's answer, once done (waits for it); raises what the work raised."""
        self._thread.join()
        if self._lost:
            self._lost = False
            self._run(self._fn)
        if self._error is not None:
            raise self._error
        return self._value[0]


def _fork(fn: Callable[[], Any], name: str) -> tuple[Any, Connection]:
    """Start the child that runs ``fn``; its process and the end of the pipe it answers through.

    Ctrl-C and SIGTERM are held back over the fork: the command line's handler raises, and raised inside
    Python's after-fork hooks it would be swallowed there (the parent would go on as if cancelled, and publish).
    In the parent the held signals are delivered once the child runs (:func:`~matcher.engine.context.held_signals`);
    the child starts with them blocked, and takes them with their default action once it has let go of the
    parent's handlers and wake-up descriptor (:func:`_answer`), so a signal meant for the child does not reach
    the parent's solve.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    for stream in (sys.stdout, sys.stderr):  # (else the child may write what was buffered again)
        if stream is not None:
            stream.flush()
    child = ctx.Process(target=_answer, args=(fn, send, receive, os.getpid()), name=f"matcher-{name}", daemon=True)
    with held_signals(), warnings.catch_warnings():
        # Python 3.12+ warns of forking a process with threads: the command line's own threads wait on a pipe
        # or an event and hold no lock the child takes (it runs fn, pickles and writes to its pipe)
        warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                                category=DeprecationWarning)
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        try:
            child.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    send.close()
    return child, receive


def _answer(fn: Callable[[], Any], send: Connection, receive: Connection, parent: int) -> None:
    """In the child: run ``fn`` and send ``(True, answer)`` or ``(False, error)``.

    First the child lets go of what it shares with the parent: its copy of the pipe's reading end (so that a
    parent gone makes the answer fail instead of filling the pipe), the parent's wake-up descriptor
    (:func:`signal.set_wakeup_fd`, which the command line watches for signals meant for itself), and the
    parent's standard output and error (so that a caller reading them sees the command end when the parent
    does). It dies with the parent (``PR_SET_PDEATHSIG``), takes SIGINT and SIGTERM with their default action,
    and only then unblocks them.
    """
    receive.close()
    wakeup = signal.set_wakeup_fd(-1)
    if wakeup != -1:
        os.close(wakeup)
    for s in HELD_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    with open(os.devnull, "wb") as null:
        for fd in (1, 2):
            os.dup2(null.fileno(), fd)
    _die_with_parent(parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
    try:
        reply: tuple[bool, Any] = (True, fn())
    except BaseException as exc:  # sent to the parent, which raises it from result()
        reply = (False, exc)
    try:
        send.send(reply)
    except OSError:  # the parent is gone (interrupted): no one to answer
        pass
    except Exception as exc:  # an answer or an error that does not pickle
        with contextlib.suppress(OSError):
            send.send((False, RuntimeError(f"the answer beside the solve cannot be sent back: {exc!r}")))
    finally:
        send.close()


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the thread that forked it ends (prctl(2), ``PR_SET_PDEATHSIG``).

    A ``parent`` (its pid) that ended before the request has left this process to another: it ends now.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


_PR_SET_PDEATHSIG = 1
"""prctl(2)'s option number (``linux/prctl.h``)."""
