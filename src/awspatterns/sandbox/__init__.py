"""The local sandbox account: moto in server mode plus what the patterns need and moto lacks.

Find your way by question:

* **Starting, stopping, reaching it** (client side, no moto import): ``control``, ``accounts``, ``inventory``.
* **The server process and its wiring**: ``server`` (the process), ``engine`` (installs the subsystems and owns
  what they share), ``subsystem`` (what a subsystem and the engine agree on), ``patching`` (the one way moto is
  changed).
* **CloudFormation** (``cloudformation``): the resource types moto lacks, the stack lifecycle, change sets,
  custom resources and deletion.
* **Deliveries** (``deliveries``): asynchronous invocation, queue and stream event sources, SNS, S3 events,
  EventBridge, Firehose, destinations.
* **The Lambda runtime** (``runtime``): warm execution environments, the worker process, function logs.
* **RDS** (``rds``): real PostgreSQL per Aurora cluster and the Data API.
* **The local API Gateway** (``gateway``): routing, authorizers, integrations and their Velocity templates.
* **Shared helpers**: ``arns``, ``event_filters``, ``ports``, ``errors``.
"""
