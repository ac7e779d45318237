"""The sandbox's local API Gateway (REST APIs): serves ``http://localhost:<port>/<api-id>/<stage>/<path>`` from the
APIs in moto's backend, with Lambda proxy, AWS service and MOCK integrations, Lambda authorizers and request
validation."""
