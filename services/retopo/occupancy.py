"""A strip of grid cells that charts' masks fill from row 0 up: each mask goes, in the
quarter turn that reaches the lowest, to the offset whose top row is lowest, then leftmost,
where it covers no occupied cell.

Every free cell keeps the length of the run of free cells that starts there (rightwards), so
a mask fits at an offset exactly when, for each run of cells in each of its rows, the free run
under the run's first cell is at least as long. That tests every column of a band of rows
with one comparison per run of the mask (a few per row), where an FFT correlation of the
grid with the mask would cost a transform of the whole band per turn; the longest free run
of each row rules out most rows before any test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

QUARTER_TURNS = 4
GOLDEN_RATIO = (np.sqrt(5.0) - 1.0) / 2.0  # rows r * this mod 1 are spread evenly, in any prefix
BAND_ROWS = 32  # offsets' rows tested at once, at least
BAND_RUN_ROWS = 1024  # or this many over the mask's runs: small masks test taller bands
SCREEN_ROWS = 16  # the mask's rows with the longest runs, checked against each row's longest free run first
ANY_CHECK_EVERY = 4  # runs tested between checks whether any offset of the band is left
RUN_TYPE = np.int16  # free-run lengths: strips are at most 512 cells wide


@dataclass(frozen=True)
class Placement:
    row: int  # of the turned mask's first row
    col: int
    quarter_turns: int  # as np.rot90(mask, quarter_turns)


@dataclass(frozen=True)
class _Runs:
    """A mask's runs of cells: row, first column and length of each."""

    rows: int
    cols: int
    row: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]


class Occupancy:
    """A strip `width` cells wide and `rows` tall, empty at first."""

    def __init__(self, width: int, rows: int) -> None:
        self.width = width
        self.height = 0  # rows reached by the masks placed so far
        self._free_run = np.tile(np.arange(width, 0, -1, dtype=RUN_TYPE), (rows, 1))
        self._longest = np.full(rows, width, RUN_TYPE)  # longest free run of each row

    def place(self, mask: npt.NDArray[np.bool_]) -> Placement | None:
        """Occupy the cells of `mask` turned and moved to its best free offset; None when it
        fits nowhere in the strip."""
        turns = sorted(range(QUARTER_TURNS), key=lambda turn: mask.shape[turn % 2])  # flattest first
        best: Placement | None = None
        best_top = len(self._free_run) + 1
        for turn in turns:
            runs = _runs(np.rot90(mask, turn))
            found = self._lowest_fit(runs, best_top - runs.rows + 1)
            if found is not None and (
                best is None or (found[0] + runs.rows, found[1]) < (best_top, best.col)
            ):
                best = Placement(found[0], found[1], turn)
                best_top = found[0] + runs.rows
        if best is not None:
            self._occupy(np.rot90(mask, best.quarter_turns), best)
        return best

    def _lowest_fit(self, runs: _Runs, row_limit: int) -> tuple[int, int] | None:
        """The first (row, col) offset, rows before `row_limit` only, where the runs fit."""
        if runs.cols > self.width:
            return None
        last_row = min(row_limit, len(self._free_run) - runs.rows + 1)  # offsets' rows end here
        candidates = self._screen(runs, last_row)
        position = 0
        while position < len(candidates):
            first = int(candidates[position])
            band = min(max(BAND_ROWS, BAND_RUN_ROWS // len(runs.row)), last_row - first)
            fit = self._fits(runs, first, band)
            if fit is not None:
                return first + fit[0], fit[1]
            position = int(np.searchsorted(candidates, first + band))
        return None

    def _screen(self, runs: _Runs, last_row: int) -> npt.NDArray[np.int64]:
        """Rows where the mask's longest runs are no longer than the rows' longest free runs."""
        possible = np.ones(max(last_row, 0), bool)
        longest = np.argsort(-runs.length, kind="stable")[:SCREEN_ROWS]
        for row, length in zip(runs.row[longest].tolist(), runs.length[longest].tolist(), strict=True):
            possible &= self._longest[row : row + len(possible)] >= length
        return np.flatnonzero(possible)

    def _fits(self, runs: _Runs, first: int, band: int) -> tuple[int, int] | None:
        """The first offset (row - first, col), row by row, of the band of rows first ..
        first + band - 1 where the mask fits."""
        offsets = self.width - runs.cols + 1
        fits = np.ones((band, offsets), bool)
        runs_list = zip(runs.row.tolist(), runs.start.tolist(), runs.length.tolist(), strict=True)
        for index, (row, start, length) in enumerate(runs_list):
            fits &= self._free_run[first + row : first + row + band, start : start + offsets] >= length
            if index % ANY_CHECK_EVERY == ANY_CHECK_EVERY - 1 and not fits.any():
                return None
        if not fits.any():
            return None
        row, col = divmod(int(np.argmax(fits)), offsets)
        return row, col

    def _occupy(self, mask: npt.NDArray[np.bool_], at: Placement) -> None:
        rows, cols = mask.shape
        occupied = self._free_run[at.row : at.row + rows] == 0
        occupied[:, at.col : at.col + cols] |= mask
        self._free_run[at.row : at.row + rows] = _free_runs(occupied)
        self._longest[at.row : at.row + rows] = self._free_run[at.row : at.row + rows].max(axis=1)
        self.height = max(self.height, at.row + rows)


def _free_runs(occupied: npt.NDArray[np.bool_]) -> npt.NDArray[np.int16]:
    """For each cell, the length of the run of free cells that starts there (0 if occupied)."""
    column = np.arange(occupied.shape[1])
    next_occupied = np.where(occupied, column, occupied.shape[1])
    next_occupied = np.minimum.accumulate(next_occupied[:, ::-1], axis=1)[:, ::-1]
    runs: npt.NDArray[np.int16] = (next_occupied - column).astype(RUN_TYPE)
    return runs


def _runs(mask: npt.NDArray[np.bool_]) -> _Runs:
    """The mask's runs in test order: the longest first, then scattered over the rows (by
    the golden ratio), so that each next run tests rows unlike those tested before and the
    offsets left run out early."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    row, start = np.nonzero(steps == 1)
    _, end = np.nonzero(steps == -1)
    length = end - start
    order = np.argsort((row * GOLDEN_RATIO) % 1.0, kind="stable")
    longest = int(np.argmax(length[order]))
    order = np.concatenate([order[longest : longest + 1], order[:longest], order[longest + 1 :]])
    return _Runs(mask.shape[0], mask.shape[1], row[order], start[order], length[order])
