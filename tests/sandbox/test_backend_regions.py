"""Each service's regions looked up once per process (``sandbox.backend_regions``): every account's backend of a
service knows the regions moto lists for it, in a list of its own."""

from __future__ import annotations

from moto.core.base_backend import AccountSpecificBackend

from awspatterns.sandbox import backend_regions

MOTO_LOOKUP = AccountSpecificBackend._generate_regions.__wrapped__  # type: ignore[attr-defined]


def test_the_shared_lookup_lists_what_moto_lists_for_each_service():
    services = ("sqs", "lambda", "ec2", "iam", "s3", "dynamodbstreams", "s3control", "events", "cloudfront")
    for service in (*services, "route53", "resourcegroupstaggingapi", "sts", "no-such-service", "moto_api"):
        assert backend_regions.regions(service) == tuple(MOTO_LOOKUP(None, service))
    assert "cn-north-1" in backend_regions.regions("sqs") and "eu-west-1" in backend_regions.regions("sqs")


def test_each_backend_gets_a_list_of_its_own():
    first, second = (backend_regions.generate_regions(object(), "sqs") for _ in range(2))
    first.append("xx-nowhere-1")
    assert "xx-nowhere-1" not in second and "xx-nowhere-1" not in backend_regions.regions("sqs")


def test_fresh_accounts_work_in_regions_other_than_the_first(sandbox):
    for account, region in (("710000000001", "eu-west-1"), ("710000000002", "ap-southeast-2")):
        sqs = sandbox.session(account).client("sqs", region_name=region)
        url = sqs.create_queue(QueueName="regional")["QueueUrl"]
        assert region in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
