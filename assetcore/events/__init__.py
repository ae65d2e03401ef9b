"""Job events: the outbox relay and publishers."""
