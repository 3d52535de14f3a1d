"""One exception type per failure a user can act on. Every message names the offending thing and the fix."""

from pydantic import ValidationError


class CausalSamError(Exception):
    """Base class for all errors this package raises on purpose."""


class InvalidImageError(CausalSamError, ValueError):
    """An image array cannot be segmented as given (NaN, wrong shape, wrong dtype, empty)."""


class UnknownEncoderError(CausalSamError, KeyError):
    """An encoder name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class CheckpointError(CausalSamError, ValueError):
    """A weights file is missing, unreadable, or does not fit the architecture."""


class CacheError(CausalSamError, OSError):
    """The embedding cache folder cannot be used."""


class DataLayoutError(CausalSamError, ValueError):
    """A data set folder or file does not match the layout its loader expects."""


def validation_problems(exc: ValidationError) -> str:
    """Every problem pydantic found, as `field: what is allowed (got what was given)`, joined by "; "."""
    return "; ".join(_problem(e) for e in exc.errors())


def _problem(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix for our own validators' messages
    if not error["loc"]:  # a check across fields (slices against the volume): its message names what was given
        return message
    # a union's members appear in the location as pydantic's tags (organ.literal['liver',…]): the field is enough
    field = ".".join(str(part) for part in error["loc"] if "[" not in str(part))
    return f"{field}: {message} (got {_shortened(repr(error['input']))})"


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
