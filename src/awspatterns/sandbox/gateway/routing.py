"""Finding the API, stage, resource and method a request is for, as API Gateway does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.apigateway.models import apigateway_backends

from awspatterns.sandbox.gateway.messages import GatewayError

__all__ = ["Route", "all_apis", "find_api", "route"]


@dataclass
class Route:
    """What a request resolved to."""

    api: Any
    stage: Any
    resource: Any
    method: Any
    resource_path: str
    path_parameters: dict[str, str]


def find_api(api_id: str) -> Any | None:
    """The REST API with this id, in whichever sandbox account and region it lives."""
    for regions in list(apigateway_backends.values()):
        for backend in list(regions.values()):
            if api_id in backend.apis:
                return backend.apis[api_id]
    return None


def all_apis() -> list[Any]:
    """Every REST API in the sandbox."""
    return [
        api for regions in list(apigateway_backends.values()) for b in list(regions.values()) for api in b.apis.values()
    ]


def _match(template: str, segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match path segments against a resource path; return (specificity rank, path parameters) or None.

    Literal segments beat ``{param}`` segments, which beat a greedy ``{proxy+}``."""
    parts = [p for p in template.split("/") if p]
    parameters: dict[str, str] = {}
    rank: list[int] = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or index != len(parts) - 1:
                return None
            parameters[part[1:-2]] = "/".join(rest)
            rank.append(2)
            return tuple(rank), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = segments[index]
            rank.append(1)
        elif part == segments[index]:
            rank.append(0)
        else:
            return None
    if len(parts) != len(segments):
        return None
    return tuple(rank), parameters


def route(api_id: str, stage_name: str, method: str, path: str) -> Route:
    """Resolve a request; an unknown API, stage, path or method is API Gateway's 403 "Missing Authentication
    Token"."""
    api = find_api(api_id)
    if api is None or stage_name not in api.stages:
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", f"no API {api_id} with a stage {stage_name!r}")
    segments = [s for s in path.split("/") if s]
    candidates = []
    for resource in api.resources.values():
        template = resource.get_path()
        matched = _match(template, segments)
        if matched is not None:
            candidates.append((matched[0], template, resource, matched[1]))
    for _, template, resource, parameters in sorted(candidates, key=lambda c: c[0]):
        http_method = resource.resource_methods.get(method) or resource.resource_methods.get("ANY")
        if http_method is not None:
            return Route(api, api.stages[stage_name], resource, http_method, template, parameters)
    raise GatewayError("MISSING_AUTHENTICATION_TOKEN", f"no method {method} for /{'/'.join(segments)}")
