"""Step queues: the StepQueue protocol, the SQL-table queue and SQS."""
