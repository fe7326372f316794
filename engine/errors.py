"""The engine's own exceptions; the web layer maps them to HTTP statuses in one place."""
from __future__ import annotations


class EngineError(Exception):
    """Base for refusals the user can act on; `code` is stable for API clients."""

    code = "engine_error"

    def __init__(self, message: str, /, **params):
        super().__init__(message % params if params else message)
        self.template = message
        self.params = params


class NotFound(EngineError):
    code = "not_found"


class InvalidInput(EngineError):
    """Bad form data or arguments; `fields` maps field name -> problem."""

    code = "invalid_input"

    def __init__(self, message: str, /, fields: dict[str, str] | None = None,
                 field_templates: dict[str, tuple[str, dict]] | None = None, **params):
        super().__init__(message, **params)
        self.field_templates = field_templates or {k: (v, {}) for k, v in (fields or {}).items()}
        self.fields = fields or {k: (t % p if p else t) for k, (t, p) in self.field_templates.items()}


class NotAllowed(EngineError):
    """The user may not do this (role, claim, assignment). Policy refusals subclass it too."""

    code = "not_allowed"


class ConcurrentChange(EngineError):
    """Someone changed the same process instance first; reload and try again."""

    code = "concurrent_change"


class ScriptFailed(EngineError):
    """A script or expression in the BPMN raised; the step was rolled back."""

    code = "script_failed"
    instance_id: int | None = None  # the instance whose step failed, when known (for its incident)
    step_id: str | None = None
    step_name: str | None = None
    process_id: str | None = None


class TooManyAttempts(NotAllowed):
    """Too many failed sign-ins for one user name; `seconds` says how long to wait."""

    code = "too_many_attempts"


class DatabaseUnavailable(EngineError):
    """The database connection dropped or cannot be opened; nothing was saved. Try again in a moment."""

    code = "database_unavailable"


class PositionRefused(InvalidInput):
    """One row of the core banking feed refused: `field` names what is wrong; the other rows still land."""

    def __init__(self, message: str, /, on: str, **params):
        super().__init__(message, field_templates={on: (message, params)}, **params)
        self.field = on
