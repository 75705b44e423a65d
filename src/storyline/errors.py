"""Exceptions raised inside stages; the pipeline turns them into one-line ``InputError``s."""


class StorylineError(Exception):
    """Base class for Storyline's own errors."""


class InputProblem(StorylineError):
    """An input cannot be processed; ``str(exc)`` is the one-line reason shown to the user."""


class UsageError(StorylineError):
    """The caller asked for something impossible (bad option combination, unknown format)."""


class InvalidValue(UsageError):
    """A value the user gave cannot be used as that (a date that is no date, a story left with
    no source): the web API answers it with 422."""
