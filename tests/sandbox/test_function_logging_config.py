"""A function's configuration names the log group it writes to, as Lambda's ``LoggingConfig`` does: tools find a
function's log from its configuration (moto leaves ``LoggingConfig`` out)."""

from __future__ import annotations

import pytest
from lambda_code import create_function

HANDLER = """
def handler(event, context):
    return "ok"
"""


@pytest.mark.parametrize("custom", [False, True], ids=["default group", "own group"])
def test_the_configuration_names_the_log_group_the_function_writes_to(account, custom):
    lambda_, logs = account.client("lambda"), account.client("logs")
    extra = {"LoggingConfig": {"LogFormat": "Text", "LogGroup": "shop/items"}} if custom else {}
    if custom:
        logs.create_log_group(logGroupName="shop/items")
    create_function(account, "logged", HANDLER, **extra)

    configuration = lambda_.get_function_configuration(FunctionName="logged")["LoggingConfig"]
    assert configuration == {"LogFormat": "Text", "LogGroup": "shop/items" if custom else "/aws/lambda/logged"}
    lambda_.invoke(FunctionName="logged", Payload=b"{}")
    events = logs.filter_log_events(logGroupName=configuration["LogGroup"])["events"]
    assert [e["message"] for e in events if e["message"].startswith("REPORT")], events
