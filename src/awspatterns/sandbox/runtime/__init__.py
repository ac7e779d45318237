"""The sandbox's Lambda runtime: warm execution environments (``runtime``), each a worker process
(``worker``), moto's functions run through it (``functions``), and their output in CloudWatch Logs (``logs``)."""
