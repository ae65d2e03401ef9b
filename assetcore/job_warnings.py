"""Warnings about a job's result: step notes with a fixed prefix, lifted to the job.

A step whose output is not what the prompt asked for (the procedural tti backend's generic
stand-in) says so in a note made by `warning_note`. The CLI summary, report.json and GraphQL's
Job.warnings show those notes at the job's level, so they are not lost among a step's routine
notes; no stored field is added for them.
"""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2

PREFIX = "warning: "


def warning_note(text: str) -> str:
    return PREFIX + text


def job_warnings(job: job_pb2.Job) -> list[str]:
    """Every warning note of the job's steps, in step order, as "step: text"."""
    return [
        f"{step.name}: {note.removeprefix(PREFIX)}"
        for step in job.steps
        for note in step.notes
        if note.startswith(PREFIX)
    ]
