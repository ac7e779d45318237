"""The sandbox's local API Gateway (REST APIs): serves ``http://localhost:<port>/<api-id>/<stage>/<path>`` from the
APIs in moto's backend (``server``, ``routing``), with Lambda proxy, AWS service and MOCK integrations
(``integrations``, whose mapping templates ``vtl`` renders), Lambda authorizers (``authorizers``) and request
validation; ``messages`` holds the request and reply types."""
