"""Expected failures that the command line reports as one line (no imports, so cheap).

They live here rather than beside the code that raises them so that ``foxdog.cli``
can catch them without importing curation, rendering or DVC code first.
"""


class ConfigError(ValueError):
    """A parameter is missing, mistyped or out of range."""


class CurationError(RuntimeError):
    """Curation cannot proceed; the message names the file or key at fault."""


class FetchError(RuntimeError):
    """The raw data could not be materialised or no longer matches ``data.dvc``."""


class RenderError(RuntimeError):
    """A page could not be rendered; the message names the page and the cell."""


class WeightsError(ValueError):
    """A weight file cannot be read or does not fit the model; the message names the file."""
