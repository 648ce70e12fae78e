"""The JSON API: the FastAPI app factory, problem+json error handlers, operations endpoints
(health, readiness, metrics) and, one module per feature, the ``/v1`` routers."""
