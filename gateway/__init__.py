"""The GraphQL gateway (strawberry on uvicorn): game editors' API, over the orchestrator's gRPC."""
