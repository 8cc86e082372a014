"""Config errors as installers read them: every problem at once, each naming the key path,
the value found (passwords redacted) and what is allowed or what was probably meant."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

NAME_HINT = "letters, digits, '_', '.', '-' (no spaces, no '/', '+', '#'), at most 63 characters"


class ConfigError(Exception):
    """All problems of one config file; `lines` are ready to print, one per problem."""

    exit_code = 2

    def __init__(self, path: str | Path, lines: list[str]) -> None:
        self.path = str(path)
        self.lines = lines
        super().__init__(f"{self.path}: {len(lines)} problem(s)\n" + "\n".join(
            f"  - {line}" for line in lines))


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _known_keys(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def _models_in(ann: Any) -> list[type[BaseModel]]:
    """Every model class an annotation can hold (through list, Optional, Union, Annotated)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    return [m for a in getattr(ann, "__args__", ()) or () for m in _models_in(a)]


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose field set the last key of `loc` belongs to (for suggestions).
    A tagged union's tag in `loc` (pydantic puts it after the index) picks its member."""
    model: Any = root
    choices: list[type[BaseModel]] = []
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        tagged = [m for m in choices if getattr(m.model_fields.get("type"), "annotation", None)
                  is not None and part in getattr(m.model_fields["type"].annotation, "__args__", ())]
        if tagged:
            model, choices = tagged[0], []
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        choices = _models_in(field.annotation)
        if not choices:
            return None
        model = choices[0]
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def redact_url(text: str) -> str:
    """`text` with the password of a URL in it replaced by ***: error messages repeat what
    they refuse, and a password must never reach a terminal or a log."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.password is None:
        return text
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _describe(err: Mapping[str, Any], prefix: tuple[Any, ...], model: type[BaseModel] | None) -> str:
    loc = prefix + tuple(err["loc"])
    where = _loc(loc)
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        key = err["loc"][-1]
        owner = model if model is not None else None
        known = _known_keys(owner)
        hint = difflib.get_close_matches(str(key), known, n=1)
        fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(known) or 'none'}"
        return f"{where}: unknown key '{key}'; {fix}"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    shown = repr(redact_url(value) if isinstance(value, str) else value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "string_pattern_mismatch":
        msg = f"not a valid name: use {NAME_HINT}"
    return f"{where}: {shown} is not allowed: {msg}"


def describe_errors(exc: ValidationError, prefix: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    return [_describe(e, prefix, _model_at(root, tuple(e["loc"]))) for e in exc.errors()]
