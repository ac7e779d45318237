"""Aurora PostgreSQL in the sandbox (``aurora``): a real PostgreSQL server per cluster (``postgres``), the
CloudFormation types that create clusters and their secrets (``cloudformation``), and the Data API running
real SQL (``data_api``)."""
