"""Rebuild the raw photo collection from the origins listed in ``SOURCES.csv``.

For users without ``../shared/foxdog-raw``: the origins ship with the package as
:data:`ORIGINS` (``foxdog/data/origins.csv``: ``relative_path, source_repo,
source_path, source_commit, source_sha256, breed_or_species``, built from the
shared ``SOURCES.csv``), and a full ``SOURCES.csv`` is read the same way. Every
row names a file in a public
GitHub repository at a fixed commit, fetched from
``{base_url}/{source_repo}/{source_commit}/{source_path}`` and written to
``dest/relative_path``.

The download reproduces the *origin* file and verifies it against
``source_sha256``, not ``sha256``. The two differ for the 61 rows whose ``note``
says the stored copy was downscaled and re-encoded (very large randomfox.ca
photos), so a downloaded collection holds those photos at full size, and a
file copied from the stored collection does not count as present for them.

Each file is hashed while it streams into a temporary file beside its target
and renamed into place only once the hash matches: a mismatch, an HTTP error, a
timeout or an interrupted run leaves no partial file, and a re-run skips every
file already present with the right hash without a request. Stale temporary
files of a killed run are removed at start. After a complete run, ``dest`` gets
its own ``SOURCES.csv`` (what ``foxdog curate`` reads), whose ``sha256`` is the
hash of the file actually fetched. When the origin cannot be reached at all
(``max_connection_failures`` attempts in a row fail to connect), the run stops
with one :class:`DownloadError` instead of retrying every file.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io as io_text
import os
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from tqdm import tqdm

from foxdog import io
from foxdog.data.sources import DOWNLOAD_COLUMNS, SOURCES_FILE

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
ORIGINS = Path(__file__).with_name("origins.csv")
# Attempts in a row that fail to connect (refused, DNS, timeout) before the whole
# run is abandoned: with no network, retrying 3610 files would take ~20 minutes.
MAX_CONNECTION_FAILURES = 5
REQUIRED_COLUMNS = (
    "relative_path",
    "source_repo",
    "source_path",
    "source_commit",
    "source_sha256",
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 64 * 1024
_USER_AGENT = "foxdog-download/0.1"
# Worth another try: the server or the network may recover. Other 4xx will not.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

Outcome = Literal["downloaded", "skipped", "failed"]


class DownloadError(ValueError):
    """``SOURCES.csv`` or an argument is unusable; the message names the file, row or value."""


@dataclass(frozen=True)
class Source:
    """One row of ``SOURCES.csv``: where a file comes from and where it goes."""

    relative_path: str
    source_repo: str
    source_path: str
    source_commit: str
    source_sha256: str
    breed_or_species: str = ""  # optional column, carried into the written SOURCES.csv

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        """The origin URL, each path part percent-encoded (``german+shepherd`` -> ``%2B``)."""
        parts = (
            urllib.parse.quote(self.source_repo, safe="/"),
            urllib.parse.quote(self.source_commit, safe=""),
            urllib.parse.quote(self.source_path, safe="/"),
        )
        return "/".join((base_url.rstrip("/"), *parts))


@dataclass(frozen=True)
class DownloadReport:
    """What a download run did: counts, and one ``(relative_path, reason)`` per failure."""

    downloaded: int = 0
    skipped: int = 0  # already present with the right sha256: no request made
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file is now present and verified."""
        return not self.failed


# --- reading SOURCES.csv -------------------------------------------------------------


def read_sources(sources_csv: Path) -> list[Source]:
    """Parse and validate ``sources_csv`` up front, before anything is downloaded or written.

    Raises :class:`DownloadError` naming the file (missing, unreadable), the column
    (missing) or the line (empty field, bad hash, unsafe or duplicate path).
    """
    sources_csv = Path(sources_csv)
    try:
        with open(sources_csv, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            _check_columns(sources_csv, reader.fieldnames)
            sources = [_parse_row(sources_csv, reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise DownloadError(f"{sources_csv}: not found (pass the path to SOURCES.csv)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DownloadError(f"{sources_csv}: not a readable CSV file ({err})") from None
    _check_unique(sources_csv, sources)
    return sources


def _check_columns(sources_csv: Path, fieldnames: list[str] | None) -> None:
    if not fieldnames:
        raise DownloadError(f"{sources_csv}: empty file (expected a header row)")
    missing = [name for name in REQUIRED_COLUMNS if name not in fieldnames]
    if missing:
        raise DownloadError(f"{sources_csv}: missing column(s) {', '.join(missing)}")


def _parse_row(sources_csv: Path, line: int, row: dict[str, str | None]) -> Source:
    values = {name: (row.get(name) or "").strip() for name in REQUIRED_COLUMNS}
    where = f"{sources_csv}:{line}"
    for name, value in values.items():
        if not value:
            raise DownloadError(f"{where}: empty {name}")
    if not _SHA256.fullmatch(values["source_sha256"]):
        raise DownloadError(
            f"{where}: source_sha256 {values['source_sha256']!r} is not 64 lowercase hex digits"
        )
    if not _is_safe_relative(values["relative_path"]):
        raise DownloadError(
            f"{where}: relative_path {values['relative_path']!r} must stay inside the "
            "destination (relative, no '..', forward slashes)"
        )
    return Source(**values, breed_or_species=(row.get("breed_or_species") or "").strip())


def _is_safe_relative(relative_path: str) -> bool:
    # Checked on the text, for both path flavours, so a row cannot write outside
    # dest on any platform (``C:\x``, ``\\server\x`` and ``a\..\..\x`` included).
    if "\\" in relative_path or "\x00" in relative_path:
        return False
    posix = PurePosixPath(relative_path)
    windows = PureWindowsPath(relative_path)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        return False
    return ".." not in posix.parts and posix.parts not in ((), (".",))


def _check_unique(sources_csv: Path, sources: list[Source]) -> None:
    # Two rows with one target would race on the same file from two threads.
    seen: set[str] = set()
    for source in sources:
        key = str(PurePosixPath(source.relative_path))
        if key in seen:
            raise DownloadError(f"{sources_csv}: relative_path {key!r} is listed twice")
        seen.add(key)


# --- fetching one file ---------------------------------------------------------------


class _Failure(Exception):
    """One attempt failed; ``retry`` says whether another attempt could succeed."""

    def __init__(self, message: str, *, retry: bool, connection: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.connection = connection  # the origin could not be reached at all


class _Cancelled(Exception):
    """The run is being interrupted: abandon this file (its temp file is removed)."""


@dataclass(frozen=True)
class _Options:
    base_url: str
    retries: int
    timeout: float
    backoff: float


class _Reachability:
    """Counts connection failures in a row across the worker threads; trips at ``limit``."""

    def __init__(self, limit: int, cancel: threading.Event) -> None:
        self.limit, self.cancel = limit, cancel
        self.in_a_row = 0
        self.last = ""
        self.tripped = False
        self._lock = threading.Lock()

    def failed(self, reason: str) -> None:
        with self._lock:
            self.in_a_row += 1
            self.last = reason
            if self.in_a_row >= self.limit and not self.tripped:
                self.tripped = True
                self.cancel.set()  # stop queued files and in-flight retries

    def succeeded(self) -> None:
        with self._lock:
            self.in_a_row = 0


def _is_present(target: Path, expected: str) -> bool:
    try:
        return target.is_file() and io.sha256_file(target) == expected
    except OSError:
        return False


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        raise _Failure(f"HTTP {err.code} from {url}", retry=err.code in _RETRY_STATUS) from None
    except urllib.error.URLError as err:
        raise _network_failure(err.reason, url, timeout) from None
    except (OSError, http.client.HTTPException) as err:
        raise _network_failure(err, url, timeout) from None


def _network_failure(reason: object, url: str, timeout: float) -> _Failure:
    if isinstance(reason, TimeoutError):
        return _Failure(
            f"timed out after {timeout:g} s fetching {url}", retry=True, connection=True
        )
    text = str(reason) or type(reason).__name__
    return _Failure(f"cannot fetch {url} ({text})", retry=True, connection=True)


def _read(response: http.client.HTTPResponse, url: str, timeout: float) -> bytes:
    # read1 returns what has arrived instead of waiting for a full chunk, so a
    # slow transfer still notices Ctrl-C between chunks.
    try:
        return response.read1(_CHUNK)
    except (OSError, http.client.HTTPException) as err:
        raise _network_failure(err, url, timeout) from None


def _stream(url: str, tmp: Path, expected: str, opts: _Options, cancel: threading.Event) -> None:
    """Stream ``url`` into ``tmp``, hashing as it goes; raise :class:`_Failure` unless verified."""
    digest = hashlib.sha256()
    received = 0
    with _open(url, opts.timeout) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        while chunk := _read(response, url, opts.timeout):
            if cancel.is_set():
                raise _Cancelled
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
    # A connection cut mid-body can end the stream without an error; say so
    # (and retry) rather than report it as a wrong file.
    if length is not None and length.isdigit() and received != int(length):
        raise _Failure(f"incomplete transfer ({received} of {length} bytes) from {url}", retry=True)
    got = digest.hexdigest()
    if got != expected:
        raise _Failure(
            f"sha256 mismatch (expected {expected[:12]}…, got {got[:12]}…) from {url}",
            retry=False,
        )


def _fetch(
    source: Source, dest: Path, opts: _Options, cancel: threading.Event, reach: _Reachability
) -> str | None:
    """Make ``dest/relative_path`` the verified origin file: ``None`` if done, else the reason.

    On failure the target is left exactly as it was before (never a partial file).
    """
    target = dest / source.relative_path
    url = source.url(opts.base_url)
    for attempt in range(opts.retries + 1):
        if cancel.is_set():
            raise _Cancelled
        try:
            io.atomic_write(
                target, lambda tmp: _stream(url, tmp, source.source_sha256, opts, cancel)
            )
            reach.succeeded()
            return None
        except _Failure as err:
            if err.connection:
                reach.failed(str(err))
                if reach.tripped:
                    raise _Cancelled from None
            else:
                reach.succeeded()  # the server answered: it is reachable
            if not err.retry or attempt == opts.retries:
                return f"{source.relative_path}: {err}"
        except OSError as err:  # local disk: creating the folder or the temp file
            return f"{source.relative_path}: cannot write {target} ({err.strerror or err})"
        # Back off so a struggling server is not hammered; wakes early on Ctrl-C.
        cancel.wait(opts.backoff * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _process(
    source: Source, dest: Path, opts: _Options, cancel: threading.Event, reach: _Reachability
) -> tuple[Outcome, str]:
    """Skip, download or fail one file; the string is the failure reason, else empty."""
    if _is_present(dest / source.relative_path, source.source_sha256):
        return "skipped", ""
    reason = _fetch(source, dest, opts, cancel, reach)
    return ("failed", reason) if reason else ("downloaded", "")


# --- the whole collection ------------------------------------------------------------


def _show_progress(progress: bool) -> bool:
    # A progress bar is noise in CI logs and in redirected output.
    return progress and not os.environ.get("CI") and sys.stderr.isatty()


def _check_arguments(
    workers: int, retries: int, timeout: float, backoff: float, max_failures: int
) -> None:
    if max_failures < 1:
        raise DownloadError(f"max_connection_failures={max_failures} must be ≥ 1")
    if workers < 1:
        raise DownloadError(f"workers={workers} must be ≥ 1")
    if retries < 0:
        raise DownloadError(f"retries={retries} must be ≥ 0")
    if not timeout > 0:
        raise DownloadError(f"timeout={timeout} must be > 0 seconds")
    if backoff < 0:
        raise DownloadError(f"backoff={backoff} must be ≥ 0 seconds")


def download_collection(
    sources_csv: Path | None,
    dest: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    workers: int = 8,
    retries: int = 2,
    timeout: float = 30.0,
    backoff: float = 0.5,
    progress: bool = True,
    max_connection_failures: int = MAX_CONNECTION_FAILURES,
) -> DownloadReport:
    """Download every file listed in ``sources_csv`` into ``dest``, verified against its origin.

    Files already present with the right ``source_sha256`` are skipped without a
    request, so an interrupted run can simply be repeated; a present file with a
    wrong hash is downloaded again. Each file is verified against
    ``source_sha256`` (the blob at the origin), so the 61 photos the stored
    collection holds downscaled (``note`` non-empty, ``sha256`` ≠
    ``source_sha256``) come back at their original size.

    ``retries`` extra attempts are made after a timeout, a network error or an
    HTTP 408/429/5xx, waiting ``backoff * 2**attempt`` seconds in between; a 404
    or a hash mismatch fails at once. A failed file is reported, not raised, and
    leaves no partial file behind.

    ``sources_csv`` ``None`` reads the shipped :data:`ORIGINS`. Temp files a killed
    run left in ``dest`` are removed first. When every file is verified, ``dest``
    gets a ``SOURCES.csv`` (``sources.DOWNLOAD_COLUMNS``) whose ``sha256`` is the hash
    of the fetched file (so it equals ``source_sha256``) and whose ``label`` and
    ``source`` are the first two parts of ``relative_path``.

    Raises :class:`DownloadError` before any download when ``sources_csv`` or an
    argument is unusable, and, after ``max_connection_failures`` attempts in a row
    fail to connect, one :class:`DownloadError` naming ``base_url`` (files already
    verified are kept). On Ctrl-C, files in flight are abandoned (their temp files
    removed) and ``KeyboardInterrupt`` propagates.
    """
    _check_arguments(workers, retries, timeout, backoff, max_connection_failures)
    sources = read_sources(Path(sources_csv) if sources_csv is not None else ORIGINS)
    dest = Path(dest)
    remove_partial_files(dest)
    opts = _Options(base_url=base_url, retries=retries, timeout=timeout, backoff=backoff)
    outcomes = _run_all(
        sources, dest, opts, workers, _show_progress(progress), max_connection_failures
    )
    kinds = [kind for kind, _ in outcomes.values()]
    failed = sorted((path, reason) for path, (kind, reason) in outcomes.items() if kind == "failed")
    if not failed:
        write_sources_csv(sources, dest / SOURCES_FILE)
    return DownloadReport(
        downloaded=kinds.count("downloaded"), skipped=kinds.count("skipped"), failed=failed
    )


def remove_partial_files(dest: Path) -> list[Path]:
    """Delete ``.<name>.<random>.tmp`` files (:func:`foxdog.io.atomic_write`'s) under ``dest``."""
    if not dest.is_dir():
        return []
    stale = sorted(p for p in dest.rglob(".*.tmp") if p.is_file() and not p.is_symlink())
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_sources_csv(sources: list[Source], path: Path) -> Path:
    """Write the ``SOURCES.csv`` of a downloaded collection (sha256 = the verified origin)."""
    buffer = io_text.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DOWNLOAD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for source in sorted(sources, key=lambda s: s.relative_path):
        parts = PurePosixPath(source.relative_path).parts
        writer.writerow(
            {
                "relative_path": source.relative_path,
                "label": parts[0],
                "source": parts[1] if len(parts) > 2 else "",
                "source_repo": source.source_repo,
                "source_path": source.source_path,
                "source_commit": source.source_commit,
                "source_sha256": source.source_sha256,
                # Every fetched file was verified against source_sha256 before it was
                # kept, so that is the hash of what dest holds.
                "sha256": source.source_sha256,
                "breed_or_species": source.breed_or_species,
            }
        )
    return io.write_text(path, buffer.getvalue())


def _run_all(
    sources: list[Source],
    dest: Path,
    opts: _Options,
    workers: int,
    show: bool,
    max_failures: int,
) -> dict[str, tuple[Outcome, str]]:
    cancel = threading.Event()
    reach = _Reachability(max_failures, cancel)
    outcomes: dict[str, tuple[Outcome, str]] = {}
    failures = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="foxdog-download")
    bar = tqdm(total=len(sources), unit="file", desc="download", disable=not show)
    try:
        futures: dict[Future[tuple[Outcome, str]], Source] = {
            pool.submit(_process, source, dest, opts, cancel, reach): source for source in sources
        }
        for future in as_completed(futures):
            outcome = outcomes[futures[future].relative_path] = future.result()
            if outcome[0] == "failed":
                failures += 1
                bar.set_postfix(failed=failures, refresh=False)
            bar.update(1)
    except BaseException as err:
        # Stop queued files, and make in-flight ones abandon their temp files
        # before the interrupt reaches the caller.
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(err, _Cancelled) and reach.tripped:
            raise DownloadError(
                f"{opts.base_url}: unreachable, {reach.in_a_row} connection attempts in a row "
                f"failed (last: {reach.last}); check the network, or materialise data/ from "
                "../shared/foxdog-raw with `foxdog data fetch`"
            ) from None
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    return outcomes


def format_report(report: DownloadReport) -> str:
    """A human summary: one line of counts, then one line per failed file."""
    lines = [
        f"downloaded {report.downloaded}, skipped {report.skipped} "
        f"(already present and verified), failed {len(report.failed)}"
    ]
    lines += [f"  {reason}" for _, reason in report.failed]
    if report.failed:
        lines.append("re-run the same command to retry the failed files (verified ones are kept)")
    return "\n".join(lines)
