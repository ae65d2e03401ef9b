"""BVH (Biovision hierarchy) motion files: HIERARCHY (joints, offsets, channels) and MOTION.

Rotation channels compose in the order listed ("Zrotation Xrotation Yrotation" is Rz * Rx * Ry,
degrees); the rest pose is every rotation zero. Anything malformed raises CORRUPT_BVH saying
what is wrong and on which line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assetcore.worker.backend import ErrorCode, StepError
from services.anim import quaternions as quat
from services.anim.quaternions import Floats

MAX_JOINTS = 1024
MAX_FRAMES = 200_000
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}


@dataclass(frozen=True)
class BvhJoint:
    name: str
    parent: int  # -1 for the root; parents precede children
    offset: Floats  # (3,) from the parent's head in the rest pose
    channels: tuple[str, ...]
    end: Floats | None  # offset of its End Site, if it has one


@dataclass(frozen=True)
class BvhMotion:
    joints: list[BvhJoint]
    frame_time: float  # seconds per frame
    values: Floats  # (frames, channels) in the order the hierarchy declares them

    @property
    def frames(self) -> int:
        return int(self.values.shape[0])

    def columns(self, joint: int) -> dict[str, Floats]:
        """A joint's channel values per frame, by channel name."""
        start = sum(len(j.channels) for j in self.joints[:joint])
        return {name: self.values[:, start + i] for i, name in enumerate(self.joints[joint].channels)}

    def local_rotations(self) -> Floats:
        """(frames, joints, 4) rotations from the Euler channels, in the channels' order."""
        rotations = quat.identity(self.frames, len(self.joints))
        for j, joint in enumerate(self.joints):
            columns = self.columns(j)
            for name in joint.channels:
                if name in ROTATION_CHANNELS:
                    step = quat.from_axis_angle(_AXES[name[0]], np.radians(columns[name]))
                    rotations[:, j] = quat.multiply(rotations[:, j], step)
        return rotations

    def root_positions(self) -> Floats:
        """(frames, 3) the root's position: its position channels, else its offset."""
        columns = self.columns(0)
        root = self.joints[0]
        return np.stack(
            [
                columns.get(name, np.full(self.frames, root.offset[axis]))
                for axis, name in enumerate(POSITION_CHANNELS)
            ],
            axis=1,
        )

    def rest_positions(self) -> Floats:
        """(joints, 3) heads in the rest pose (root at its offset)."""
        positions = np.zeros((len(self.joints), 3))
        for j, joint in enumerate(self.joints):
            positions[j] = joint.offset if joint.parent < 0 else positions[joint.parent] + joint.offset
        return positions


def parse_bvh(data: bytes) -> BvhMotion:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _corrupt(f"not text (byte {exc.start} is not UTF-8)") from None
    return _Parser(text).parse()


def _corrupt(message: str, line: int | None = None) -> StepError:
    where = f"line {line}: " if line is not None else ""
    return StepError(ErrorCode.CORRUPT_BVH, f"bvh: {where}{message}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tokens = [(token, number) for number, line in enumerate(self.lines, 1) for token in line.split()]
        self.position = 0
        self.joints: list[BvhJoint] = []

    def parse(self) -> BvhMotion:
        if not self.tokens or self.tokens[0][0].upper() != "HIERARCHY":
            raise _corrupt("no HIERARCHY section at the start of the file")
        self.position = 1
        self._expect_word("ROOT")
        self._joint(parent=-1)
        self._expect_word("MOTION")
        frames = self._number_after(("Frames:",), integer=True)
        frame_time = self._number_after(("Frame", "Time:"), integer=False)
        if frames < 1 or frames > MAX_FRAMES:
            raise _corrupt(f"Frames: {frames} is outside 1..{MAX_FRAMES}", self._line_before())
        if frame_time <= 0:
            raise _corrupt(f"Frame Time: {frame_time} is not positive", self._line_before())
        values = self._frames(int(frames))
        return BvhMotion(joints=self.joints, frame_time=frame_time, values=values)

    def _next(self, what: str) -> tuple[str, int]:
        if self.position >= len(self.tokens):
            raise _corrupt(f"the file ends where {what} was expected (truncated)", len(self.lines))
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _line_before(self) -> int:
        return self.tokens[self.position - 1][1]

    def _expect_word(self, word: str) -> int:
        token, line = self._next(word)
        if token.upper() != word.upper():
            raise _corrupt(f"expected {word!r}, found {token!r}", line)
        return line

    def _float(self, what: str) -> float:
        token, line = self._next(what)
        try:
            value = float(token)
        except ValueError:
            raise _corrupt(f"{what}: {token!r} is not a number", line) from None
        if not math.isfinite(value):
            raise _corrupt(f"{what}: {token!r} is not a finite number", line)
        return value

    def _joint(self, parent: int) -> None:
        name, line = self._next("a joint name")
        if len(self.joints) >= MAX_JOINTS:
            raise _corrupt(f"more than {MAX_JOINTS} joints", line)
        self._expect_word("{")
        index = len(self.joints)
        offset: Floats | None = None
        channels: tuple[str, ...] = ()
        end: Floats | None = None
        self.joints.append(BvhJoint(name, parent, np.zeros(3), (), None))
        while True:
            token, line = self._next(f"'}}' closing joint {name!r}")
            keyword = token.upper()
            if keyword == "OFFSET":
                offset = np.array([self._float(f"OFFSET of {name!r}") for _ in range(3)])
            elif keyword == "CHANNELS":
                channels = self._channels(name, line)
            elif keyword == "JOINT":
                self._joint(parent=index)
            elif keyword == "END":
                self._expect_word("Site")
                self._expect_word("{")
                self._expect_word("OFFSET")
                end = np.array([self._float(f"End Site OFFSET of {name!r}") for _ in range(3)])
                self._expect_word("}")
            elif keyword == "}":
                break
            else:
                raise _corrupt(f"unexpected {token!r} in joint {name!r}", line)
        if offset is None:
            raise _corrupt(f"joint {name!r} has no OFFSET", line)
        if parent < 0 and not channels:
            raise _corrupt(f"the root joint {name!r} has no CHANNELS", line)
        self.joints[index] = BvhJoint(name, parent, offset, channels, end)

    def _channels(self, joint: str, line: int) -> tuple[str, ...]:
        count_token, count_line = self._next(f"the channel count of {joint!r}")
        if not count_token.isdigit() or not 0 <= int(count_token) <= 6:
            raise _corrupt(f"CHANNELS of {joint!r}: {count_token!r} is not a count from 0 to 6", count_line)
        names: list[str] = []
        for _ in range(int(count_token)):
            name, name_line = self._next(f"a channel name of {joint!r}")
            if name_line != line:
                raise _corrupt(
                    f"CHANNELS of {joint!r} declares {count_token} channels but lists {len(names)}", line
                )
            if name not in POSITION_CHANNELS + ROTATION_CHANNELS:
                raise _corrupt(f"CHANNELS of {joint!r}: unknown channel {name!r}", name_line)
            names.append(name)
        if self.position < len(self.tokens) and self.tokens[self.position][1] == line:
            raise _corrupt(f"CHANNELS of {joint!r} declares {count_token} channels but lists more", line)
        if len(set(names)) != len(names):
            raise _corrupt(f"CHANNELS of {joint!r} repeats a channel", line)
        return tuple(names)

    def _number_after(self, words: tuple[str, ...], integer: bool) -> float:
        for word in words:
            self._expect_word(word)
        label = " ".join(words)
        value = self._float(label)
        if integer and not value.is_integer():
            raise _corrupt(f"{label} {value} is not a whole number", self._line_before())
        return value

    def _frames(self, frames: int) -> Floats:
        width = sum(len(joint.channels) for joint in self.joints)
        first_line = (
            self.tokens[self.position][1] if self.position < len(self.tokens) else len(self.lines) + 1
        )
        rows = [
            (number, line.split()) for number, line in enumerate(self.lines[first_line - 1 :], first_line)
        ]
        rows = [(number, fields) for number, fields in rows if fields]
        if len(rows) < frames:
            raise _corrupt(
                f"Frames: {frames} but the file ends after {len(rows)} frames (truncated)", len(self.lines)
            )
        if len(rows) > frames:
            raise _corrupt(f"more frame lines than Frames: {frames}", rows[frames][0])
        values = np.empty((frames, width))
        for index, (number, fields) in enumerate(rows):
            if len(fields) != width:
                raise _corrupt(
                    f"frame {index + 1} has {len(fields)} values but the hierarchy declares {width} channels",
                    number,
                )
            try:
                values[index] = [float(field) for field in fields]
            except ValueError:
                bad = next(field for field in fields if not _is_number(field))
                raise _corrupt(f"frame {index + 1}: {bad!r} is not a number", number) from None
        if not np.isfinite(values).all():
            raise _corrupt("frame values include NaN or infinity", first_line)
        return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
