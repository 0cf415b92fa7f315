"""The one exception type users see as a single line (see ``facegen.cli.guard``)."""


class FacegenError(Exception):
    """A problem with the user's input: the message names the file and the fix."""
