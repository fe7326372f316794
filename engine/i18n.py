"""Translations for text the engine and CLI show people; the web app uses the same catalogs."""
from __future__ import annotations

import gettext
import os
from functools import lru_cache
from pathlib import Path

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LOCALES = ("zh_CN", "en")


CLI_LANG: str | None = None  # the `lang` setting, once the command line has read the settings


def cli_locale() -> str:
    """The `lang` setting (CREDITFLOW_LANG), else the POSIX locale; Chinese when it says zh."""
    raw = (CLI_LANG or os.environ.get("CREDITFLOW_LANG") or os.environ.get("LC_ALL") or os.environ.get("LANG")
           or "en")
    return "zh_CN" if raw.lower().startswith("zh") else "en"


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    return gettext.translation("messages", TRANSLATIONS, languages=[locale], fallback=True)


def _(message: str, /, **params) -> str:
    """Translate for the command line, then fill %(name)s parameters."""
    text = translations(cli_locale()).gettext(message)
    return text % params if params else text


def translate_error(error, locale: str | None = None) -> str:
    """An EngineError or policy Decision in the reader's language (template and params are kept apart)."""
    template = getattr(error, "template", None) or getattr(error, "message_template", None) or str(error)
    params = getattr(error, "params", None) or {}
    text = translations(locale or cli_locale()).gettext(template)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return template % params if params else template
