"""What a deployment check finds: a Problem (file, line, element, and its message as a translatable template),
and the message templates of the expression and script checks, each a whole sentence for translation."""
from __future__ import annotations

from dataclasses import dataclass

from engine.views import Inner, filled


@dataclass(frozen=True)
class Problem:
    """One reason a set of process files cannot be deployed."""

    file: str
    line: int | None
    element: str | None
    message: str  # in English (logs, and wherever no reader's language is known)
    severity: str = "error"  # "error": nothing deploys; "warning": shown, deploying still works
    rule: str | None = None  # the lint rule that found it (None for validation)
    template: str | None = None  # the message as a gettext msgid with %(name)s parameters, for the reader's language
    params: tuple = ()  # (name, value) pairs filling the template

    def text(self, gettext) -> str:
        """The message in the reader's language: `gettext` translates one msgid; English when none is known."""
        return filled(self.template, self.params, self.message, gettext)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f", line {self.line}"
        if self.element:
            where += f", element '{self.element}'"
        return f"{where}: {self.message}"


def N_(message: str) -> str:
    """Marks a problem's template for the catalogs; it is translated where the reader's language is known."""
    return message


def problem(file: str, line: int | None, element: str | None, template: str, /, **params) -> Problem:
    """A validation error whose message is a template: English in `message`, the reader's language through
    `text()`. Every keyword is a parameter of the template (lint builds its own Problems with severity and rule)."""
    return Problem(file, line, element, template % params if params else template, "error", None, template,
                   tuple(sorted(params.items())))


def inner(exc) -> Inner | str:
    """An exception's reason as a message of its own where it has a template (ours do), else its English text."""
    template = getattr(exc, "template", None)
    return Inner(template, tuple(sorted((getattr(exc, "params", None) or {}).items()))) if template else str(exc)


class DeploymentRejected(ValueError):
    """The files were refused; nothing was deployed."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# An expression that does not parse, by what it is for (every template is a whole sentence, for translation).
EXPRESSION_INVALID = {
    "gateway condition": N_("gateway condition '%(source)s' is not valid: %(error)s"),
    "multi-instance cardinality": N_("multi-instance cardinality '%(source)s' is not valid: %(error)s"),
    "multi-instance condition": N_("multi-instance condition '%(source)s' is not valid: %(error)s"),
    "timer expression": N_("timer expression '%(source)s' is not valid: %(error)s"),
    "assignee expression": N_("assignee expression '%(source)s' is not valid: %(error)s"),
    "due expression": N_("due expression '%(source)s' is not valid: %(error)s"),
}

# An expression the restricted evaluator will not run; `reason` is the evaluator's (English) reason.
EXPRESSION_REFUSED = {
    "gateway condition": N_("gateway condition '%(source)s' is refused: %(reason)s"),
    "multi-instance cardinality": N_("multi-instance cardinality '%(source)s' is refused: %(reason)s"),
    "multi-instance condition": N_("multi-instance condition '%(source)s' is refused: %(reason)s"),
    "timer expression": N_("timer expression '%(source)s' is refused: %(reason)s"),
    "assignee expression": N_("assignee expression '%(source)s' is refused: %(reason)s"),
    "due expression": N_("due expression '%(source)s' is refused: %(reason)s"),
}

# An expression calling a function that does not exist when it runs.
EXPRESSION_UNKNOWN_CALL = {
    "gateway condition": N_("gateway condition '%(source)s' calls '%(name)s', which does not exist when it runs; the "
                            "functions available are %(functions)s"),
    "multi-instance cardinality": N_("multi-instance cardinality '%(source)s' calls '%(name)s', which does not exist "
                                     "when it runs; the functions available are %(functions)s"),
    "multi-instance condition": N_("multi-instance condition '%(source)s' calls '%(name)s', which does not exist "
                                   "when it runs; the functions available are %(functions)s"),
    "timer expression": N_("timer expression '%(source)s' calls '%(name)s', which does not exist when it runs; the "
                           "functions available are %(functions)s"),
    "assignee expression": N_("assignee expression '%(source)s' calls '%(name)s', which does not exist when it runs; "
                              "the functions available are %(functions)s"),
    "due expression": N_("due expression '%(source)s' calls '%(name)s', which does not exist when it runs; the "
                         "functions available are %(functions)s"),
}

# A script (or pre-/post-script) that does not parse.
SCRIPT_INVALID = {
    "script": N_("script line %(script_line)s: %(error)s"),
    "prescript": N_("prescript line %(script_line)s: %(error)s"),
    "postscript": N_("postscript line %(script_line)s: %(error)s"),
}

# A script the restricted evaluator will not run, where the refused line is known.
SCRIPT_REFUSED = {
    "script": N_("script line %(script_line)s is refused: %(reason)s"),
    "prescript": N_("prescript line %(script_line)s is refused: %(reason)s"),
    "postscript": N_("postscript line %(script_line)s is refused: %(reason)s"),
}

# A script the restricted evaluator will not run as a whole.
SCRIPT_REFUSED_ANYWHERE = {
    "script": N_("script is refused: %(reason)s"),
    "prescript": N_("prescript is refused: %(reason)s"),
    "postscript": N_("postscript is refused: %(reason)s"),
}

# A script calling a function that does not exist when it runs.
SCRIPT_UNKNOWN_CALL = {
    "script": N_("script line %(script_line)s calls '%(name)s', which does not exist when it runs; the functions available "
                 "are %(functions)s"),
    "prescript": N_("prescript line %(script_line)s calls '%(name)s', which does not exist when it runs; the functions "
                    "available are %(functions)s"),
    "postscript": N_("postscript line %(script_line)s calls '%(name)s', which does not exist when it runs; the functions "
                     "available are %(functions)s"),
}


# What an English catalog lacks for an element that shows words.
UNTRANSLATED = {
    ("name",): N_("no English name for '%(label)s'"),
    ("instructions",): N_("no English instructions for '%(label)s'"),
    ("name", "instructions"): N_("no English name or instructions for '%(label)s'"),
}
