"""A fresh sandbox account per test, in the session's sandbox server."""

from __future__ import annotations

import itertools
import random

import pytest

_accounts = itertools.count(random.randint(10**11, 5 * 10**11))


@pytest.fixture
def account(sandbox):
    """A boto3 session for an account no other test uses."""
    return sandbox.session(str(next(_accounts)))


@pytest.fixture
def quiesce(sandbox):
    """Wait until the sandbox has no asynchronous invocation or SQS batch in flight."""
    return lambda timeout=30: sandbox.control(f"/quiesce?timeout={timeout}")["quiet"]
