"""Data files read one column at a time, in chunks: Parquet by row group, CSV/TSV through a spill.

A :class:`Source` is one side of a comparison (a file, or a glob of Parquet files with
the same columns). ``chunks(name)`` yields that column as Arrow arrays of at most
``BATCH_ROWS`` rows, so a column can be folded into per-column state without the
table ever being in memory.

* Parquet: :class:`pyarrow.parquet.ParquetFile` batches of one column (strings read as
  dictionaries, so counting categories never materialises a string per row).
  ``pyarrow.dataset`` is never imported: it costs most of a second at start-up.
* CSV/TSV (also gzip-compressed): one streaming pass through PyArrow's CSV reader
  writes each column to its own Arrow IPC stream in a temporary folder; the columns
  are then read back from there one at a time. Disk holds a copy, memory one block.
  When a later block does not fit the type inferred from the first blocks (an integer
  column with a decimal further down), the pass starts again with the wider type.
"""

from __future__ import annotations

import glob
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_mlops.datafiles import SEPARATORS, detect_format, reader_reason
from ci_mlops.errors import UserError

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 1 << 20
CSV_BLOCK_BYTES = 16 << 20
MAX_TYPE_RETRIES = 50


def is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def streamable(path: str) -> bool:
    """Whether the streaming reader handles this file (Parquet, CSV, TSV); JSON lines need pandas."""
    try:
        return detect_format(path) in ("parquet", "csv", "tsv")
    except UserError:
        return False


class Source:
    """One side of the comparison: its rows, its columns' Arrow types, its columns in chunks."""

    label: str
    rows: int
    types: dict[str, pa.DataType]

    def chunks(self, name: str) -> Iterator[pa.Array]:
        raise NotImplementedError

    def close(self) -> None:
        """Remove anything written on the way (the CSV spill)."""


def open_source(path: str, side: str) -> Source:
    """The reader for ``path`` (a file or a glob of Parquet files); UserError when it cannot be read."""
    if path.startswith(("s3://", "gs://", "gcs://", "http://", "https://", "az://")):
        raise UserError(f"{path}: remote data needs the DuckDB engine (drift.engine: duckdb or --engine duckdb)")
    kind = detect_format(path)
    if is_glob(path):
        files = sorted(glob.glob(path))
        if not files:
            raise UserError(f"{path}: no file matches this pattern ({side} data)")
        if kind != "parquet":
            raise UserError(f"{path}: patterns are read for Parquet files only")
        return ParquetSource([Path(f) for f in files], label=path)
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{file}: no such file (is it tracked by DVC? run `dvc pull {file}`)")
    if kind == "parquet":
        return ParquetSource([file], label=path)
    return CsvSource(file, delimiter=SEPARATORS[kind])


def _reason(exc: BaseException) -> str:
    """The first line of a reader's error; raises MemoryError when the real cause is exhausted
    memory or threads, so that is what the user hears instead of "cannot read as parquet"."""
    return reader_reason(exc)


class ParquetSource(Source):
    def __init__(self, files: list[Path], label: str) -> None:
        import pyarrow.parquet as pq  # lazy: PyArrow is slow to import

        self.files, self.label = files, label
        self.rows = 0
        self.types = {}
        self.metadata: list[Any] = []  # each file's footer, parsed once for all its columns
        for file in files:
            try:
                meta = pq.ParquetFile(file)
                schema = meta.schema_arrow
                self.rows += meta.metadata.num_rows
                self.metadata.append(meta.metadata)
            except Exception as exc:  # pyarrow raises many types; all mean "cannot parse"
                raise UserError(f"{file}: cannot read as parquet: {_reason(exc)}") from exc
            types = {f.name: f.type for f in schema if not f.name.startswith("__index_level_")}
            if not self.types:
                self.types = types
            elif list(types) != list(self.types):
                raise UserError(f"{file}: its columns differ from {files[0]}'s "
                                f"({', '.join(list(types)[:10])} vs {', '.join(list(self.types)[:10])})")

    def chunks(self, name: str) -> Iterator[pa.Array]:
        import pyarrow as pa  # lazy: PyArrow is slow to import
        import pyarrow.parquet as pq  # lazy: PyArrow is slow to import

        strings = pa.types.is_string(self.types[name]) or pa.types.is_large_string(self.types[name])
        for file, metadata in zip(self.files, self.metadata):
            try:
                # pre_buffer (PyArrow's default) would load every chunk of the column up front.
                reader = pq.ParquetFile(file, metadata=metadata, read_dictionary=[name] if strings else None,
                                        pre_buffer=False)
                for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=[name], use_threads=False):
                    yield batch.column(0)
            except (UserError, MemoryError):
                raise
            except Exception as exc:
                raise UserError(f"{file}: cannot read column '{name}' as parquet: {_reason(exc)}") from exc


class CsvSource(Source):
    def __init__(self, file: Path, delimiter: str) -> None:
        self.file, self.label, self.delimiter = file, str(file), delimiter
        self.folder: Path | None = None
        self.wanted: list[str] | None = None
        self.rows = 0
        self.types = {}
        self.header = self._header()

    def _header(self) -> list[str]:
        import pyarrow.csv as pacsv  # lazy: PyArrow is slow to import

        try:
            reader = pacsv.open_csv(self._stream(), read_options=pacsv.ReadOptions(block_size=1 << 16),
                                    parse_options=pacsv.ParseOptions(delimiter=self.delimiter))
            names = list(reader.schema.names)
            reader.close()
        except Exception as exc:
            if "Empty CSV file" in str(exc):
                raise UserError(f"{self.file}: the file is empty") from exc
            raise UserError(f"{self.file}: cannot read as csv: {_reason(exc)}") from exc
        return names

    def _stream(self) -> Any:
        import pyarrow as pa  # lazy: PyArrow is slow to import

        return pa.input_stream(str(self.file), compression="detect")

    def spill(self, columns: list[str]) -> None:
        """Read the file once, writing ``columns`` to one Arrow IPC stream each."""
        import pyarrow as pa  # lazy: PyArrow is slow to import
        import pyarrow.csv as pacsv  # lazy: PyArrow is slow to import
        import pyarrow.ipc as ipc  # lazy: PyArrow is slow to import

        self.folder = Path(tempfile.mkdtemp(prefix="ci-mlops-drift-"))
        forced: dict[str, pa.DataType] = {}
        for _ in range(MAX_TYPE_RETRIES):
            writers: dict[str, Any] = {}
            rows = 0
            try:
                reader = pacsv.open_csv(
                    self._stream(),
                    read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                    parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                    convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=forced,
                                                         strings_can_be_null=True))
                for batch in reader:
                    for name in columns:
                        if name not in writers:
                            writers[name] = ipc.new_stream(str(self.folder / f"{len(writers)}.arrows"),
                                                           pa.schema([batch.schema.field(name)]))
                        writers[name].write_batch(pa.record_batch([batch.column(name)], names=[name]))
                    rows += batch.num_rows
            except pa.ArrowInvalid as exc:
                widened = _widen(str(exc), self.header, forced)
                for writer in writers.values():
                    writer.close()
                if widened is None:
                    raise UserError(f"{self.file}: cannot read as csv: {_reason(exc)}") from exc
                continue
            except (UserError, MemoryError):
                raise
            except Exception as exc:
                raise UserError(f"{self.file}: cannot read as csv: {_reason(exc)}") from exc
            for writer in writers.values():
                writer.close()
            self.rows = rows
            self.files = {name: self.folder / f"{i}.arrows" for i, name in enumerate(writers)}
            self.types = {name: _stream_type(path) for name, path in self.files.items()}
            for name in columns:  # a header-only file: no batch, no writer
                self.types.setdefault(name, pa.null())
            return
        raise UserError(f"{self.file}: cannot settle the column types after {MAX_TYPE_RETRIES} passes")

    def chunks(self, name: str) -> Iterator[pa.Array]:
        import pyarrow as pa  # lazy: PyArrow is slow to import
        import pyarrow.ipc as ipc  # lazy: PyArrow is slow to import

        path = self.files.get(name)
        if path is None:
            return
        with pa.OSFile(str(path)) as handle:
            for batch in ipc.open_stream(handle):
                yield batch.column(0)

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _stream_type(path: Path) -> pa.DataType:
    import pyarrow as pa  # lazy: PyArrow is slow to import
    import pyarrow.ipc as ipc  # lazy: PyArrow is slow to import

    with pa.OSFile(str(path)) as handle:
        return ipc.open_stream(handle).schema.field(0).type


def _widen(message: str, header: list[str], forced: dict[str, Any]) -> str | None:
    """After 'In CSV column #i: ... conversion error to T', the next pass reads that column wider."""
    import pyarrow as pa  # lazy: PyArrow is slow to import

    found = re.search(r"In CSV column #(\d+): .*conversion error to (\w+)", message, re.S)
    if not found:
        return None
    index = int(found.group(1))
    if index >= len(header):
        return None
    name = header[index]
    current = forced.get(name)
    target = pa.float64() if found.group(2).startswith(("int", "uint")) and current is None else pa.string()
    if current == target:
        return None
    forced[name] = target
    return name
