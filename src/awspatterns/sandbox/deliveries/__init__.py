"""How events reach functions and destinations, as AWS delivers them: asynchronous invocation with retries
(``async_invoke``), event source mappings polled in batches (``event_sources``, ``polling``, ``sqs``,
``streams``), SNS to Lambda (``sns``), S3 notifications (``s3``), EventBridge rules and buses (``eventbridge``),
Firehose buffering (``firehose``), and on-failure destinations (``destinations``)."""
