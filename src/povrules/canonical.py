"""Canonical JSON: the one text of a document that povrules hashes, stores and compares.

The canonical form is what ``json.dumps(doc, sort_keys=True, ensure_ascii=False,
separators=(",", ":"))`` writes: keys sorted by code point, no spaces, text as UTF-8 (only ``"``,
``\\`` and the control characters U+0000–U+001F escaped, the latter as ``\\n``, ``\\t`` … or
``\\u00xx``). This module writes it through orjson, several times faster, and byte for byte the
same wherever the two can differ:

=============================  ==========================================================================
case                           what happens
=============================  ==========================================================================
ints beyond 64 bits            the stdlib writes the document (orjson refuses them)
lone surrogates in text        :func:`canonical_json` returns the stdlib's text, as before; the UTF-8 of
                               :func:`canonical_bytes` and :func:`sha256_digest` cannot hold them:
                               :class:`CanonicalError`
keys that are str subclasses   the stdlib writes the document (orjson refuses them)
keys that are not str          :class:`CanonicalError` (the stdlib would turn ``1`` into ``"1"`` and
                               ``True`` into ``"true"``: two documents, one text)
floats                         povrules documents hold none (exact decimals are strings). orjson and the
                               stdlib write a finite float alike except below 1e-4 (``0.00001`` against
                               ``1e-05``) and exponents of one digit (``1e-7`` against ``1e-07``): when
                               orjson's output shows either, the stdlib writes the document
NaN, Infinity                  :class:`CanonicalError`: not JSON (the stdlib wrote ``NaN``, orjson
                               ``null``: neither can be read back as the value it was)
nesting deeper than 254        the stdlib writes the document (orjson's limit); a cycle, or nesting
                               beyond Python's recursion limit, is a :class:`CanonicalError`
str, int, dict, list           written as their base type, by both
subclasses, tuples
dates, Decimal, sets,          :class:`CanonicalError`, as the stdlib refused them (orjson would write
dataclasses, other objects     dates and dataclasses): convert them first (``json_value``)
=============================  ==========================================================================

The checks on orjson's output are substring searches (``null``, ``0.0000``, ``e-``), so the fast
path costs one orjson call and a few scans of its bytes; a false alarm only sends a document to
the stdlib, whose text is by definition the canonical one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel

from povrules.errors import PovrulesError

__all__ = [
    "CanonicalError",
    "canonical_bytes",
    "canonical_json",
    "facts_digest",
    "facts_json",
    "json_value",
    "sha256_digest",
]

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# A float orjson writes unlike repr(): an exponent of one digit, right before what ends a number.
_SHORT_EXPONENT = re.compile(rb"e-[1-9][,\]}]|e-[1-9]$")


class CanonicalError(PovrulesError, ValueError):
    """A document has no canonical JSON: a key that is not text, NaN or Infinity, a value JSON cannot
    hold (a date, a Decimal, an object), a cycle, or (as bytes) text that is not valid Unicode.

    A ``ValueError`` too, as the stdlib's refusals were (``TypeError`` for unknown types aside), so that
    callers catching those keep working. ``path`` is where in the document the problem is, when known.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _where(parts: list[str]) -> str:
    return "".join(parts) or "(document)"


def _check(doc: Any, path: list[str]) -> None:
    """Refuse what the stdlib would write but canonical JSON cannot hold: non-str keys, NaN, Infinity."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not isinstance(key, str):
                raise CanonicalError(f"a key must be text, found {type(key).__name__} {key!r}", _where(path))
            path.append(f".{key}")
            _check(value, path)
            path.pop()
    elif isinstance(doc, (list, tuple)):
        for index, value in enumerate(doc):
            path.append(f"[{index}]")
            _check(value, path)
            path.pop()
    elif isinstance(doc, float) and not math.isfinite(doc):
        raise CanonicalError(f"{doc!r} is not JSON (a record holds exact decimals as strings)", _where(path))


def _stdlib(doc: Any) -> str:
    """The reference writer, for the documents orjson writes otherwise or refuses."""
    try:
        _check(doc, [])
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise CanonicalError("nested too deeply to write") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CanonicalError):
            raise
        raise CanonicalError(str(exc)) from None


def _orjson(doc: Any) -> bytes | None:
    """orjson's text when it is the canonical text; None when the stdlib must write the document."""
    try:
        out = orjson.dumps(doc, default=_refuse, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return None  # big ints, surrogates, str-subclass or non-str keys, depth, unknown types: the stdlib decides
    if b"null" in out:
        _check(doc, [])  # NaN and Infinity come out as null
    if b"0.0000" in out or (b"e-" in out and _SHORT_EXPONENT.search(out)):
        return None
    return out


def canonical_json(doc: Any) -> str:
    """The document's canonical JSON text (see the module docstring).

    Raises :class:`CanonicalError` for a document that has none (non-str keys, NaN, Infinity,
    values that are not JSON, cycles).
    """
    out = _orjson(doc)
    return _stdlib(doc) if out is None else out.decode("utf-8")


def canonical_bytes(doc: Any, *, floats: bool = True) -> bytes:
    """The UTF-8 bytes of :func:`canonical_json`.

    ``floats=False`` is the caller's word that the document holds no float (povrules' own traces
    and facts: amounts are exact decimals written as strings). The checks that only floats need
    (NaN and Infinity, written as ``null``; the spelling of small numbers) are then skipped — on a
    trace full of ``null`` they cost more than writing it.

    Raises :class:`CanonicalError` as :func:`canonical_json` does, and for text holding a lone
    surrogate (which UTF-8 cannot encode).
    """
    if not floats:
        try:
            return orjson.dumps(doc, default=_refuse, option=_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # big ints, surrogates, keys that are not plain str …: the checked path decides
    out = _orjson(doc)
    if out is not None:
        return out
    text = _stdlib(doc)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError(f"text that is not valid Unicode ({exc.reason}: {text[exc.start : exc.end]!r})") from None


def sha256_digest(doc: Any, *, floats: bool = True) -> str:
    """``"sha256:"`` and the hex sha256 of the document's :func:`canonical_bytes` (``floats`` as there): the
    one digest povrules gives documents (rulesets' definitions, facts, records, log markers).

    Raises :class:`CanonicalError` as :func:`canonical_bytes` does.
    """
    return "sha256:" + hashlib.sha256(canonical_bytes(doc, floats=floats)).hexdigest()


def facts_json(facts: BaseModel) -> dict[str, Any]:
    """The facts as a record holds them: JSON values (decimals and dates as strings), unknown facts left out."""
    return facts.model_dump(mode="json", exclude_none=True)


def facts_digest(facts: BaseModel) -> str:
    """sha256 of the facts' canonical JSON (unknown facts left out), as records and traces give it."""
    return sha256_digest(facts_json(facts), floats=False)  # no floats in facts


_SCALARS = frozenset({str, int, bool, type(None)})


def json_value(value: Any) -> Any:
    """A fact or parameter value as JSON: decimals and dates as strings, unknown as the facts it lacks.

    An object with a ``json_form()`` method (the expression language's ``Unknown``) gives its own form: this
    module sits below the language, so it asks rather than imports.
    """
    if type(value) in _SCALARS or value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (Decimal, date)):
        return str(value)
    json_form = getattr(value, "json_form", None)
    if json_form is not None:
        return json_form()
    if isinstance(value, (tuple, list, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)
