"""What the export's callers catch, in a module of its own: the chat's senders import it at
start, and the renderers (documents, charts, Typst) only when someone exports."""


class NothingToExport(LookupError):
    """The session or series asked for is gone (or not there yet)."""
