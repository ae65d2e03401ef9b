"""The clip vocabulary: what job.animation.clips may name, per skeleton kind, and which clips a job
gets when it names none (a modest default set: export writes every clip, so the full library is
there by name only)."""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2

HUMANOID_CLIPS = ("idle", "walk", "run", "jump", "attack", "wave")  # the default set
HUMANOID_LIBRARY = (
    *HUMANOID_CLIPS,
    "idle_alert",
    "idle_look",
    "sprint",
    "strafe_left",
    "strafe_right",
    "turn_left",
    "turn_right",
    "jump_start",
    "jump_loop",
    "jump_land",
    "attack_thrust",
    "block",
    "hit",
    "death",
    "crouch",
)
QUADRUPED_CLIPS = ("idle", "walk", "run")  # the default set
QUADRUPED_LIBRARY = (*QUADRUPED_CLIPS, "trot", "turn_left", "turn_right", "jump", "attack", "death")
ALL_CLIPS = tuple(dict.fromkeys(HUMANOID_LIBRARY + QUADRUPED_LIBRARY))
VOCABULARY = {"humanoid": HUMANOID_LIBRARY, "quadruped": QUADRUPED_LIBRARY}
DEFAULTS = {"humanoid": HUMANOID_CLIPS, "quadruped": QUADRUPED_CLIPS}
RIG_KINDS = {job_pb2.RIG_TYPE_HUMANOID: "humanoid", job_pb2.RIG_TYPE_QUADRUPED: "quadruped"}
