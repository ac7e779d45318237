"""CloudFormation as the sandbox runs it: the resource types moto 5.2.5 lacks (``policies``, ``messaging``,
``alarms``, ``network``, ``streaming``, ``apigateway``; registered by ``resources`` through ``registry`` on the
shared ``base``), a stack lifecycle that fails clearly and rolls back (``lifecycle``, ``dependencies``,
``deletion``), CREATE change sets for the CDK CLI (``change_sets``), custom resources (``custom_resources``,
``native_resources``) and KMS key policies from templates (``kms``)."""
