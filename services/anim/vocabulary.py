"""The clip vocabulary: what job.animation.clips may name, per skeleton kind."""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2

HUMANOID_CLIPS = ("idle", "walk", "run", "jump", "attack", "wave")
QUADRUPED_CLIPS = ("idle", "walk", "run")
ALL_CLIPS = tuple(dict.fromkeys(HUMANOID_CLIPS + QUADRUPED_CLIPS))
VOCABULARY = {"humanoid": HUMANOID_CLIPS, "quadruped": QUADRUPED_CLIPS}
RIG_KINDS = {job_pb2.RIG_TYPE_HUMANOID: "humanoid", job_pb2.RIG_TYPE_QUADRUPED: "quadruped"}
