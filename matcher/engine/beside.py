"""Work beside the solve: a thread, or a forked process where the caller lets the solve fork.

Some work's answer is needed only at the end of a solve: the unmet ladder's counts (about 1 s on a district)
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
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

__all__ = ["Beside", "fork_beside"]

T = TypeVar("T")

_FORK: list[bool] = [False]  # whether Beside may fork (fork_beside)


def fork_beside(on: bool = True) -> None:
    """Let :class:`Beside` run its work in a forked child process (Linux only), or stop it.

    For a process that runs no threads which could hold a lock while it forks (the command line: its own
    threads only wait on events). Off by default.
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
                ctx = multiprocessing.get_context("fork")
                receive, send = ctx.Pipe(duplex=False)
                for stream in (sys.stdout, sys.stderr):  # (else the child may write what was buffered again)
                    stream.flush()
                child = ctx.Process(target=_answer, args=(fn, send), name=f"matcher-{name}", daemon=True)
                child.start()
            except OSError:
                pass  # (no fork to be had: a thread does the work)
            else:
                send.close()
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
        except (EOFError, OSError):  # the child stopped without answering
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


def _answer(fn: Callable[[], Any], send: Connection) -> None:
    """In the child: run ``fn`` and send ``(True, answer)`` or ``(False, error)``.

    The child takes the default action of SIGINT and SIGTERM, and lets go of the parent's wake-up descriptor
    (:func:`signal.set_wakeup_fd`, which the command line watches for signals meant for itself).
    """
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)
    wakeup = signal.set_wakeup_fd(-1)
    if wakeup != -1:
        os.close(wakeup)
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
