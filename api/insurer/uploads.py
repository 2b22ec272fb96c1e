"""Parse an uploaded table (JSON or CSV) into validated rows, naming bad fields.

JSON bodies are ``{"rows": [...]}`` or a bare list; CSV bodies have a header line. Either
way each row is validated by the same pydantic model, and an error names the row and
field as ``rows[i].field`` (``i`` counts data rows from 0; for CSV the message also gives
the line number), so the insurer can fix the file.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from api.errors import ApiError, field_path
from core.errors import FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)
MAX_ROWS = 1_000_000


class UnsupportedMediaType(ApiError):
    """The upload is neither JSON nor CSV."""

    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


def _raw_rows(body: bytes, content_type: str) -> tuple[list[Any], bool]:
    media = content_type.split(";")[0].strip().lower()
    if media in {"application/json", ""}:
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # too deep: 400
            raise ApiError(
                "the body is not valid JSON", errors=[{"field": "body", "message": str(exc)}]
            ) from exc
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise InvalidInput(
                'expected {"rows": [...]} or a JSON list',
                errors=[{"field": "rows", "message": "must be a list"}],
            )
        return rows, False
    if media in {"text/csv", "application/csv"}:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "CSV must be UTF-8", errors=[{"field": "body", "message": "not UTF-8"}]
            ) from exc
        return _csv_rows(text), True
    raise UnsupportedMediaType(f"send application/json or text/csv, not {media!r}")


def _csv_rows(text: str) -> list[dict[str, str]]:
    """Data rows of a CSV text as dicts; a reader error or a NUL names the row and line.

    ``csv.Error`` (a field over the module's 131,072-character limit, a CR inside an
    unquoted field) would otherwise escape as a 500 (found by fuzzing, docs/faults.md);
    NUL is legal CSV but PostgreSQL text cannot store it.
    """
    reader = csv.DictReader(io.StringIO(text))
    rows: list[dict[str, str]] = []
    try:
        for r in reader:
            # Empty cells mean "absent", so optional fields may be left blank.
            row = {k: v for k, v in r.items() if k and v not in (None, "")}
            for k, v in row.items():
                if "\x00" in k or "\x00" in v:
                    field = f"rows[{len(rows)}]." + k.replace("\x00", "\\u0000")
                    msg = f"line {reader.line_num}: must not contain the NUL character (\\u0000)"
                    raise InvalidInput(
                        f"invalid fields: {field}", errors=[{"field": field, "message": msg}]
                    )
            rows.append(row)
    except csv.Error as exc:
        line = reader.reader.line_num  # DictReader's own count stops at the last good row
        raise InvalidInput(
            f"CSV cannot be read at line {line}",
            errors=[{"field": f"rows[{len(rows)}]", "message": f"line {line}: {exc}"}],
        ) from exc
    return rows


def parse(model: type[M], body: bytes, content_type: str) -> list[M]:
    rows, is_csv = _raw_rows(body, content_type)
    if not rows:
        raise InvalidInput("no rows", errors=[{"field": "rows", "message": "at least one row"}])
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"at most {MAX_ROWS} rows per upload",
            errors=[{"field": "rows", "message": "too many rows"}],
        )
    try:
        return TypeAdapter(list[model]).validate_python(rows)  # type: ignore[valid-type]
    except ValidationError as exc:
        errors: list[FieldError] = []
        for e in exc.errors()[:50]:
            loc = e["loc"]
            msg = str(e["msg"])
            if is_csv and loc and isinstance(loc[0], int):
                msg = f"line {loc[0] + 2}: {msg}"
            errors.append({"field": field_path(("body", "rows", *loc)), "message": msg})
        raise InvalidInput(
            f"{exc.error_count()} invalid value(s) in the upload", errors=errors
        ) from exc
