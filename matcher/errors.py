"""Exceptions raised for bad input.

Every user mistake becomes one of these, with a message that names the record
and the field. Anything else escaping the library is a bug in matcher.
"""

from __future__ import annotations


class MatcherError(Exception):
    """Base class of every error matcher raises on purpose."""


class ProblemError(MatcherError, ValueError):
    """The input does not follow the contract of SPEC.md.

    Parameters
    ----------
    errors
        One line per problem found, each naming the record and the field,
        e.g. ``"volunteers[3] (id 'v7').lat: must be <= 90"``.

    """

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        shown = self.errors[:20]
        more = len(self.errors) - len(shown)
        text = "; ".join(shown) + (f"; ... and {more} more" if more > 0 else "")
        super().__init__(text)

    def __reduce__(self) -> tuple[type[ProblemError], tuple[list[str]]]:
        """Pickled by its list of problems (an exception pickles its message by default, which this reads as one)."""
        return type(self), (self.errors,)


class PinnedError(ProblemError):
    """A pinned assignment breaks a hard rule (SPEC.md rule 9)."""


class ResourceLimitError(MatcherError):
    """The problem is estimated to need more memory than the machine (or ``SolveOptions.max_memory_mb``) allows.

    Raised before the large allocations, with the estimate in the message, so
    that a run is refused with a reason instead of being killed by the OS.
    """


class OutputBusyError(MatcherError):
    """Another run holds the output's lock (the same runs folder or database): this run did nothing.

    Two nightly runs on the same output never overlap; the second is refused at once, before loading.
    """
