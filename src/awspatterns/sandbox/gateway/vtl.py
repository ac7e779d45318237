"""API Gateway mapping templates: Velocity, rendered by ``airspeed-ext``, with API Gateway's ``$input``, ``$util``,
``$context`` and ``$stageVariables``."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import airspeed
from jsonpath_ng import parse as parse_jsonpath  # type: ignore[attr-defined]

__all__ = ["MappingError", "render"]


class MappingError(Exception):
    """A template could not be rendered (for instance, ``$input.json`` on a body that is not JSON)."""


class _Input:
    """``$input``: the payload (the request body, or the integration's response body) and the request's
    parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        self.body = body
        self._params = params

    def _document(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise MappingError(f"Could not parse request body into json: {error}") from error

    def path(self, expression: str) -> Any:
        """The value at a JSONPath expression, as an object templates can walk."""
        matches = [match.value for match in parse_jsonpath(expression).find(self._document())]
        if not matches:
            return None
        return matches[0] if len(matches) == 1 else matches

    def json(self, expression: str) -> str:
        """The value at a JSONPath expression, as a JSON string."""
        return json.dumps(self.path(expression))

    def params(self, name: str | None = None) -> Any:
        """All parameters (``path``, ``querystring``, ``header``), or one by name, searched in that order."""
        if name is None:
            return self._params
        for where in ("path", "querystring"):
            if name in self._params[where]:
                return self._params[where][name]
        headers = {k.lower(): v for k, v in self._params["header"].items()}
        return headers.get(name.lower(), "")


class _Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(text: Any) -> str:  # noqa: N802 (API Gateway's name)
        escaped = json.dumps(str(text))[1:-1]
        return escaped.replace("'", "\\'")

    @staticmethod
    def parseJson(text: str) -> Any:  # noqa: N802
        return json.loads(text)

    @staticmethod
    def urlEncode(text: Any) -> str:  # noqa: N802
        return urllib.parse.quote_plus(str(text))

    @staticmethod
    def urlDecode(text: str) -> str:  # noqa: N802
        return urllib.parse.unquote_plus(text)

    @staticmethod
    def base64Encode(text: Any) -> str:  # noqa: N802
        return base64.b64encode(str(text).encode()).decode()

    @staticmethod
    def base64Decode(text: str) -> str:  # noqa: N802
        return base64.b64decode(text).decode()


def render(
    template: str,
    body: str,
    params: dict[str, dict[str, str]],
    context: dict[str, Any],
    stage_variables: dict[str, str],
) -> str:
    """Render one mapping template."""
    namespace = {
        "input": _Input(body, params),
        "util": _Util(),
        "context": context,
        "stageVariables": stage_variables,
    }
    try:
        return str(airspeed.Template(template).merge(namespace))
    except MappingError:
        raise
    except Exception as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, MappingError):
            raise cause from error
        raise MappingError(f"mapping template failed: {error}") from error
