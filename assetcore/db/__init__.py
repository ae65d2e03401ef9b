"""The job store: schema, engines, migrations, repositories."""
