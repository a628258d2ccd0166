"""Files in and out: text, JSON and YAML readers, tables (CSV/Parquet/Excel), and the one durable-write module.

- :mod:`~matcher.io.files`: reading text, JSON and taxonomy files;
- :mod:`~matcher.io.yamlfile`: YAML parsed as data, each key's line kept;
- :mod:`~matcher.io.tables`: a problem as a folder of tables (CSV, Parquet, Excel);
- :mod:`~matcher.io.settings`: a table source's settings (encoding, names of tables and columns, extra
  columns); :mod:`~matcher.io.assemble`: raw tables of any source into a problem and its personal columns;
- :mod:`~matcher.io.xlsx`: Excel workbooks read and written;
- :mod:`~matcher.io.frames`: pandas and Polars DataFrames and Arrow tables in and out;
- :mod:`~matcher.io.database`, :mod:`~matcher.io.rundb`: a database (SQLAlchemy: SQLite, PostgreSQL) as
  input, and runs written to one in a transaction; :mod:`~matcher.io.locks`: one run at a time per output;
- :mod:`~matcher.io.columns`, :mod:`~matcher.io.cells`: columns of cells, read strictly, into a problem;
- :mod:`~matcher.io.load`: a problem, options or a previous plan from a path;
- :mod:`~matcher.io.gcpause`: loading with the cyclic garbage collector paused (a district: a million objects);
- :mod:`~matcher.io.durable`: every write: atomic files and atomically published folders;
- :mod:`~matcher.io.generated`: the folder ``matcher generate`` writes, replaced whole.

``io`` never imports the engine: it turns files into models and models into files.
"""

from matcher.io.assemble import Loaded
from matcher.io.cells import KINDS, parse_cell
from matcher.io.columns import COLUMNS, problem_from_tables, table_rows
from matcher.io.database import is_database_url, read_database, redact
from matcher.io.durable import (
    follow_latest,
    publish_dir,
    write_atomic,
    write_bytes_synced,
    write_csv,
    write_json_atomic,
    write_text_synced,
)
from matcher.io.files import load_taxonomy_file, read_json, read_text
from matcher.io.frames import FrameKind, problem_from_frames, read_frames, tables_to_frames, to_arrow
from matcher.io.generated import generated_files
from matcher.io.load import load_input, load_options, load_problem, read_assignments, read_input, shown_source
from matcher.io.locks import output_lock
from matcher.io.rundb import publish_run_db, read_run_solution
from matcher.io.settings import Personal, Settings, parse_settings
from matcher.io.tables import RawTable, read_columns, read_folder, read_tables, write_tables
from matcher.io.xlsx import WORKBOOK_MAX_CELLS, workbook_bytes, workbook_cells
from matcher.io.yamlfile import YamlDoc, read_yaml

__all__ = [
    "COLUMNS",
    "KINDS",
    "WORKBOOK_MAX_CELLS",
    "FrameKind",
    "Loaded",
    "Personal",
    "RawTable",
    "Settings",
    "YamlDoc",
    "follow_latest",
    "generated_files",
    "is_database_url",
    "load_input",
    "load_options",
    "load_problem",
    "load_taxonomy_file",
    "output_lock",
    "parse_cell",
    "parse_settings",
    "problem_from_frames",
    "problem_from_tables",
    "publish_dir",
    "publish_run_db",
    "read_assignments",
    "read_columns",
    "read_database",
    "read_folder",
    "read_frames",
    "read_input",
    "read_json",
    "read_run_solution",
    "read_tables",
    "read_text",
    "read_yaml",
    "redact",
    "shown_source",
    "table_rows",
    "tables_to_frames",
    "to_arrow",
    "workbook_bytes",
    "workbook_cells",
    "write_atomic",
    "write_bytes_synced",
    "write_csv",
    "write_json_atomic",
    "write_tables",
    "write_text_synced",
]
