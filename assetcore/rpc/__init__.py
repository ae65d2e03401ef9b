"""gRPC plumbing shared by clients and servers: channels, auth metadata, error details."""
