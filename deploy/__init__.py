"""Infrastructure as code for the aws profile (AWS CDK, Python). See docs/deploy.md.

Importing the package points jsii (the CDK's node bridge) at a project-local cache and
silences its warning about the machine's node version, before aws_cdk is first imported.
"""

import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault(
    "JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(Path(__file__).resolve().parents[1] / ".cache" / "jsii")
)
