"""One writer per file format. Each takes the export's chunks one after the other.

A chunk is a DataFrame of the export's columns in their canonical types (see
:attr:`ExportColumn.storage`): answers as nullable int16 points and 0/1 options,
categoricals of choice ids, strings; scores as floats; the metadata as int64,
UTC timestamps, strings and booleans. Unanswered is always a missing value.

CSV, JSON lines, Parquet and XLSX are written chunk by chunk (flat memory); SPSS and
Stata files are written by pyreadstat from one frame, so those two gather the chunks
first, in compact types.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from flask_babel import gettext as _

from questionnaires import translate

from .columns import SPSS_MEASURE, ExportColumn, format_names, no_answer
from .options import ExportError

if TYPE_CHECKING:  # pragma: no cover
    from .services import ExportPlan

BOM = b"\xef\xbb\xbf"
XLSX_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SPSS_LABEL_BYTES = 255
SPSS_VALUE_LABEL_BYTES = 120
STATA_LABEL_CHARS = 80


def _cut_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


class Writer:
    """Base class: ``write`` each chunk, then ``close``."""

    binary: ClassVar[bool] = True

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        self.path = path
        self.plan = plan
        self.columns = plan.output_columns
        self.rows = 0

    def write(self, chunk: pd.DataFrame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Release what is open after a failure (the caller removes the file)."""
        handle = getattr(self, "handle", None)
        if handle is not None:
            handle.close()


def _timestamps_as_text(table: pa.Table) -> pa.Table:
    """UTC timestamps as ISO 8601 text: ``2026-03-01T10:15:30.123456Z``.

    Through a cast of the UTC wall time to text (``2026-03-01 10:15:30.123456``), five
    times faster than ``strftime``, which looks the time zone up for every value."""
    for i, name in enumerate(table.column_names):
        if pa.types.is_timestamp(table.schema.field(i).type):
            wall = table.column(i).cast(pa.timestamp("us")).cast(pa.string())
            text = pc.replace_substring(wall, " ", "T", max_replacements=1)
            table = table.set_column(i, name, pc.binary_join_element_wise(text, "Z", ""))
    return table


class CsvWriter(Writer):
    """CSV through Arrow's writer (fast C++); ``--bom`` adds a byte-order mark for
    Excel and, since Excel runs cells as formulas, puts ``'`` before open texts that
    start like one."""

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        super().__init__(path, plan)
        self.handle: IO[bytes] = path.open("wb")
        if plan.options.bom:
            self.handle.write(BOM)
        self.header = True
        self.text_columns = [c.name for c in self.columns if c.storage == "text"]

    def write(self, chunk: pd.DataFrame) -> None:
        if self.plan.options.bom:
            chunk = chunk.copy()
            for name in self.text_columns:
                values = chunk[name]
                risky = values.str.startswith(FORMULA_START).fillna(False).astype(bool)
                if risky.any():
                    chunk[name] = values.where(~risky, "'" + values)
        table = _timestamps_as_text(pa.Table.from_pandas(chunk, preserve_index=False))
        options = pa_csv.WriteOptions(include_header=self.header, quoting_style="needed")
        pa_csv.write_csv(table, self.handle, options)
        self.header = False
        self.rows += len(chunk)

    def close(self) -> None:
        if self.header:  # no rows at all: the header alone
            self.write(self.plan.empty_chunk())
        self.handle.close()


class JsonlWriter(Writer):
    """One JSON object per line; missing values are ``null``."""

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        super().__init__(path, plan)
        self.handle = path.open("w", encoding="utf-8", newline="\n")

    def write(self, chunk: pd.DataFrame) -> None:
        if len(chunk):
            text = chunk.to_json(
                orient="records",
                lines=True,
                date_format="iso",
                date_unit="us",
                force_ascii=False,
                double_precision=15,
            )
            self.handle.write(text if text.endswith("\n") else text + "\n")
        self.rows += len(chunk)

    def close(self) -> None:
        self.handle.close()


def arrow_type(column: ExportColumn) -> pa.DataType:
    return {
        "int": pa.int16(),
        "choice": pa.dictionary(pa.int16(), pa.string()),
        "text": pa.string(),
        "float": pa.float64(),
        "integer": pa.int64(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "string": pa.string(),
        "boolean": pa.bool_(),
    }[column.storage]


class ParquetWriter(Writer):
    """A row group per chunk; single choices as dictionary columns (factors in R),
    the codebook in the file's metadata (key ``survey.codebook``)."""

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        super().__init__(path, plan)
        fields = [pa.field(c.name, arrow_type(c)) for c in self.columns]
        codebook = json.dumps(plan.codebook(), ensure_ascii=False)
        self.schema = pa.schema(fields, metadata={"survey.codebook": codebook})
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(self, chunk: pd.DataFrame) -> None:
        arrays = []
        for column, field in zip(self.columns, self.schema, strict=True):
            values = chunk[column.name]
            if column.storage == "choice":
                codes = values.cat.codes.to_numpy()
                dictionary = pa.array(list(values.cat.categories), pa.string())
                indices = pa.array(codes.astype(np.int16), mask=codes < 0)
                arrays.append(pa.DictionaryArray.from_arrays(indices, dictionary))
            else:
                arrays.append(pa.array(values, type=field.type, from_pandas=True))
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += len(chunk)

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.close()


class XlsxWriter(Writer):
    """A ``data`` sheet streamed row by row (openpyxl's write-only mode) and a
    ``codebook`` sheet. Texts are always written as text, never as formulas; times are
    UTC. Characters a spreadsheet cannot hold (control characters) become U+FFFD."""

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        from openpyxl import Workbook

        super().__init__(path, plan)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("data")
        self.sheet.append([c.name for c in self.columns])

    def write(self, chunk: pd.DataFrame) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        if self.rows + len(chunk) > XLSX_MAX_ROWS:
            raise ExportError(
                _(
                    "an .xlsx sheet holds at most %(rows)s rows and this export has more: "
                    "choose csv, parquet, sav or dta, or narrow it with --from/--to/--where",
                    rows=f"{XLSX_MAX_ROWS:,}",
                )
            )
        lists = []
        for column in self.columns:
            values = chunk[column.name]
            if column.storage == "datetime":
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
                lists.append([None if pd.isna(v) else v.to_pydatetime() for v in values])
            elif column.storage in ("int", "integer"):
                lists.append([None if pd.isna(v) else int(v) for v in values.astype(object)])
            elif column.storage == "float":
                lists.append([None if np.isnan(v) else float(v) for v in values.to_numpy()])
            elif column.storage == "boolean":
                lists.append([bool(v) for v in values])
            else:
                lists.append([None if pd.isna(v) else str(v) for v in values.astype(object)])
        text_positions = {
            i for i, c in enumerate(self.columns) if c.storage in ("text", "string", "choice")
        }
        for row in zip(*lists, strict=True):
            cells: list[Any] = list(row)
            for i in text_positions:
                value = cells[i]
                if value is not None:
                    cell = WriteOnlyCell(
                        self.sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
                    )
                    cell.data_type = "s"  # text, even if it starts with "="
                    cells[i] = cell
            self.sheet.append(cells)
        self.rows += len(chunk)

    def close(self) -> None:
        from openpyxl.cell import WriteOnlyCell

        lang = self.plan.lang
        sheet = self.book.create_sheet("codebook")
        sheet.append(["name", "label", "type", "values", "reverse", "personal"])
        for entry in self.plan.codebook()["columns"]:
            values = "; ".join(
                f"{label['value']} = {translate(label['text'], lang)}" for label in entry["labels"]
            )
            cells = [entry["name"], translate(entry["text"], lang), entry["type"], values]
            row: list[Any] = []
            for value in cells:
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                row.append(cell)
            sheet.append([*row, entry["reverse"], entry["personal"]])
        self.book.save(self.path)

    def abort(self) -> None:
        for sheet in self.book.worksheets:
            sheet.close()


class _StatisticalWriter(Writer):
    """SPSS and Stata: answers as numbers with value labels, names valid for the format,
    variable labels in the chosen language; written by pyreadstat once all chunks are in.
    """

    fmt: ClassVar[str]

    def __init__(self, path: Path, plan: ExportPlan) -> None:
        super().__init__(path, plan)
        self.names = format_names(self.columns)[self.fmt]
        self.parts: list[pd.DataFrame] = []
        self.code = plan.options.missing_code

    def write(self, chunk: pd.DataFrame) -> None:
        data: dict[str, Any] = {}
        for column in self.columns:
            values = chunk[column.name]
            if column.storage == "choice":
                codes = values.cat.codes.to_numpy().astype(np.int16)
                labels = {label.value: label.code for label in column.labels}
                lookup = np.array(
                    [labels[c] for c in values.cat.categories] + [0], dtype=np.int16
                )  # index -1 (missing) reads the last entry
                values = pd.arrays.IntegerArray(lookup[codes], codes < 0)
            elif column.storage == "boolean":
                values = values.astype("Int8")
            elif column.storage == "datetime":
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            elif column.storage in ("text", "string"):
                values = values.astype(object).where(values.notna(), None)
            if self.code is not None and column.numeric_answer:
                values = self.missing_values(pd.array(values, dtype="Int16"))
            data[self.names[column.name]] = values
        self.parts.append(pd.DataFrame(data, index=pd.RangeIndex(len(chunk))))
        self.rows += len(chunk)

    def missing_values(self, values: pd.arrays.IntegerArray) -> Any:
        raise NotImplementedError

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            self.write(self.plan.empty_chunk())
        frame = pd.concat(self.parts, ignore_index=True) if len(self.parts) > 1 else self.parts[0]
        self.parts = []
        return frame

    def labels(self, cut) -> tuple[list[str], dict[str, dict]]:
        lang = self.plan.lang
        column_labels = [cut(translate(c.text, lang)) for c in self.columns]
        value_labels: dict[str, dict] = {}
        for column in self.columns:
            labels = {
                label.code: self.value_label(translate(label.text, lang)) for label in column.labels
            }
            if self.code is not None and column.numeric_answer:
                key = self.code if self.fmt == "sav" else "a"
                labels[key] = self.value_label(no_answer(lang))
            if labels:
                value_labels[self.names[column.name]] = labels
        return column_labels, value_labels

    def value_label(self, text: str) -> str:
        return text

    def file_label(self) -> str:
        plan = self.plan
        title = translate(plan.q.title, plan.lang)
        return f"{title} ({plan.survey_id}, version {plan.version})"


class SavWriter(_StatisticalWriter):
    """SPSS ``.sav``: unanswered is system-missing, or with ``--missing-code`` that code,
    declared as user-missing and labelled."""

    fmt = "sav"

    def missing_values(self, values):
        return values.fillna(self.code)

    def value_label(self, text: str) -> str:
        return _cut_bytes(text, SPSS_VALUE_LABEL_BYTES)

    def close(self) -> None:
        import pyreadstat

        frame = self.frame()
        column_labels, value_labels = self.labels(lambda t: _cut_bytes(t, SPSS_LABEL_BYTES))
        missing = {}
        if self.code is not None:
            missing = {self.names[c.name]: [self.code] for c in self.columns if c.numeric_answer}
        measures = {self.names[c.name]: SPSS_MEASURE[c.type] for c in self.columns}
        formats = {
            self.names[c.name]: "F8.0"
            for c in self.columns
            if c.storage in ("int", "choice", "integer", "boolean")
        }
        pyreadstat.write_sav(
            frame,
            str(self.path),
            file_label=_cut_bytes(self.file_label(), 64),
            column_labels=column_labels,
            variable_value_labels=value_labels,
            missing_ranges=missing or None,
            variable_measure=measures,
            variable_format=formats,
        )


class DtaWriter(_StatisticalWriter):
    """Stata ``.dta`` (format 118+): unanswered is ``.``, or with ``--missing-code``
    the extended missing value ``.a``."""

    fmt = "dta"

    def missing_values(self, values):
        # pyreadstat takes Stata's extended missing values as the letters themselves
        series = pd.Series(values)
        return series.astype(object).where(series.notna(), "a")

    def close(self) -> None:
        import pyreadstat

        frame = self.frame()
        column_labels, value_labels = self.labels(lambda t: t[:STATA_LABEL_CHARS])
        missing = {}
        if self.code is not None:
            missing = {self.names[c.name]: ["a"] for c in self.columns if c.numeric_answer}
        pyreadstat.write_dta(
            frame,
            str(self.path),
            file_label=self.file_label()[:STATA_LABEL_CHARS],
            column_labels=column_labels,
            variable_value_labels=value_labels,
            missing_user_values=missing or None,
        )


WRITERS: dict[str, type[Writer]] = {
    "csv": CsvWriter,
    "jsonl": JsonlWriter,
    "parquet": ParquetWriter,
    "xlsx": XlsxWriter,
    "sav": SavWriter,
    "dta": DtaWriter,
}


# -- codebooks -------------------------------------------------------------------------------
def write_codebook(path: Path, plan: ExportPlan) -> None:
    """The codebook as JSON, Markdown or a self-contained HTML page."""
    data = plan.codebook()
    if plan.options.format == "codebook-json":
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif plan.options.format == "codebook-md":
        path.write_text(codebook_markdown(data, plan.lang), encoding="utf-8")
    else:
        from flask import current_app
        from flask_babel import force_locale

        # rendered without a request (the command line, a job): no context processors
        template = current_app.jinja_env.get_template("exports/codebook.html")
        with force_locale(plan.lang):
            html = template.render(book=data, lang=plan.lang, t=lambda x: translate(x, plan.lang))
        path.write_text(html, encoding="utf-8")


def _md(text: Any) -> str:
    """A table cell: pipes and line breaks escaped, Markdown's special characters too."""
    text = "" if text is None else str(text)
    text = re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)
    return text.replace("\r", " ").replace("\n", " ")


def codebook_markdown(data: dict, lang: str) -> str:
    title = translate(data["title"], lang)
    lines = [
        f"# {_md(title)}: codebook",
        "",
        f"Survey `{data['survey']}`, questionnaire version {data['version']} "
        f"(responses of versions {', '.join(map(str, data['versions']))}).",
        "",
        "Unanswered questions are blank in CSV, `null` in JSON and Parquet, "
        f"{data['missing']['sav']} in SPSS and `{data['missing']['dta']}` in Stata.",
        "",
        "| name | label | type | values | reverse | personal | SPSS / Stata name |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in data["columns"]:
        values = "; ".join(
            f"{label['value']} = {translate(label['text'], lang)}" for label in entry["labels"]
        )
        names = " / ".join(f"{fmt}: {name}" for fmt, name in entry["names"].items())
        cells = [
            f"`{entry['name']}`",
            _md(translate(entry["text"], lang)),
            entry["type"],
            _md(values),
            "yes" if entry["reverse"] else "",
            "yes" if entry["personal"] else "",
            _md(names),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
