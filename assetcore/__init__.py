"""Asset Creator AI Core: the shared platform library every deployable is composed from."""
