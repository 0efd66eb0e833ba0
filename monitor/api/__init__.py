"""The HTTP API's plumbing: problem details, request validation and the OpenAPI description."""
