"""Forms that say what is wrong beside the field: parse what was typed, check it against the API's own request
schema (msgspec: the same bounds as the HTTP API), call the service, and show each refusal under its field in the
user's language. Nothing is written unless every check passed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from reactpy import html, use_state

from backend.errors import Invalid, ServiceError
from pwa.ui import App, action, error_text, form, form_value

_AT = re.compile(r" - at `\$\.([a-z_]+)")
_BOUND = re.compile(r"(<=|>=|<|>) (\d+)")


class FieldProblem(Exception):
    """A value the screen could not parse: `reason` names the catalog entry (form.<reason>)."""

    def __init__(self, field: str, reason: str, **values: Any) -> None:
        super().__init__(field)
        self.field, self.reason, self.values = field, reason, values


def problem_from_schema(exc: msgspec.ValidationError) -> FieldProblem:
    """msgspec's message ("Expected `str` of length <= 100 - at `$.name`") as a field and a reason."""
    text = str(exc)
    match = _AT.search(text)
    field = match.group(1) if match else ""
    bound = _BOUND.search(text)
    if "length >= 1" in text:
        return FieldProblem(field, "required")
    if "length <=" in text and bound:
        return FieldProblem(field, "too_long", max=bound.group(2))
    if "Invalid enum value" in text:
        return FieldProblem(field, "choice")
    if ">= 0" in text or "> 0" in text:
        return FieldProblem(field, "negative")
    if "<=" in text and bound:
        return FieldProblem(field, "too_large", max=bound.group(2))
    if "Expected `int`" in text or "Expected `decimal`" in text or "got `str`" in text:
        return FieldProblem(field, "number")
    return FieldProblem(field, "invalid")


def checked(schema: type[msgspec.Struct], values: dict[str, Any]) -> dict[str, Any]:
    """`values` as the API would accept them (the request schema's bounds), or the first FieldProblem."""
    try:
        struct = msgspec.convert(values, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise problem_from_schema(exc) from None
    except Invalid as exc:  # a schema's own __post_init__ check
        raise FieldProblem(exc.field or "", "service", message=exc.message) from None
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if v is not msgspec.UNSET and k in values}


def text(data: Any, name: str) -> str:
    return form_value(data, name).strip()


def whole_number(data: Any, name: str) -> int | None:
    raw = text(data, name).replace(",", "").replace("，", "")
    if not raw:
        return None
    if not re.fullmatch(r"-?\d+", raw):
        raise FieldProblem(name, "number")
    value = int(raw)
    if value < 0:
        raise FieldProblem(name, "negative")
    return value


def amount(data: Any, name: str, *, required: bool = True) -> decimal.Decimal | None:
    raw = text(data, name).replace(",", "").replace("，", "").lstrip("¥")
    if not raw:
        if required:
            raise FieldProblem(name, "required")
        return None
    try:
        value = decimal.Decimal(raw)
    except decimal.InvalidOperation:
        raise FieldProblem(name, "number") from None
    if not value.is_finite():
        raise FieldProblem(name, "number")
    if value < 0:
        raise FieldProblem(name, "negative")
    if value > decimal.Decimal("999999999999.99"):
        raise FieldProblem(name, "too_large", max="999,999,999,999.99")
    if value != value.quantize(decimal.Decimal("0.01")):
        raise FieldProblem(name, "decimals")
    return value


def local_time(app: App, data: Any, name: str) -> dt.datetime:
    """A `datetime-local` value read in the branch's time zone, as UTC."""
    raw = text(data, name)
    if not raw:
        raise FieldProblem(name, "required")
    try:
        naive = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise FieldProblem(name, "time") from None
    return naive.replace(tzinfo=app.fmt.tz).astimezone(dt.UTC)


def local_input(app: App, value: dt.datetime | None) -> str:
    """A stored time as a `datetime-local` control's value in the branch's time zone."""
    return app.fmt.local(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def message(app: App, labels: dict[str, str], field: str, reason: str, **values: Any) -> str:
    label = labels.get(field) or field
    return app.t(f"form.{reason}", label=label, **values)


def service_message(app: App, labels: dict[str, str], exc: ServiceError) -> tuple[str, str]:
    """A service's refusal as (field, words): known reasons from the catalog, else the generic text per code."""
    field = exc.field or ""
    reason = (exc.extra or {}).get("reason")
    if reason == "above_outstanding":
        return field, message(app, labels, field, "above_outstanding",
                              amount=app.fmt.money(exc.extra.get("still_due")))
    if reason:
        return field, message(app, labels, field, str(reason))
    if exc.code == "invalid" and field in labels:
        return field, message(app, labels, field, "invalid_value", detail=exc.message if app.lang == "en" else "")
    return field, error_text(app, exc)


def use_form_errors() -> tuple[dict[str, str], Callable[[dict[str, str]], None]]:
    errors, set_errors = use_state(dict)
    return errors, set_errors


def submit(app: App, labels: dict[str, str], set_errors: Callable[[dict[str, str]], None],
           work: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """The form's submit handler: `work(actor, data)` runs the checks and the service call; each refusal lands
    under its field (or at the top when it names none) and nothing else happens."""

    async def run(actor: Any, data: Any) -> None:
        try:
            await work(actor, data)
        except FieldProblem as problem:
            if problem.reason == "service":
                set_errors({problem.field: problem.values.get("message", "")})
            else:
                set_errors({problem.field: message(app, labels, problem.field, problem.reason, **problem.values)})
            return
        except ServiceError as exc:
            field, words = service_message(app, labels, exc)
            set_errors({field if field in labels else "": words})
            return
        set_errors({})

    return action(app, run)


def field(name: str, label: str, control: Any, errors: dict[str, str], form_id: str, hint: Any = "") -> Any:
    """A labelled control with its refusal under it (the label names the field in the message, too)."""
    error = errors.get(name, "")
    return html.label(
        {"className": "field", "data-field": name},
        label,
        control,
        html.span({"className": "small muted"}, hint) if hint else "",
        html.span({"className": "message error small field-error", "role": "alert", "id": f"{form_id}-{name}-error",
                   "data-error": name}, error) if error else "",
    )


def top_error(errors: dict[str, str], form_id: str) -> Any:
    error = errors.get("", "")
    return html.p({"className": "message error", "role": "alert", "id": f"{form_id}-error"}, error) if error else ""


def input_(name: str, errors: dict[str, str], **attributes: Any) -> Any:
    return html.input({"className": "input", "name": name, "aria-invalid": str(name in errors).lower(),
                       **attributes})


def select(name: str, options: list[tuple[str, str]], selected: str = "", **attributes: Any) -> Any:
    return html.select({"className": "input", "name": name, "defaultValue": selected, **attributes},
                       *[html.option({"value": value, "key": value}, label) for value, label in options])


__all__ = ["FieldProblem", "amount", "checked", "field", "form", "input_", "local_input", "local_time", "select",
           "submit", "text", "top_error", "use_form_errors", "whole_number"]
