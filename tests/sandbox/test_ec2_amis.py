"""EC2's public AMIs, built on first use from records parsed once per process (``sandbox.ec2_amis``): every account
sees what moto builds eagerly (the same images, attributes, tags and snapshots), and one account's changes to its
images are never visible in another."""

from __future__ import annotations

import itertools
import random

from moto.ec2.models import ec2_backends

from awspatterns.sandbox import ec2_amis

REGION = "us-east-1"
_accounts = itertools.count(random.randint(6 * 10**11, 7 * 10**11))


def images(ec2):
    return {i["ImageId"]: i for i in ec2.describe_images(Owners=["amazon"])["Images"]}


def eager_moto(region=REGION):
    """What moto builds eagerly, in this (unpatched) test process, for an account of its own."""
    return ec2_backends[str(next(_accounts))][region]


def test_an_account_sees_the_images_moto_builds_eagerly(account):
    ec2 = account.client("ec2", region_name=REGION)
    seen = images(ec2)
    moto = eager_moto()
    expected = {ami.id: ami for ami in moto.amis.values()}
    assert len(seen) > 1000 and seen.keys() == expected.keys()
    for ami_id in random.Random(7).sample(sorted(expected), 40):
        image, ami = seen[ami_id], expected[ami_id]
        assert (image["Name"], image["OwnerId"], image["ImageOwnerAlias"], image["Architecture"]) == (
            ami.name,
            ami.owner_id,
            ami.owner_alias,
            ami.architecture,
        )
        assert image["Public"] == ami.is_public
        assert {t["Key"]: t["Value"] for t in image.get("Tags", [])} == moto.tags.get(ami_id, {})


def test_snapshots_are_there_before_any_image_is_read(account):
    ec2 = account.client("ec2", region_name=REGION)
    moto = eager_moto()
    snapshots = ec2.describe_snapshots()["Snapshots"]
    assert len(snapshots) == len(moto.snapshots) > 1000
    assert {s["Description"] for s in snapshots} == {s.description for s in moto.snapshots.values()}


def test_an_images_tags_are_in_the_tag_store_before_the_image_is_built(monkeypatch):
    """moto's own files carry no AMI tags today (``MOTO_AMIS_PATH`` files may): a record's tags are stored when the
    account is set up, as ``Ami.add_tags`` would, so tag listings see them without building the images."""
    backend = eager_moto()
    record = {**ec2_amis.records(REGION)[0], "ami_id": "ami-0a1b2c3d", "tags": {"team": "images", "tier": "base"}}
    monkeypatch.setattr(ec2_amis, "records", lambda region: (record,))
    ec2_amis._register(backend)
    assert backend.tags["ami-0a1b2c3d"] == {"team": "images", "tier": "base"}
    assert "ami-0a1b2c3d" not in backend.__dict__["amis"]  # not built yet (this process's moto is not patched)
    ec2_amis._ensure_built(backend)
    assert backend.__dict__["amis"]["ami-0a1b2c3d"].name == record["name"]


def test_one_accounts_changes_to_its_images_are_not_seen_in_another(sandbox):
    first, second = (sandbox.session(str(next(_accounts))).client("ec2", region_name=REGION) for _ in range(2))
    original = images(first)
    gone = sorted(original)[0]
    first.deregister_image(ImageId=gone)
    first.create_tags(Resources=[sorted(original)[1]], Tags=[{"Key": "changed", "Value": "here"}])
    changed = sorted(original)[2]
    first.modify_image_attribute(ImageId=changed, Description={"Value": "changed here"})
    first.modify_image_attribute(ImageId=changed, LaunchPermission={"Add": [{"UserId": "123456789012"}]})
    own = first.register_image(Name="own-image", RootDeviceName="/dev/sda1")["ImageId"]
    assert gone not in images(first)
    assert own in {i["ImageId"] for i in first.describe_images(Owners=["self"])["Images"]}

    assert images(second).keys() == original.keys()
    assert own not in {i["ImageId"] for i in second.describe_images(Owners=["self"])["Images"]}
    assert images(second)[changed].get("Description") == original[changed].get("Description") != "changed here"
    permissions = second.describe_image_attribute(ImageId=changed, Attribute="launchPermission")["LaunchPermissions"]
    assert {"UserId": "123456789012"} not in permissions
    assert "changed" not in {t["Key"] for t in images(second)[sorted(original)[1]].get("Tags", [])}


def test_the_records_are_parsed_once_and_shared():
    assert ec2_amis.records(REGION) is ec2_amis.records(REGION)
    assert len(ec2_amis.records(REGION)) >= len(eager_moto().amis)
