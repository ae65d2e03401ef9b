"""Every step's options as JSON Schema, published in the repository (docs/step-options.schema.json)
and served by ListPipelines; scripts/gen_step_schemas.py writes it, a test catches staleness."""

from __future__ import annotations

import json
from typing import Any

from assetcore.steps.catalog import Catalog
from assetcore.steps.contract import StepDefinition


def options_schema(definition: StepDefinition, backend: str) -> dict[str, Any]:
    """JSON Schema of JobInput.step_options[step] when the step runs on `backend`."""
    schema = definition.options_model(backend).model_json_schema()
    schema["title"] = f"{definition.name} options ({backend})"
    return schema


def catalog_schema(catalog: Catalog) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Step options (JobInput.step_options), per step and backend",
        "steps": {
            name: {
                "description": step.description,
                "default_backend": step.default_backend,
                "backends": {backend: options_schema(step, backend) for backend in step.backend_names()},
            }
            for name, step in catalog.steps.items()
        },
    }


def render(catalog: Catalog) -> str:
    return json.dumps(catalog_schema(catalog), indent=2, sort_keys=True) + "\n"
