"""Functions behind the gateway conformance stack: an echo handler and two Lambda authorizers."""

import json


def echo(event, context):
    """Lambda proxy handler: answers with what it received, or misbehaves on request."""
    query = event.get("queryStringParameters") or {}
    if query.get("malformed"):
        return {"statusCode": "not a number", "body": {"not": "a string"}}
    if query.get("fail"):
        raise RuntimeError("asked to fail")
    return {
        "statusCode": int(query.get("status", 200)),
        "headers": {"Content-Type": "application/json", "X-Echo": "yes"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(event),
    }


def _policy(effect, resource, principal, context=None):
    answer = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        answer["context"] = context
    return answer


def token_authorizer(event, context):
    """TOKEN authorizer: `Bearer allow-<user>` allows everything, `Bearer items-<user>` only GET /items/*,
    `Bearer deny` denies; `Bearer boom` crashes, `Bearer nope` is unauthorized, `Bearer odd` answers nonsense."""
    token = event["authorizationToken"].removeprefix("Bearer ")
    api_arn = event["methodArn"].split("/")[0]
    stage = event["methodArn"].split("/")[1]
    if token == "boom":
        raise RuntimeError("authorizer crashed")
    if token == "nope":
        raise Exception("Unauthorized")
    if token == "odd":
        return {"hello": "world"}
    if token == "deny":
        return _policy("Deny", f"{api_arn}/*", "denied-user")
    if token.startswith("items-"):
        return _policy("Allow", f"{api_arn}/{stage}/GET/items/*", token[6:], {"user": token[6:]})
    if token.startswith("allow-"):
        return _policy("Allow", f"{api_arn}/*", token[6:], {"user": token[6:], "tier": 3, "admin": True})
    raise Exception("Unauthorized")


def request_authorizer(event, context):
    """REQUEST authorizer: allows when header X-Tenant and query `key` agree."""
    tenant = event["headers"].get("X-Tenant") or event["headers"].get("x-tenant")
    key = (event.get("queryStringParameters") or {}).get("key")
    effect = "Allow" if tenant and key == f"{tenant}-key" else "Deny"
    return _policy(effect, event["methodArn"], f"tenant-{tenant}", {"tenant": tenant, "path": event["path"]})
