"""The leak check sees everything an account holds, however many pages its list calls take."""

from __future__ import annotations

from awspatterns.sandbox.inventory import inventory, leftovers


def test_the_inventory_reads_every_page_of_every_list_call(account):
    before = inventory(account)
    ssm, logs, events = account.client("ssm"), account.client("logs"), account.client("events")
    # More than a page of each: moto answers DescribeParameters 10 at a time, DescribeLogGroups (a boto3 paginator)
    # and ListEventBuses (no paginator: NextToken followed by hand) 50 at a time.
    parameters = {f"/leak/{n:02}" for n in range(23)}
    log_groups = {f"/leak/group-{n:02}" for n in range(55)}
    buses = {f"leak-bus-{n:02}" for n in range(55)}
    for name in parameters:
        ssm.put_parameter(Name=name, Value="x", Type="String")
    for name in log_groups:
        logs.create_log_group(logGroupName=name)
    for name in buses:
        events.create_event_bus(Name=name)
    assert leftovers(before, inventory(account)) == {
        "parameters": parameters,
        "log_groups": log_groups,
        "event_buses": buses,
    }
