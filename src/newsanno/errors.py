"""One exception hierarchy: every user-facing failure is a NewsannoError with a message that names
the cause and the next step. The CLI turns these into one line on stderr and exit code 1."""

from __future__ import annotations


class NewsannoError(Exception):
    """A problem the user can fix: bad input, a missing file, an unreachable server."""


class SeedError(NewsannoError):
    """A seed article or its metadata cannot be read."""


class OntologyError(NewsannoError):
    """schema/ontology.json is missing, not JSON, or inconsistent."""


class TasksError(NewsannoError):
    """A tasks file or labeling config cannot be read."""


class LabelStudioError(NewsannoError):
    """Label Studio cannot be reached, refused a request, or answered something unexpected."""


class ServerError(NewsannoError):
    """The embedded Label Studio server cannot be started, found or stopped."""


class ExportFormatError(NewsannoError):
    """A Label Studio export file is not a full-JSON export."""


class InvalidAnnotations(NewsannoError):
    """Annotation records break the schema or the ontology."""


class PublishError(NewsannoError):
    """The dataset cannot be published."""
