"""The ``gmm-estimators`` command line (also ``python -m gmm_estimators``).

Without a command it runs the demo: :class:`GaussianMixtureSelector` on the
standardised wine data, a summary on stdout and a figure in the working
directory. The commands ``fit``, ``predict`` and ``reduce`` work on numeric CSV
files (read with the standard :mod:`csv` module, no pandas needed).

Bad input never ends in a traceback: it gets one line on stderr,
``gmm-estimators: error: ...``, and exit status 2. Progress goes to stderr,
results to stdout.
"""

# Authors: The gmm_estimators developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import contextlib
import csv
import io
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import warnings
from numbers import Integral

import numpy as np

from ._covariance import (
    COVARIANCE_MODELS,
    COVARIANCE_TYPES,
    MCLUST_MODELS,
    mclust_models,
)
from ._selection import SEARCHES
from ._utils import constant_features

PROG = "gmm-estimators"
CRITERIA = ("bic", "aic", "icl", "cv")
DEFAULT_CV = 5
PLOT_HINT = "pip install gmm-estimators[plot]"
DEMO_FIGURE = "gmm_estimators_wine.png"
_TRACEBACK_ENV = "GMM_ESTIMATORS_TRACEBACK"


class CLIError(Exception):
    """Bad input or a failed run: one line on stderr and exit status 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _one_line(exc):
    """The message of an exception on a single line."""
    return " ".join(str(exc).split()) or type(exc).__name__


# -- option types -------------------------------------------------------------
def _components_range(text):
    """Parse ``--components``: ``1-10``, ``3``, ``2,4,8`` or ``2-5,8``."""
    values = set()
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            if len(bounds) == 1:
                low = high = int(bounds[0])
            elif len(bounds) == 2:
                low, high = int(bounds[0]), int(bounds[1])
            else:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a range of numbers of components; write it as "
                "'1-10', '3' or '2,4,8'"
            ) from None
        if low < 1 or high < low:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a valid range: numbers of components start at 1 "
                "and a range 'A-B' needs A <= B"
            )
        values.update(range(low, high + 1))
    return sorted(values)


def _covariance_types(text):
    """Parse ``--covariance``: a comma-separated list of covariance types, or
    ``mclust`` for mclust's models (the fourteen; for one feature E and V,
    as mclust: :func:`~gmm_estimators._covariance.mclust_models`), which a
    list with other names expands to the fourteen."""
    if text.strip() == "mclust":
        return "mclust"
    names = [name.strip() for name in text.split(",")]
    names = [
        m for name in names for m in (MCLUST_MODELS if name == "mclust" else [name])
    ]
    unknown = [name for name in names if name not in COVARIANCE_MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {unknown[0]!r}; choose from "
            f"{', '.join(COVARIANCE_TYPES)}, mclust's {', '.join(MCLUST_MODELS)} "
            "or 'mclust' for all fourteen (comma-separated)"
        )
    return tuple(dict.fromkeys(names))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- CSV input ------------------------------------------------------------------
#: Cells read as missing values: pandas' default ``na_values``.
_MISSING = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
#: Delimiters that ``--delimiter auto`` chooses among, and their names.
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "\\t": "\t",
    "pipe": "|",
    "space": " ",
}
#: A leading column with this header is an index written by pandas' to_csv.
_INDEX_NAME = re.compile(r"^(|Unnamed: \d+)$")
#: Read progress: a line every this many seconds (after the first of them) ...
_READ_PROGRESS_SECONDS = 2.0
#: ... checked every this many rows.
_READ_PROGRESS_ROWS = 50_000


def _delimiter(text):
    """Parse ``--delimiter``: ``auto``, one character, or a name such as ``tab``."""
    if text == "auto":
        return None
    value = _DELIMITER_NAMES.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n' or value.isalnum() or value == ".":
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a delimiter; give one character such as ',' or ';', "
            "or one of auto, comma, semicolon, tab, pipe, space"
        )
    return value


def _column_list(text):
    """Parse ``--columns``/``--drop``: comma-separated names or numbers from 1."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of columns; write names or numbers (from 1), "
            "comma-separated, e.g. 'alcohol,hue' or '2,3,4'"
        )
    return items


def _to_float(cell):
    """``float(cell)`` for what a CSV file means by a number.

    Python's float() also reads digit groups (``1_12``) and non-ASCII digits,
    which pandas does not: an ID such as ``1_12`` is text, not a number. Signs,
    decimals, exponents, ``inf``/``nan`` and whitespace around are read.
    """
    text = cell.strip()
    if not _plain(text):
        raise ValueError(f"not a number: {cell!r}")
    return float(text)


def _plain(text):
    """Whether ``text`` has none of what float() reads and a CSV number has
    not: digit groups (``_``) and non-ASCII digits (see :func:`_to_float`)."""
    return "_" not in text and text.isascii()


def _is_number(cell):
    try:
        _to_float(cell)
    except ValueError:
        return False
    return True


#: A cell written as an integer (``2019``): a number that may be a column name.
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")


def _describe_column(j, names):
    """``column 3 ('alcohol')`` for messages; columns count from 1."""
    if names is not None and names[j]:
        return f"column {j + 1} ({names[j]!r})"
    return f"column {j + 1}"


def _list_names(names, limit=8):
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _is_header(row):
    """Whether the first row of a file names its columns.

    It does when none of its cells is a number, or when it is the header
    pandas writes for a data frame without column names and with its index
    (``,0,1,2``), or without it (``0,1,2``: a note says so). A row of empty
    cells (``,,``) names nothing: it is a row of missing values.
    """
    cells = [cell.strip() for cell in row]
    if not any(cells):
        return False
    if not any(_is_number(cell) for cell in cells):
        return True
    numbers = [str(i) for i in range(len(cells))]
    return len(cells) > 1 and cells in ([""] + numbers[:-1], numbers)


def _sniff_delimiter(sample):
    """The delimiter of a CSV sample among , ; tab and | (comma when unsure)."""
    lines = sample.splitlines()[:50]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(_DELIMITERS))
    except csv.Error:
        return None


class Table:
    """What :func:`read_csv` read: the chosen columns of the complete rows.

    Attributes
    ----------
    X : ndarray of shape (n_kept, n_columns)
        The values, as float64.
    names : list of str or None
        The names of the chosen columns, or None when the file has no header.
    file_names : list of str or None
        The names of all the columns of the file.
    keep : ndarray of bool of shape (n_rows,)
        Which data rows of the file are in X (all, unless ``dropna``).
    lines : ndarray of int of shape (n_rows,)
        The line of the file of each data row (the first line is 1).
    """

    def __init__(self, X, names, file_names, keep, lines):
        self.X, self.names, self.file_names = X, names, file_names
        self.keep, self.lines = keep, lines

    @property
    def n_rows(self):
        return len(self.keep)


def _all_columns(path, names, n_columns):
    return list(range(n_columns)), []


def read_csv(path, *, delimiter=None, select=_all_columns, dropna=False, report=None):
    """Read the numeric columns of a CSV file, with or without a header row.

    The file is parsed by the standard library's :mod:`csv` module in strict
    mode (a quote left open at the end of the file is an error). The first
    non-blank row is a header when none of its cells is a number. Blank lines
    (no delimiter) are skipped; a row of empty cells (``,,``) is a row of
    missing values. Rows are counted as in a spreadsheet: the file's first line is
    row 1.

    Parameters
    ----------
    path : str
        The file to read (UTF-8).
    delimiter : str, default=None
        The field delimiter; None detects it among comma, semicolon, tab and
        ``|`` (comma when unsure).
    select : callable, default=all columns
        ``select(path, names, n_columns)`` returns the indices of the columns
        to read and a list of notes for stderr; ``names`` is None without a
        header row.
    dropna : bool, default=False
        Leave out rows with a missing value (an empty cell, ``NA``, ``nan``
        ...) instead of refusing them.
    report : callable, default=None
        Called with a progress line now and then during long reads.

    Returns
    -------
    Table
        The values, names and kept rows.

    Raises
    ------
    CLIError
        When the file is missing, unreadable, empty, ragged, has a quote left
        open, or a cell that is not a number (the message says its row and
        column), or missing values without ``dropna``.
    """
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a CSV file") from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw:
        try:
            size = os.fstat(raw.fileno()).st_size
            sample = raw.read(1 << 16)
            raw.seek(0)
        except OSError as exc:
            raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
        if b"\0" in sample:
            raise CLIError(f"{path} is a binary file, not a CSV (text) file")
        auto = delimiter is None
        if auto:
            dialect = _sniff_delimiter(sample.decode("utf-8-sig", errors="ignore"))
            delimiter = dialect.delimiter if dialect is not None else ","
        if auto and delimiter != "," and report is not None:
            name = _DELIMITERS.get(delimiter, repr(delimiter))
            report(f"Reading {path} as {name}-separated values (--delimiter auto)")
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(
            text, delimiter=delimiter, strict=True, skipinitialspace=delimiter == " "
        )
        return _read_rows(
            path, reader, raw, size, delimiter, auto, select, dropna, report
        )


def _read_rows(path, reader, raw, size, delimiter, auto, select, dropna, report):
    """The loop of :func:`read_csv` over the rows of an open file."""
    names = None
    n_columns = None
    first_row = None
    numeric_header = None  # a first row of integers read as data
    columns = None
    chunks, chunk, lines = [], [], []
    missing = []  # (data row index, line, column index, cell text)
    start = last_report = time.perf_counter()
    try:
        for row in reader:
            if len(row) <= 1 and not "".join(row).strip():
                continue  # a blank line; a row of empty cells is read (missing)
            line = reader.line_num
            if n_columns is None:
                n_columns, first_row = len(row), line
                header = _is_header(row)
                if not header and all(_INTEGER.fullmatch(cell) for cell in row):
                    numeric_header = [cell.strip() for cell in row]
                if header:
                    names = [cell.strip() for cell in row]
                    if names[0] == "0":
                        _note(
                            f"row {line} of {path} ({', '.join(names[:3])}, ...) is "
                            "read as a header: the column numbers pandas writes"
                        )
                if n_columns == 1:
                    _check_single_column(path, row[0], delimiter, auto)
                columns, notes = select(path, names, n_columns)
                for note in notes:
                    _note(note)
                if header:
                    continue
            if len(row) != n_columns:
                raise CLIError(
                    f"{path}, row {line}: {len(row)} fields, but row "
                    f"{first_row} has {n_columns} (every row needs the same "
                    "number of columns)"
                )
            try:
                cells = [row[j] for j in columns]
                values = [float(cell) for cell in cells]
                finite = math.isfinite(math.fsum(values))
                finite = finite and _plain("".join(cells))
            except (ValueError, OverflowError):
                finite = False
            if not finite:
                values = _parse_slowly(
                    path, row, line, columns, names, delimiter, line == first_row
                )
                for j, value in zip(columns, values, strict=True):
                    if math.isnan(value):
                        missing.append((len(lines), line, j, row[j].strip()))
            chunk.append(values)
            lines.append(line)
            if len(chunk) == _READ_PROGRESS_ROWS:
                chunks.append(np.array(chunk, dtype=float).reshape(-1, len(columns)))
                chunk = []
                now = time.perf_counter()
                if report is not None and now - last_report >= _READ_PROGRESS_SECONDS:
                    last_report = now
                    done = f" ({100 * raw.tell() / size:.0f}%)" if size else ""
                    report(f"Reading {path}: {len(lines):,} rows{done} ...")
    except csv.Error as exc:
        message = str(exc)
        if "unexpected end of data" in message:
            message = (
                "a quoted field is not closed before the end of the file (the "
                "file may be cut short)"
            )
        raise CLIError(f"{path}, row {reader.line_num}: {message}") from None
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a UTF-8 text (CSV) file") from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    if chunk:
        chunks.append(np.array(chunk, dtype=float).reshape(-1, len(columns)))
    if not chunks:
        if names is not None:
            raise CLIError(f"{path} has a header row but no data rows")
        raise CLIError(f"{path} is empty")
    if report is not None and last_report > start:
        report(
            f"Read {len(lines):,} rows of {path} in {time.perf_counter() - start:.1f} s."
        )
    X = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    if numeric_header is not None:
        _numeric_header_note(path, first_row, numeric_header, X)
    keep = np.ones(len(lines), dtype=bool)
    if missing:
        if not dropna:
            raise CLIError(_missing_message(path, missing, names))
        keep[[i for i, _, _, _ in missing]] = False
        dropped = np.flatnonzero(~keep)
        _note(
            f"left out {len(dropped)} of {len(keep)} rows of {path} with missing "
            f"values (--dropna): rows {_list_rows(np.asarray(lines)[dropped])}; "
            "their output rows are empty"
        )
        X = X[keep]
        if not len(X):
            raise CLIError(f"{path}: every row has a missing value")
    selected = None if names is None else [names[j] for j in columns]
    return Table(X, selected, names, keep, np.asarray(lines))


def _numeric_header_note(path, line, cells, X):
    """A note when the first row, all integers (``2019,2020,2021``), was read
    as data although it stands apart from the other rows as a header does:
    each of its values is farther outside the range of its column below than
    that range is wide."""
    if len(X) < 3:
        return
    first = X[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        low, high = np.nanmin(X[1:], axis=0), np.nanmax(X[1:], axis=0)
    apart = np.maximum(low - first, first - high) > high - low
    if not np.all(apart):
        return
    shown = ", ".join(cells[:3]) + (", ..." if len(cells) > 3 else "")
    _note(
        f"row {line} of {path} ({shown}) is read as data, not as a header, because "
        "all its cells are numbers; if it names the columns, rename them so that "
        f"they are not numbers (e.g. 'y{cells[0].lstrip('+-')}')"
    )


def _list_rows(rows, limit=5):
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _missing_message(path, missing, names):
    """One line on the missing values of a file, naming rows and columns."""
    _, line, j, cell = missing[0]
    what = (
        "an empty cell"
        if not cell
        else f"{cell!r} (a missing value, not a finite number)"
    )
    rows = sorted({line for _, line, _, _ in missing})
    cols = sorted({j for _, _, j, _ in missing})
    where = ", ".join(_describe_column(j, names) for j in cols[:5])
    if len(cols) > 5:
        where += f" and {len(cols) - 5} more"
    return (
        f"{path}, row {line}, {_describe_column(j, names)}: {what}; "
        f"{len(rows)} row{'s' * (len(rows) != 1)} ha{'ve' if len(rows) != 1 else 's'} "
        f"missing values (rows {_list_rows(rows)}; in {where}): remove or impute "
        "them, or pass --dropna to leave those rows out"
    )


def _parse_slowly(path, row, line, columns, names, delimiter, first_row):
    """Parse the chosen cells of a row one by one: missing values become NaN.

    Raises CLIError for a cell that is neither a number nor a missing value,
    and for an infinite number.
    """
    values = []
    for j in columns:
        cell = row[j].strip()
        if cell in _MISSING:
            values.append(math.nan)
            continue
        try:
            value = _to_float(cell)
        except ValueError:
            hint = ""
            if first_row:
                hint = " (a header row must name every column)"
            else:
                others = [
                    d for d in (";", "\t", "|", ",") if d != delimiter and d in cell
                ]
                if others and others[0] == "," and _is_number(cell.replace(",", ".")):
                    hint = " (decimal commas are not read: write 1.5, not 1,5)"
                elif others:
                    hint = (
                        f" (is the file {_DELIMITERS[others[0]]}-separated? pass "
                        f"--delimiter '{others[0]}')"
                    )
                else:
                    hint = (
                        f" (leave it out with --drop {names[j] if names and names[j] else j + 1},"
                        " or choose columns with --columns)"
                    )
            raise CLIError(
                f"{path}, row {line}, {_describe_column(j, names)}: "
                f"{cell!r}, which is not a number{hint}"
            ) from None
        if math.isnan(value):  # 'NAN', '-NAN' and the like: missing too
            values.append(math.nan)
            continue
        if math.isinf(value):
            raise CLIError(
                f"{path}, row {line}, {_describe_column(j, names)}: "
                f"{cell!r} is not a finite number"
            )
        values.append(value)
    return values


def _check_single_column(path, cell, delimiter, auto):
    """A one-column file whose first row holds another delimiter is refused."""
    for other in _DELIMITERS:
        if other != delimiter and other in cell:
            how = "no delimiter was detected" if auto else "it was read"
            raise CLIError(
                f"{path} reads as a single column ({how} with "
                f"--delimiter {delimiter!r}), but its first row {cell.strip()[:40]!r} "
                f"holds {_DELIMITERS[other]}s: pass --delimiter '{other}'"
            )


def _note(message):
    """A note on stderr about how the input was read (even with --quiet)."""
    print(f"{PROG}: note: {message}", file=sys.stderr, flush=True)


def _resolve_column(path, spec, names, n_columns, option):
    """The index of a column given by name or by number (from 1)."""
    if names is not None:
        matches = [j for j, name in enumerate(names) if name == spec]
        if len(matches) > 1:
            raise CLIError(
                f"{option} {spec}: {path} has {len(matches)} columns named {spec!r} "
                f"(columns {', '.join(str(j + 1) for j in matches)}); give a number"
            )
        if matches:
            return matches[0]
    if spec.isdigit() and 1 <= int(spec) <= n_columns:
        return int(spec) - 1
    if names is None:
        raise CLIError(
            f"{option} {spec}: {path} has no header row, so choose columns by "
            f"number, from 1 to {n_columns}"
        )
    raise CLIError(
        f"{option} {spec}: {path} has no column {spec!r} (its columns: "
        f"{_list_names(names)}; or give a number from 1 to {n_columns})"
    )


def _user_columns(args):
    """The column choice of ``fit``/``reduce``: --columns, --drop, index columns."""

    def select(path, names, n_columns):
        notes = []
        if args.columns:
            chosen = [
                _resolve_column(path, spec, names, n_columns, "--columns")
                for spec in args.columns
            ]
            if len(set(chosen)) != len(chosen):
                raise CLIError(f"--columns names a column of {path} twice")
        else:
            dropped = {
                _resolve_column(path, spec, names, n_columns, "--drop")
                for spec in args.drop or ()
            }
            index = 0
            if names is not None:
                while index < n_columns - 1 and _INDEX_NAME.match(names[index]):
                    index += 1
            if index and not dropped.issuperset(range(index)):
                what = ", ".join(
                    f"column {j + 1} ({'no name' if not names[j] else repr(names[j])})"
                    for j in range(index)
                )
                notes.append(
                    f"skipped {what} of {path}: an unnamed first column is a row "
                    "index, as pandas' to_csv writes it (to read it as data, name it "
                    "in the header or choose it with --columns)"
                )
            chosen = [j for j in range(index, n_columns) if j not in dropped]
            if not chosen:
                raise CLIError(f"--drop leaves no column of {path} to read")
        if names is not None:
            seen = {}
            for j in chosen:
                if names[j] in seen:
                    raise CLIError(
                        f"{path}: columns {seen[names[j]] + 1} and {j + 1} are both "
                        f"named {names[j]!r}; rename one, or choose columns with "
                        "--columns or --drop"
                    )
                seen[names[j]] = j
        return chosen, notes

    return select


def _index_like(table, path):
    """A note when the first column read counts the rows (0, 1, 2, ...)."""
    x = table.X[:, 0]
    n = len(x)
    if n < 3 or table.n_rows != n:
        return
    for first in (0, 1):
        if np.array_equal(x, np.arange(first, first + n)):
            name = table.names[0] if table.names else None
            spec = name or "1"
            _note(
                f"the first column of {path}{f' ({name!r})' if name else ''} counts "
                f"the rows {first}, {first + 1}, {first + 2}, ...: if it is an "
                f"index, not a measurement, leave it out with --drop {spec}"
            )
            return


# -- output files ----------------------------------------------------------------
def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The directory of a process's file descriptors (``/dev/stdout`` links there).
_FD_DIRECTORY = re.compile(r"^/proc/[^/]+(/task/[^/]+)?/fd$")


def _through_descriptor(path):
    """Whether ``path`` reaches its file through a file descriptor's link, as
    ``/dev/stdout`` and ``/dev/fd/3`` do (``/proc/self/fd/1``)."""
    current = os.path.abspath(path)
    for _ in range(40):
        if _FD_DIRECTORY.match(os.path.realpath(os.path.dirname(current))):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return False


def _output_target(path):
    """Where an output ``path`` goes: ``(target, direct)``.

    A symbolic link is followed: the file is replaced at the link's target,
    and the link stays a link. An existing path that is not a regular file (a
    device such as ``/dev/null``, a FIFO), or a file descriptor's link such as
    ``/dev/stdout``, is written directly (``direct``): opened for writing, not
    replaced.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is None or stat.S_ISDIR(mode):
        return os.path.realpath(path), False
    if not stat.S_ISREG(mode) or _through_descriptor(path):
        return path, True
    return os.path.realpath(path), False


def _file_key(path):
    """What tells files apart: device and inode, or the real path of a new file."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (info.st_dev, info.st_ino)


def _is_stdout(path):
    """Whether ``path`` is the file that ``sys.stdout`` writes to."""
    try:
        ours = os.fstat(sys.stdout.fileno())
        theirs = os.stat(path)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


class _Outputs:
    """The files one run writes, all or none.

    :meth:`check` tries each path before the work starts (by creating and
    removing a temporary file beside it); :meth:`stage` writes a file's
    content to a temporary file in the same directory; :meth:`commit` renames
    every staged file into place at the end. When anything fails, the
    temporary files are removed and no output is left behind.

    ``'-'`` (stdout) is written first at :meth:`commit`, so that a failing
    stdout leaves no file behind; then the paths that are not regular files
    (a device such as ``/dev/null``, a FIFO, ``/dev/stdout``), opened and
    written directly; then the files are renamed into place. A symbolic link
    is followed: its target is replaced, the link stays.
    """

    def __init__(self):
        self.staged = []  # (temporary path, target, path)
        self.stdout = []  # functions writing to stdout
        self.direct = []  # (path, function, binary): written at commit
        self.paths = {}
        self.inputs = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.abort()

    def input(self, path, what):
        """Note an input file, which no output may replace."""
        self.inputs[_file_key(path)] = (what, path)

    def check(self, path, option, *, stdout=True):
        """Fail now, before a long run, if ``path`` cannot be written."""
        if path is None:
            return
        if path == "-":
            if not stdout:
                raise CLIError(f"{option} needs a file name, not '-'")
            return
        target, direct = _output_target(path)
        if direct:
            if not os.access(path, os.W_OK):
                raise CLIError(f"cannot write {path} ({option}): permission denied")
            return
        key = _file_key(target)
        if key in self.inputs:
            what, name = self.inputs[key]
            raise CLIError(
                f"{option} {path} and {what} {name} are the same file, which the "
                f"output would replace; write {option} to another file"
            )
        if key in self.paths:
            raise CLIError(
                f"{self.paths[key]} and {option} name the same file {path}; give "
                "each output its own file"
            )
        self.paths[key] = option
        directory = os.path.dirname(target)
        if os.path.isdir(path):
            raise CLIError(f"cannot write {path} ({option}): it is a directory")
        if not os.path.isdir(directory):
            parent = directory
            while parent and not os.path.exists(parent):
                parent = os.path.dirname(parent)
            if parent and not os.path.isdir(parent):
                raise CLIError(
                    f"cannot write {path} ({option}): {parent} is not a directory"
                )
            raise CLIError(
                f"cannot write {path} ({option}): directory {directory} does not exist"
            )
        try:
            fd, probe = tempfile.mkstemp(dir=directory, prefix=".gmm-estimators-")
        except OSError as exc:
            raise CLIError(
                f"cannot write {path} ({option}): {exc.strerror or exc}"
            ) from None
        os.close(fd)
        os.remove(probe)

    def stage(self, path, write, *, binary=False):
        """Write ``write(handle)`` to a temporary file beside ``path``."""
        if path == "-":
            self.stdout.append(write)
            return
        target, direct = _output_target(path)
        if direct:
            self.direct.append((path, write, binary))
            return
        directory, name = os.path.split(target)
        try:
            fd, temporary = tempfile.mkstemp(
                dir=directory, prefix=f".{name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.staged.append((temporary, target, path))
        try:
            if binary:
                handle = os.fdopen(fd, "wb")
            else:
                handle = os.fdopen(fd, "w", newline="", encoding="utf-8")
            with handle:
                write(handle)
            os.chmod(temporary, 0o666 & ~_umask())
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None

    def commit(self):
        """Write to stdout, then to the direct paths, then rename the files."""
        broken = None  # the reader of stdout went away (``--out - | head``) ...
        try:
            for write in self.stdout:
                write(sys.stdout)
                sys.stdout.flush()
        except BrokenPipeError as exc:
            broken = exc
        except OSError as exc:
            raise CLIError(f"cannot write to stdout: {exc.strerror or exc}") from None
        self.stdout = []
        for path, write, binary in self.direct:
            try:
                self._write_direct(path, write, binary)
            except BrokenPipeError as exc:
                broken = exc
        self.direct = []
        for temporary, target, path in self.staged:
            try:
                os.replace(temporary, target)
            except OSError as exc:
                raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.staged = []
        if broken is not None:  # ... after the files were kept
            raise broken

    @staticmethod
    def _write_direct(path, write, binary):
        """Write to a path that is not a regular file, without replacing it."""
        stream = None
        if _is_stdout(path):  # /dev/stdout: in order with what else we print
            stream = getattr(sys.stdout, "buffer", None) if binary else sys.stdout
        try:
            if stream is not None:
                sys.stdout.flush()
                write(stream)
                stream.flush()
                return
            if binary:
                handle = open(path, "wb")
            else:
                handle = open(path, "w", newline="", encoding="utf-8")
            with handle:
                write(handle)
        except BrokenPipeError:
            if stream is not None:
                raise
            raise CLIError(f"cannot write {path}: the reader went away") from None
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None

    def abort(self):
        """Remove the temporary files of what was staged and not committed."""
        for temporary, _, _ in self.staged:
            with contextlib.suppress(OSError):
                os.remove(temporary)
        self.staged = []


def _write_rows(handle, columns, header, formats, keep=None):
    """Write a header line and one CSV line per row; rows not kept stay empty."""
    handle.write(",".join(header) + "\n")
    line = ",".join(formats) + "\n"
    empty = "," * (len(header) - 1) + "\n"
    rows = iter(columns.tolist())
    for kept in np.ones(len(columns), dtype=bool) if keep is None else keep:
        handle.write(line % tuple(next(rows)) if kept else empty)


def write_csv(outputs, path, columns, header, formats, keep=None):
    """Stage a CSV file of numbers with a header row.

    Parameters
    ----------
    outputs : _Outputs
        The run's outputs.
    path : str
        Output file, or ``'-'`` for stdout.
    columns : ndarray of shape (n_kept, n_columns)
        The values.
    header : list of str
        Column names.
    formats : list of str
        The printf-style format of each column.
    keep : ndarray of bool, default=None
        Which rows of the input have values: the others get empty cells, so
        that the output has one line per input row.
    """
    outputs.stage(
        path, lambda handle: _write_rows(handle, columns, header, formats, keep)
    )


def _labels(estimator, X):
    """``label, proba_0, ...`` columns for the rows of X, and the labels."""
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        labels = np.argmax(proba, axis=1)
        columns = np.column_stack([labels, proba])
        header = ["label"] + [f"proba_{k}" for k in range(proba.shape[1])]
        formats = ["%d"] + ["%.8g"] * proba.shape[1]
    else:
        labels = np.asarray(estimator.predict(X))
        columns, header, formats = labels[:, None], ["label"], ["%d"]
    return labels, (columns, header, formats)


# -- progress and messages --------------------------------------------------------
class _Progress:
    """A file-like object that forwards the selector's verbose lines to stderr.

    On a terminal each line overwrites the previous one; otherwise (a log, a
    pipe) every line is kept.
    """

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.buffer = ""
        self.width = 0

    def write(self, text):
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            if self.tty:
                line = line[:100]
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
            else:
                self.stream.write(line + "\n")
        self.stream.flush()
        return len(text)

    def flush(self):
        self.stream.flush()

    def close(self):
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


@contextlib.contextmanager
def _progress_to_stderr(enabled):
    """Send what is printed inside to stderr as progress (or nowhere)."""
    if not enabled:
        with contextlib.redirect_stdout(open(os.devnull, "w")) as devnull:
            try:
                yield
            finally:
                devnull.close()
        return
    progress = _Progress(sys.stderr)
    try:
        with contextlib.redirect_stdout(progress):
            yield
    finally:
        progress.close()


def _info(args, message):
    """A progress message on stderr, unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


#: Hints in library warnings that mean nothing on the command line.
_PYTHON_ONLY_HINT = re.compile(r"\s*(Set|try) error_score='raise' to debug\.?", re.I)


def _warning_line(message, limit=300):
    """A warning as one line: a list after its first line is joined by '; '."""
    first, *rest = _PYTHON_ONLY_HINT.sub("", str(message)).strip().splitlines()
    details = [" ".join(line.strip().lstrip("-* ").split()) for line in rest]
    text = " ".join(first.split())
    if any(details):
        text = text.rstrip(".:") + ": " + "; ".join(d for d in details if d)
    return text if len(text) <= limit else text[: limit - 4].rstrip() + " ..."


@contextlib.contextmanager
def _warnings_as_lines():
    """Print warnings as ``gmm-estimators: warning: ...`` lines."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {_warning_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


# -- model selection (shared by the demo and ``fit``) -----------------------------------
def _check_cv(args):
    """Refuse ``--cv`` without ``--criterion cv``, where it would be ignored."""
    if args.cv is not None and args.criterion != "cv":
        raise CLIError(
            f"--cv {args.cv} sets the folds of --criterion cv, but the criterion is "
            f"{args.criterion}; add --criterion cv, or leave --cv out"
        )


def _select(X, args, scaling):
    """Fit a GaussianMixtureSelector with the command-line options.

    ``scaling`` says on stderr whether the data were standardised.
    """
    from ._selection import GaussianMixtureSelector

    types = args.covariance
    if types == "mclust":
        types = mclust_models(X.shape[1])
    n_candidates = len(args.components) * len(types)
    cv = DEFAULT_CV if args.cv is None else args.cv
    folds = f", {cv}-fold cross-validation" if args.criterion == "cv" else ""
    search = ", mclust's search" if args.search == "mclust" else ""
    _info(
        args,
        f"Selecting among {n_candidates} Gaussian mixtures (components "
        f"{_format_components(args.components)}; covariance "
        f"{', '.join(types)}) by {args.criterion.upper()}{folds}{search}, on "
        f"{_data_description(X, scaling)} ...",
    )
    selector = GaussianMixtureSelector(
        n_components=args.components,
        covariance_type=args.covariance,
        criterion=args.criterion,
        search=args.search,
        cv=cv,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=1,
    )
    start = time.perf_counter()
    try:
        with _progress_to_stderr(not args.quiet), _thread_limits(X):
            selector.fit(X)
    except ValueError as exc:
        raise CLIError(f"model selection failed: {_one_line(exc)}") from None
    _info(args, f"Done in {time.perf_counter() - start:.1f} s.")
    return selector


#: Below this many values in X, fits run on one thread (see _thread_limits).
_SMALL_DATA = 100_000


def _thread_limits(X):
    """One BLAS/OpenMP thread for small data, the default otherwise.

    Small fits (the demo's 178 x 13 wine data) are dominated by thread start-up
    and, on a busy machine, by threads waiting for a core: the demo takes about
    2.5 times longer with two threads than with one on a loaded 2-core machine.
    """
    if X.size > _SMALL_DATA:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _data_description(X, scaling):
    """``120 rows x 3 columns (standardised: --scale)`` for progress lines."""
    return f"{X.shape[0]} rows x {X.shape[1]} columns ({scaling})"


def _format_components(values):
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


def _check_rows(path, X, n_components):
    needed = max(2, n_components)
    if X.shape[0] < needed:
        raise CLIError(
            f"{path} has {X.shape[0]} data row{'s' * (X.shape[0] != 1)}: too few "
            f"for {n_components} component{'s' * (n_components != 1)} (at least "
            f"{needed} rows needed; lower --components)"
        )


def _check_constant_columns(path, table):
    """Refuse the columns with one value over the rows read: they cannot tell
    clusters apart, and every candidate's variance along them would be its
    regularisation, which then decides the criteria (iris with a constant
    fifth column: VVV,2 chosen instead of VEV,2, half the candidates failed)."""
    X = table.X
    constant = constant_features(X)
    if not constant.size:
        return
    plural = len(constant) > 1
    if table.names is not None:
        which = ", ".join(repr(table.names[j]) for j in constant)
        fix = "--drop " + ",".join(table.names[j] for j in constant)
    else:
        which = ", ".join(str(j + 1) for j in constant) + " (of the columns read)"
        fix = "--drop or --columns"
    value = "one value each" if plural else f"every row {X[0, constant[0]]:g}"
    raise CLIError(
        f"{path}: column{'s' * plural} {which} {'are' if plural else 'is'} "
        f"constant ({value}): {'they' if plural else 'it'} cannot tell clusters "
        "apart, and the criteria would be decided by the regularisation of a "
        f"zero variance; leave {'them' if plural else 'it'} out with {fix}"
    )


def _criterion_table(selector, n_rows=5):
    """The best rows of ``cv_results_`` as aligned text."""
    results = selector.cv_results_
    order = np.argsort(results["rank_test_score"], kind="stable")[:n_rows]
    columns = [("rank", "rank_test_score", "d"), ("K", "param_n_components", "d")]
    if "param_covariance_type" in results:
        columns.append(("covariance", "param_covariance_type", "s"))
    columns += [("BIC", "bic", ".1f"), ("AIC", "aic", ".1f"), ("ICL", "icl", ".1f")]
    if "mean_test_score" in results:
        columns.append(("held-out ll", "mean_test_score", ".4f"))
    columns += [
        ("log-lik/row", "log_likelihood", ".4f"),
        ("parameters", "n_parameters", "d"),
        ("converged", "converged", "s"),
    ]
    cells = [[title for title, _, _ in columns]]
    for i in order:
        row = []
        for _, key, fmt in columns:
            value = results[key][i]
            if value is np.ma.masked:
                row.append("-")
            elif fmt == "s":
                row.append(
                    str(value if not isinstance(value, np.bool_) else bool(value))
                )
            else:
                row.append(format(float(value) if fmt != "d" else int(value), fmt))
        cells.append(row)
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    return "\n".join(
        "  "
        + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    )


def _summary(selector, labels):
    """Lines describing the selected model."""
    criterion = selector.criterion.upper()
    n_candidates = len(selector.cv_results_["params"])
    cov = selector.covariance_type_
    score = (
        f"held-out log-likelihood {-selector.best_score_:.4f} per row"
        if selector.criterion == "cv"
        else f"{criterion} = {selector.best_score_:.1f}"
    )
    sizes = np.bincount(labels, minlength=selector.n_components_)
    return [
        f"Selected: {selector.n_components_} component"
        f"{'s' * (selector.n_components_ != 1)}"
        + (f", covariance type '{cov}'" if cov is not None else "")
        + f" ({score}, best of {n_candidates} candidates).",
        (
            "Best candidates by held-out log-likelihood (higher is better):"
            if selector.criterion == "cv"
            else f"Best candidates by {criterion} (lower is better):"
        ),
        _criterion_table(selector),
        _sizes_line(sizes),
    ]


def _sizes_line(sizes):
    """``Cluster sizes: 0: 45, 1: 50.``"""
    return "Cluster sizes: " + ", ".join(f"{k}: {n}" for k, n in enumerate(sizes)) + "."


# -- figures --------------------------------------------------------------------
def _have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _draw_histogram(ax, x, labels):
    """Stacked histogram of one column by cluster (the clusters of 1-D data)."""
    K = int(labels.max()) + 1
    ax.hist(
        [x[labels == k] for k in range(K)],
        bins=30,
        stacked=True,
        color=[f"C{k % 10}" for k in range(K)],
        label=[f"cluster {k}" for k in range(K)],
    )
    ax.set_ylabel("rows")
    ax.legend()


def _check_figure_format(path, option):
    """The image format of ``path`` from its extension (png without one)."""
    import matplotlib
    from matplotlib.figure import Figure

    extension = os.path.splitext(path)[1][1:].lower() or "png"
    formats = Figure().canvas.get_supported_filetypes()
    texsystem = matplotlib.rcParams["pgf.texsystem"]
    if extension == "pgf" and shutil.which(texsystem) is None:
        raise CLIError(
            f"cannot draw {path} ({option}): the pgf format needs LaTeX "
            f"({texsystem}), which is not installed; use .pdf or .svg"
        )
    if extension not in formats:
        raise CLIError(
            f"cannot draw {path} ({option}): unknown image format {extension!r} (use "
            "one of "
            f"{', '.join(sorted(formats))})"
        )
    return extension


def _save_figure(
    outputs, path, option, selector, X, labels, title, *, names=None, classes=None
):
    """Stage criterion curves (left) and the clusters (right) for ``path``.

    The clusters are drawn by :class:`~gmm_estimators.ClusterDisplay`: in the
    plane of the two columns when there are two (labelled with ``names``), of
    the first two principal components when there are more; one column is a
    histogram by cluster.
    """
    from matplotlib.figure import Figure

    from .plotting import ClusterDisplay, CriterionDisplay

    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_criterion, ax_clusters = fig.subplots(1, 2)
    CriterionDisplay.from_estimator(selector, ax=ax_criterion)
    ax_criterion.set_title("Model selection")
    covariance = (
        f" ({selector.covariance_type_} covariance)"
        if selector.covariance_type_
        else ""
    )
    if X.shape[1] == 1:
        _draw_histogram(ax_clusters, X[:, 0], labels)
        ax_clusters.set_xlabel(names[0] if names else "value")
        ax_clusters.set_title(f"{selector.n_components_} clusters{covariance}")
    else:
        ClusterDisplay.from_estimator(
            selector, X, labels=labels, y=classes, ax=ax_clusters
        )
        if names and X.shape[1] == 2:
            ax_clusters.set_xlabel(names[0])
            ax_clusters.set_ylabel(names[1])
        ax_clusters.set_title(
            f"{selector.n_components_} clusters{covariance}, ellipses at 2 "
            "standard deviations"
        )
    fig.suptitle(title)
    image_format = _check_figure_format(path, option)
    try:
        outputs.stage(
            path,
            lambda handle: fig.savefig(handle, format=image_format, dpi=110),
            binary=True,
        )
    except ValueError as exc:
        raise CLIError(f"cannot write the figure {path}: {_one_line(exc)}") from None


# -- commands ---------------------------------------------------------------------
def run_demo(args):
    """Choose a Gaussian mixture for the standardised wine data and draw it."""
    from sklearn.datasets import load_wine
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    _check_cv(args)
    figure = None if args.no_figure else args.figure
    with _Outputs() as outputs:
        outputs.check(figure, "--figure", stdout=False)
        if figure is not None and _have_matplotlib():
            _check_figure_format(figure, "--figure")
        wine = load_wine()
        X = StandardScaler().fit_transform(wine.data)
        print(
            f"Wine data: {X.shape[0]} wines x {X.shape[1]} chemical measurements "
            f"(standardised), {len(wine.target_names)} known cultivars."
        )
        selector = _select(X, args, "standardised")
        labels = selector.labels_
        for line in _summary(selector, labels):
            print(line)
        ari = adjusted_rand_score(wine.target, labels)
        print(
            f"Adjusted Rand index against the known cultivars: {ari:.3f} "
            "(1 = the same partition, 0 = chance)."
        )
        print("Cultivar x cluster counts:")
        K = selector.n_components_
        table = np.zeros((len(wine.target_names), K), dtype=int)
        np.add.at(table, (wine.target, labels), 1)
        print("  cultivar  " + " ".join(f"{k:>4}" for k in range(K)))
        for c, row in enumerate(table):
            print(f"  {c:>8}  " + " ".join(f"{n:>4}" for n in row))
        if figure is None:
            return 0
        if not _have_matplotlib():
            print(
                "matplotlib is not installed, so no figure was drawn; get it with: "
                f"{PLOT_HINT}"
            )
            return 0
        _save_figure(
            outputs,
            figure,
            "--figure",
            selector,
            X,
            labels,
            f"Wine data: {selector.criterion.upper()} selects {K} components "
            f"(adjusted Rand index {ari:.2f} against the cultivars)",
            classes=wine.target,
        )
        outputs.commit()
    print(f"Wrote the figure {os.path.abspath(figure)}")
    return 0


def _read_data(args, select):
    """Read ``args.data`` with the reading options of a command."""
    table = read_csv(
        args.data,
        delimiter=args.delimiter,
        select=select,
        dropna=args.dropna,
        report=None if args.quiet else lambda line: _info(args, line),
    )
    if hasattr(args, "columns") and args.columns is None:
        _index_like(table, args.data)
    return table


def _standardise(args, X):
    """``(scaler or None, data to fit, what was done)`` for ``--scale``."""
    if not args.scale:
        return None, X, "not standardised; --scale standardises each column"
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    return scaler, scaler.transform(X), "standardised: --scale"


def _model_to_save(scaler, estimator, names):
    """The estimator (after the scaler, in a Pipeline), carrying column names.

    The names go in ``feature_names_in_``, as scikit-learn stores the columns
    of a data frame: ``predict`` matches columns by them, and scikit-learn
    checks them when the model is used on a data frame in Python.
    """
    model = estimator
    if scaler is not None:
        from sklearn.pipeline import Pipeline

        model = Pipeline(
            [("standardscaler", scaler), (type(estimator).__name__.lower(), estimator)]
        )
    if names is not None:
        (scaler if scaler is not None else estimator).feature_names_in_ = np.asarray(
            names, dtype=object
        )
    return model


def _final_estimator(model):
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _stage_model(outputs, path, model):
    import joblib

    outputs.stage(path, lambda handle: joblib.dump(model, handle), binary=True)


def _check_plot(args):
    if args.plot:
        if not _have_matplotlib():
            raise CLIError(f"--plot needs matplotlib; install it with: {PLOT_HINT}")
        _check_figure_format(args.plot, "--plot")


def run_fit(args):
    """``gmm-estimators fit``: select a mixture for a CSV file."""
    _check_cv(args)
    _check_plot(args)
    with _Outputs() as outputs:
        outputs.input(args.data, "the data file (DATA)")
        outputs.check(args.out, "--out")
        outputs.check(args.model, "--model", stdout=False)
        outputs.check(args.plot, "--plot", stdout=False)
        table = _read_data(args, _user_columns(args))
        _check_rows(args.data, table.X, max(args.components))
        _check_constant_columns(args.data, table)
        scaler, X, scaling = _standardise(args, table.X)
        selector = _select(X, args, scaling)
        best = selector.best_estimator_
        labels, columns = _labels(best, X)
        write_csv(outputs, args.out, *columns, keep=table.keep)
        if args.model:
            _stage_model(outputs, args.model, _model_to_save(scaler, best, table.names))
        if args.plot:
            _save_figure(
                outputs,
                args.plot,
                "--plot",
                selector,
                X,
                labels,
                f"{os.path.basename(args.data)}: {selector.criterion.upper()} "
                f"selects {selector.n_components_} components",
                names=table.names,
            )
        outputs.commit()
    report = sys.stderr if args.out == "-" else sys.stdout
    for line in _summary(selector, labels):
        print(line, file=report)
    if args.out != "-":
        print(f"Wrote labels and probabilities of {table.n_rows} rows to {args.out}")
    if args.model:
        print(
            f"Saved the selected {type(best).__name__}"
            f"{' (after a StandardScaler)' if scaler is not None else ''} to "
            f"{args.model}",
            file=report,
        )
    if args.plot:
        print(f"Wrote the figure {args.plot}", file=report)
    return 0


def _load_model(path):
    """Load a model saved by ``fit --model`` or ``reduce --model``."""
    import joblib

    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a model file")
    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file")
    usage = f"usage: {PROG} predict MODEL DATA --out CSV"
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        first_line = head.decode("utf-8").splitlines()[0] if head else ""
        is_text = b"\0" not in head
    except (UnicodeDecodeError, IndexError):
        is_text = False
    if is_text:
        what = f"begins {first_line[:30]!r}" if first_line else "is empty"
        raise CLIError(
            f"cannot load a model from {path}: it is a text file (it {what}), not a "
            f"model saved by '{PROG} fit --model' ({usage})"
        )
    try:
        model = joblib.load(path)
    except Exception as exc:
        raise CLIError(
            f"cannot load a model from {path} (is it a file written by "
            f"'{PROG} fit --model'?): {_one_line(exc)}"
        ) from None
    if not hasattr(model, "predict") or not hasattr(model, "n_features_in_"):
        raise CLIError(f"{path} holds a {type(model).__name__}, not a fitted mixture")
    return model


def _model_columns(args, model):
    """The column choice of ``predict``: by the model's column names."""
    expected = getattr(model, "feature_names_in_", None)
    expected = None if expected is None else [str(name) for name in expected]
    n_features = model.n_features_in_
    where = f"the model in {args.model}"

    def count_mismatch(path, n_columns):
        return CLIError(
            f"{path} has {n_columns} column{'s' * (n_columns != 1)}, but {where} "
            f"was fitted on {n_features}"
        )

    def select(path, names, n_columns):
        notes = []
        if expected is not None and names is not None:
            missing = [name for name in expected if name not in names]
            if missing:
                raise CLIError(
                    f"{path} has no column {missing[0]!r}"
                    + (f" (nor {_list_names(missing[1:], 4)})" if missing[1:] else "")
                    + f", which {where} was fitted on (its columns: "
                    f"{_list_names(expected)})"
                )
            for name in expected:
                if names.count(name) > 1:
                    raise CLIError(
                        f"{path} has {names.count(name)} columns named {name!r}; "
                        f"{where} needs one"
                    )
            chosen = [names.index(name) for name in expected]
            if chosen != sorted(chosen):
                notes.append(
                    f"the columns of {path} are in another order than in the model; "
                    "they are matched by name"
                )
            extra = [names[j] for j in range(n_columns) if j not in chosen]
            if extra:
                notes.append(
                    f"ignored {len(extra)} column{'s' * (len(extra) != 1)} of {path} "
                    f"that the model does not use: {_list_names(extra, 5)}"
                )
            return chosen, notes
        start = 0
        if names is not None:
            while start < n_columns - 1 and _INDEX_NAME.match(names[start]):
                start += 1
            if start:
                notes.append(
                    f"skipped {start} unnamed first column{'s' * (start != 1)} of "
                    f"{path}: a row index, as pandas' to_csv writes it"
                )
        if n_columns - start != n_features:
            raise count_mismatch(path, n_columns - start)
        if expected is not None:
            notes.append(
                f"{path} has no header row: its {n_features} columns are taken in "
                f"the model's order ({_list_names(expected, 5)})"
            )
        elif names is not None:
            notes.append(
                f"{where} has no column names (it was fitted on a file without a "
                f"header row): the columns of {path} are taken by position"
            )
        return list(range(start, n_columns)), notes

    return select


def run_predict(args):
    """``gmm-estimators predict``: label a CSV file with a saved model."""
    with _Outputs() as outputs:
        outputs.input(args.model, "the model file (MODEL)")
        outputs.input(args.data, "the data file (DATA)")
        outputs.check(args.out, "--out")
        model = _load_model(args.model)
        table = _read_data(args, _model_columns(args, model))
        try:
            with warnings.catch_warnings():
                # the columns were matched by name above
                warnings.filterwarnings(
                    "ignore", message="X does not have valid feature names"
                )
                labels, columns = _labels(model, table.X)
        except ValueError as exc:
            raise CLIError(f"prediction failed: {_one_line(exc)}") from None
        write_csv(outputs, args.out, *columns, keep=table.keep)
        outputs.commit()
    report = sys.stderr if args.out == "-" else sys.stdout
    final = _final_estimator(model)
    # a selector's chosen number (its n_components parameter is the grid)
    n_components = getattr(final, "n_components_", getattr(final, "n_components", None))
    if not isinstance(n_components, Integral):
        n_components = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=n_components)
    print(
        f"Predicted {len(table.X)} rows with the {type(final).__name__} in "
        f"{args.model} ({n_components} components).",
        file=report,
    )
    print(_sizes_line(sizes), file=report)
    if args.out != "-":
        print(f"Wrote labels and probabilities to {args.out}")
    return 0


def run_reduce(args):
    """``gmm-estimators reduce``: per-component reduction with MixtureOfPPCA."""
    from ._ppca import MixtureOfPPCA

    with _Outputs() as outputs:
        outputs.input(args.data, "the data file (DATA)")
        outputs.check(args.out, "--out")
        outputs.check(args.model, "--model", stdout=False)
        table = _read_data(args, _user_columns(args))
        _check_rows(args.data, table.X, args.components)
        if args.latent >= table.X.shape[1]:
            raise CLIError(
                f"--latent {args.latent} must be less than the number of columns of "
                f"{args.data} ({table.X.shape[1]})"
            )
        scaler, X, scaling = _standardise(args, table.X)
        _info(
            args,
            f"Fitting a mixture of {args.components} probabilistic PCA components "
            f"with {args.latent} latent dimensions on "
            f"{_data_description(X, scaling)} ...",
        )
        model = MixtureOfPPCA(
            n_components=args.components,
            n_latent=args.latent,
            random_state=args.random_state,
        )
        start = time.perf_counter()
        try:
            with _thread_limits(X):
                model.fit(X)
                reduced = np.asarray(model.transform(X))
                labels = np.asarray(model.predict(X))
                score = model.score(X)
            names = [str(name) for name in model.get_feature_names_out()]
        except ValueError as exc:
            raise CLIError(f"fitting MixtureOfPPCA failed: {_one_line(exc)}") from None
        _info(args, f"Done in {time.perf_counter() - start:.1f} s.")
        write_csv(
            outputs,
            args.out,
            reduced,
            names,
            ["%.8g"] * reduced.shape[1],
            keep=table.keep,
        )
        if args.model:
            _stage_model(
                outputs, args.model, _model_to_save(scaler, model, table.names)
            )
        outputs.commit()
    report = sys.stderr if args.out == "-" else sys.stdout
    sizes = np.bincount(labels, minlength=args.components)
    print(
        f"MixtureOfPPCA: {args.components} components, {args.latent} latent "
        f"dimensions; mean log-likelihood {score:.4f} per row.",
        file=report,
    )
    print(_sizes_line(sizes), file=report)
    if args.out != "-":
        print(
            f"Wrote {reduced.shape[1]} columns ({', '.join(names[:4])}"
            f"{', ...' if len(names) > 4 else ''}) of {table.n_rows} rows to {args.out}"
        )
    if args.model:
        print(f"Saved the MixtureOfPPCA to {args.model}", file=report)
    return 0


# -- the parser -------------------------------------------------------------------
#: Prefix of the attributes set by the options written before a command: the
#: demo's. Kept apart so that an option written before a command is noticed.
_DEMO = "demo_"


class _Options:
    """Adds options to a group; the demo's get a prefixed ``dest``, no default."""

    def __init__(self, group, demo):
        self.group, self.demo = group, demo

    def add(self, *flags, default=None, **kwargs):
        dest = flags[-1].lstrip("-").replace("-", "_")
        if self.demo:
            kwargs.update(dest=_DEMO + dest, default=argparse.SUPPRESS)
            _DEMO_DEFAULTS[dest] = default
        else:
            kwargs.update(dest=dest, default=default)
        self.group.add_argument(*flags, **kwargs)


_DEMO_DEFAULTS = {}


def _add_selection_options(
    parser, default_components, default_covariance, *, demo=False
):
    title = "demo: model selection" if demo else "model selection"
    options = _Options(parser.add_argument_group(title), demo)
    options.add(
        "--components",
        type=_components_range,
        default=_components_range(default_components),
        metavar="RANGE",
        help=f"numbers of components to try, e.g. 1-10, 3 or 2,4,8 "
        f"(default: {default_components})",
    )
    options.add(
        "--covariance",
        type=_covariance_types,
        default=_covariance_types(default_covariance),
        metavar="TYPES",
        help="covariance types to try, comma-separated: scikit-learn's "
        f"{','.join(COVARIANCE_TYPES)}, mclust's "
        f"{','.join(MCLUST_MODELS)}, or 'mclust' for mclust's models (the fourteen; "
        f"E and V for one feature) (default: {default_covariance})",
    )
    options.add(
        "--criterion",
        choices=CRITERIA,
        default="bic",
        help="how to compare the candidates: BIC, AIC, ICL or cross-validated "
        "held-out log-likelihood (default: bic)",
    )
    options.add(
        "--cv",
        type=_positive_int,
        default=None,
        metavar="FOLDS",
        help="folds for --criterion cv (default: 5); only with --criterion cv",
    )
    options.add(
        "--search",
        choices=SEARCHES,
        default="thorough",
        help="how hard each candidate's best fit is searched for: 'thorough' "
        "(several starts and restarts) or 'mclust' (one fit from mclust's "
        "start, as mclustBIC: 3-6 times faster, may miss better optima) "
        "(default: thorough)",
    )
    _add_run_options(parser, demo=demo)


def _add_run_options(parser, *, n_jobs=True, demo=False):
    options = _Options(parser.add_argument_group("demo: run" if demo else "run"), demo)
    options.add(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the initialisations, for reproducible results (default: 0)",
    )
    if n_jobs:
        options.add(
            "--n-jobs",
            type=int,
            default=None,
            metavar="N",
            help="candidates fitted in parallel; -1 uses every core (default: 1)",
        )
    options.add(
        "-q",
        "--quiet",
        action="store_true",
        default=False,
        help="print no progress on stderr (notes on how the data were read remain)",
    )


def _add_input_options(parser, *, choose=True):
    """Options on how to read the CSV file (``choose``: columns and scaling)."""
    group = parser.add_argument_group("reading the CSV file")
    group.add_argument(
        "--delimiter",
        type=_delimiter,
        default=None,
        metavar="CHAR",
        help="field delimiter: a character, or comma, semicolon, tab, pipe, space "
        "(default: auto, which detects , ; tab or | and says which on stderr)",
    )
    if choose:
        which = group.add_mutually_exclusive_group()
        which.add_argument(
            "--columns",
            type=_column_list,
            metavar="LIST",
            help="read only these columns, in this order: names from the header "
            "row or numbers from 1, comma-separated",
        )
        which.add_argument(
            "--drop",
            type=_column_list,
            metavar="LIST",
            help="read every column but these (names or numbers from 1)",
        )
    group.add_argument(
        "--dropna",
        action="store_true",
        help="leave out rows with a missing value (empty, NA, nan, ...) and give "
        "them empty output cells (default: refuse them, naming rows and columns)",
    )
    if choose:
        group.add_argument(
            "--scale",
            action="store_true",
            help="standardise each column (zero mean, unit variance) before the "
            "fit; the saved model standardises new data the same way (default: "
            "fit the values as they are)",
        )


def build_parser():
    """The argument parser of ``gmm-estimators`` (and ``python -m gmm_estimators``).

    Returns
    -------
    argparse.ArgumentParser
        Parser whose result has a ``command`` attribute: ``None`` for the demo,
        else ``'fit'``, ``'predict'`` or ``'reduce'``. The options written
        before a command are the demo's: their attributes start with ``demo_``
        (see :func:`main`).
    """
    from . import __version__

    parser = _ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [demo options] | {PROG} COMMAND ARGUMENTS [options]",
        description="Gaussian mixture models from the command line. Without a "
        "command, run the demo: choose a mixture for the wine data "
        "(sklearn.datasets.load_wine, standardised) by BIC, print the chosen "
        "model and how well it recovers the three cultivars, and write a figure "
        f"({DEMO_FIGURE}) to the working directory. The options below are the "
        "demo's; a command takes its own options, written after it.",
        epilog="Run 'gmm-estimators COMMAND --help' for the options of a command. "
        "CSV files are numbers, one row per sample, with or without a header row "
        "of column names; the delimiter is detected.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    demo = _Options(parser.add_argument_group("demo: figure"), demo=True)
    demo.add(
        "--figure",
        default=DEMO_FIGURE,
        metavar="PNG",
        help=f"where the demo writes its figure (default: {DEMO_FIGURE})",
    )
    demo.add("--no-figure", action="store_true", default=False, help="draw no figure")
    # the demo: scikit-learn's four types, a few seconds (the fourteen: 15 s)
    _add_selection_options(parser, "1-10", ",".join(COVARIANCE_TYPES), demo=True)
    parser.set_defaults(command=None, func=run_demo)

    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    fit = commands.add_parser(
        "fit",
        prog=f"{PROG} fit",
        help="select a Gaussian mixture for a CSV file and label its rows",
        description="Select the number of components and covariance type of a "
        "Gaussian mixture for the rows of a numeric CSV file, write each row's "
        "cluster label and component probabilities, and optionally save the model "
        "and a figure. The values are fitted as they are unless --scale is given.",
    )
    fit.add_argument("data", help="numeric CSV file, with or without a header row")
    fit.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write 'label,proba_0,...', one row per input row ('-' for "
        "stdout)",
    )
    fit.add_argument(
        "--model",
        metavar="JOBLIB",
        help="save the selected GaussianMixture here (joblib), with the column "
        "names (and the scaler of --scale), for 'predict'",
    )
    fit.add_argument(
        "--plot",
        metavar="PNG",
        help="draw the criterion curves and the clusters here (needs matplotlib)",
    )
    _add_input_options(fit)
    _add_selection_options(fit, "1-10", "mclust")
    fit.set_defaults(command="fit", func=run_fit)

    predict = commands.add_parser(
        "predict",
        prog=f"{PROG} predict",
        help="label the rows of a CSV file with a saved model",
        description="Label the rows of a numeric CSV file with a model saved by "
        "'gmm-estimators fit --model' (or any fitted mixture saved with joblib). "
        "Columns are matched by name when the model and the file have names. "
        "Loading a model runs pickle: load only files you trust.",
    )
    predict.add_argument("model", help="model file written by 'fit --model'")
    predict.add_argument("data", help="numeric CSV file, with or without a header row")
    predict.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write 'label,proba_0,...' ('-' for stdout)",
    )
    _add_input_options(predict, choose=False)
    predict.add_argument(
        "-q", "--quiet", action="store_true", help="print no progress on stderr"
    )
    predict.set_defaults(command="predict", func=run_predict)

    reduce = commands.add_parser(
        "reduce",
        prog=f"{PROG} reduce",
        help="reduce dimension per component with a mixture of probabilistic PCA",
        description="Fit a MixtureOfPPCA to a numeric CSV file and write its "
        "transform: the latent coordinates of every row.",
    )
    reduce.add_argument("data", help="numeric CSV file, with or without a header row")
    reduce.add_argument(
        "--components",
        type=_positive_int,
        required=True,
        metavar="K",
        help="number of mixture components",
    )
    reduce.add_argument(
        "--latent",
        type=_positive_int,
        default=2,
        metavar="Q",
        help="latent dimensions per component, less than the number of columns "
        "(default: 2)",
    )
    reduce.add_argument(
        "--out",
        required=True,
        metavar="CSV",
        help="where to write the reduced columns ('-' for stdout)",
    )
    reduce.add_argument(
        "--model", metavar="JOBLIB", help="save the fitted MixtureOfPPCA here"
    )
    _add_input_options(reduce)
    _add_run_options(reduce, n_jobs=False)
    reduce.set_defaults(command="reduce", func=run_reduce)
    return parser


def _demo_option_strings(parser):
    """``{dest: '--option'}`` for the demo's options."""
    return {
        action.dest: max(action.option_strings, key=len)
        for action in parser._actions
        if action.dest.startswith(_DEMO)
    }


def _parse(parser, argv):
    """Parse ``argv``; refuse a demo option written before a command."""
    args, extra = parser.parse_known_args(argv)
    given = [dest for dest in vars(args) if dest.startswith(_DEMO)]
    options = _demo_option_strings(parser)
    if args.command is not None:
        if given:
            option = options[given[0]]
            raise CLIError(
                f"{option} was written before the command '{args.command}', where it "
                f"would set an option of the demo; write the options of "
                f"'{args.command}' after it: {PROG} {args.command} ... {option} ... "
                f"(see '{PROG} {args.command} --help')"
            )
        if extra:
            demo_only = [a for a in extra if a.split("=")[0] in options.values()]
            why = (
                f" ({demo_only[0].split('=')[0]} is an option of the demo, which runs "
                "without a command)"
                if demo_only
                else ""
            )
            raise CLIError(
                f"unrecognized arguments for '{args.command}': {' '.join(extra)}{why} "
                f"(see '{PROG} {args.command} --help')"
            )
        return args
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for dest, default in _DEMO_DEFAULTS.items():
        setattr(args, dest, getattr(args, _DEMO + dest, default))
    return args


def main(argv=None):
    """Run the ``gmm-estimators`` command line.

    Without a command, run the demo on the wine data; with ``fit``,
    ``predict`` or ``reduce``, run that command (``--help`` lists the options).
    Errors in the input are reported as one line on stderr,
    ``gmm-estimators: error: ...``, never as a traceback.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name. ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input or a failed fit, 1 for
        an unexpected error (set the environment variable
        ``GMM_ESTIMATORS_TRACEBACK=1`` to see its traceback), 130 when
        interrupted.

    See Also
    --------
    gmm_estimators.GaussianMixtureSelector : The model selection behind the
        demo and ``fit``.
    gmm_estimators.MixtureOfPPCA : The model behind ``reduce``.

    Examples
    --------
    >>> from gmm_estimators._cli import main
    >>> main(["fit", "no-such-file.csv", "--out", "labels.csv"])
    2

    The message went to stderr: ``gmm-estimators: error: no-such-file.csv: no
    such file``.
    """
    parser = build_parser()
    try:
        with _warnings_as_lines():
            try:
                args = _parse(parser, argv)
            except SystemExit as exc:  # --help, --version
                return exc.code
            return args.func(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``... --out - | head``): stop
        # quietly, as command-line tools do, without a second error at exit
        # (stdout may have no file descriptor when main runs in-process).
        with contextlib.suppress(OSError, ValueError):
            stdout = sys.stdout.fileno()
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout)
        return 0
    except Exception as exc:
        if os.environ.get(_TRACEBACK_ENV):
            raise
        print(
            f"{PROG}: error: unexpected {type(exc).__name__}: {_one_line(exc)} (set "
            f"{_TRACEBACK_ENV}=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1
