//! Tables at the edge: reading CSV and Parquet files into plain columns, and writing them back.
//!
//! This module and a few others at the edges are the only places that call polars (its API moves
//! between versions). It hands the core plain typed columns ([`Table`], [`ColumnData`]) and owns
//! type inference, so that the same rows read from CSV or from Parquet give the same columns:
//! - CSV is read as text, then each column is typed: all `true`/`false` → bool, all integers
//!   (without leading zeros, which mark codes such as zip codes) → int, all numbers → float,
//!   otherwise text. A column that is almost all numbers with a few words is refused as mixed.
//! - Parquet keeps its types; its text columns go through the same inference.
//! - Values are trimmed (FEBRL files put a space after each comma); empty values are missing.
//!
//! Bad input gets an error naming the file, the row (1-based data row; CSV also gives the line)
//! and the column: non-UTF-8 bytes, an empty file, NaN, mixed types, unknown column types.
//! Record linkage reads with [`read_text_table`] ([`Typing::Text`]), which compares values as
//! text: there a column of mostly numbers with some words (patent numbers `5828387` and
//! `D564528`) is a code column, not a mistake, a list column (co-authors) is its items joined by
//! `; `, and a CSV file that is not UTF-8 is read as Windows-1252 (Latin-1) with a note.
//!
//! It does not own what the columns mean: import, linking and models decide that.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::{
    CsvReadOptions, DataFrame, DataType, IntoColumn, NamedFrom, ParquetReader, ParquetWriter,
    SerReader, Series, TimeUnit,
};

use crate::error::{Error, IoContext, Result};

/// One column's values; `None` is missing.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Floating-point numbers (never NaN).
    Float(Vec<Option<f64>>),
    /// Text.
    Str(Vec<Option<String>>),
}

impl ColumnData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Bool(v) => v.len(),
            ColumnData::Int(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type's name as shown to users.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnData::Bool(_) => "bool",
            ColumnData::Int(_) => "int",
            ColumnData::Float(_) => "float",
            ColumnData::Str(_) => "text",
        }
    }

    /// Whether row `i` is missing.
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            ColumnData::Bool(v) => v[i].is_none(),
            ColumnData::Int(v) => v[i].is_none(),
            ColumnData::Float(v) => v[i].is_none(),
            ColumnData::Str(v) => v[i].is_none(),
        }
    }

    /// Row `i` as text (`None` when missing), e.g. for ids.
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            ColumnData::Bool(v) => v[i].map(|b| b.to_string()),
            ColumnData::Int(v) => v[i].map(|x| x.to_string()),
            ColumnData::Float(v) => v[i].map(|x| x.to_string()),
            ColumnData::Str(v) => v[i].clone(),
        }
    }

    /// Row `i` as a number, when the column is numeric or boolean (true = 1).
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            ColumnData::Bool(v) => v[i].map(|b| if b { 1.0 } else { 0.0 }),
            ColumnData::Int(v) => v[i].map(|x| x as f64),
            ColumnData::Float(v) => v[i],
            ColumnData::Str(_) => None,
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header, trimmed.
    pub name: String,
    /// The values.
    pub data: ColumnData,
}

/// A table read from a file.
#[derive(Debug, Clone)]
pub struct Table {
    /// Where it was read from (for error messages).
    pub path: PathBuf,
    /// True when read from CSV (row numbers then also give the line).
    pub is_csv: bool,
    /// Number of data rows.
    pub rows: usize,
    /// The columns, in file order.
    pub columns: Vec<Column>,
}

impl Table {
    /// The column called `name`, or an error naming the file, the columns it has and the nearest.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            let hint = nearest(name, &names)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            Error::user(format!(
                "{}: no column `{name}`{hint}; the file has: {}",
                self.path.display(),
                names.join(", ")
            ))
        })
    }

    /// Case-insensitive lookup, for files whose headers users type freely.
    pub fn column_ci(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// "row N" or "row N (line L)" for data row index `i` (0-based).
    pub fn row_label(&self, i: usize) -> String {
        row_label(self.is_csv, i)
    }
}

fn row_label(is_csv: bool, i: usize) -> String {
    if is_csv {
        format!("row {} (line {})", i + 1, i + 2)
    } else {
        format!("row {}", i + 1)
    }
}

/// The closest of `candidates` to `name` by edit distance, when close enough to be a typo.
pub fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&name.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// How a reader types text columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// Values become traits: a column that is almost all numbers with a few words is refused as
    /// mixed, and list columns are refused.
    Strict,
    /// Values are compared as text (record linkage): such a column is kept as text, and a list
    /// column becomes its items joined by `; `.
    Text,
}

/// Reads a CSV (optionally `.gz`) or Parquet file, chosen by its extension, with
/// [`Typing::Strict`].
pub fn read_table(path: impl AsRef<Path>) -> Result<Table> {
    read_table_as(path, Typing::Strict)
}

/// Reads a CSV (optionally `.gz`) or Parquet file, chosen by its extension.
pub fn read_table_as(path: impl AsRef<Path>, typing: Typing) -> Result<Table> {
    let path = path.as_ref();
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        read_parquet_where(path, typing, |_| true)
    } else if is_csv(path) {
        read_csv(path, typing)
    } else {
        Err(Error::user(format!(
            "{}: unknown table format; give a .csv, .tsv (optionally .gz) or .parquet file",
            path.display()
        )))
    }
}

/// Reads a CSV (optionally `.gz`) or Parquet file for record linkage, with [`Typing::Text`].
///
/// Unlike the other readers, it does not refuse a CSV file that is not UTF-8 (the classic
/// linkage benchmarks come in Latin-1): each byte that is not part of a UTF-8 character is read
/// as Windows-1252 (Latin-1 with its printable characters at 0x80-0x9F), and the note returned
/// says so, naming the first such place.
pub fn read_text_table(path: impl AsRef<Path>) -> Result<(Table, Option<String>)> {
    let path = path.as_ref();
    if !is_csv(path) {
        return Ok((read_table_as(path, Typing::Text)?, None));
    }
    let bytes = read_maybe_gzipped(path)?;
    let Err(e) = std::str::from_utf8(&bytes) else {
        return Ok((csv_table(path, bytes, Typing::Text)?, None));
    };
    let (text, n) = windows_1252_where_not_utf8(&bytes);
    let note = format!(
        "{}: not UTF-8; {n} bytes read as Windows-1252 (Latin-1), the first at {}",
        path.display(),
        line_and_column(&bytes, e.valid_up_to())
    );
    Ok((csv_table(path, text.into_bytes(), Typing::Text)?, Some(note)))
}

/// `bytes` as text, each byte that is not part of a valid UTF-8 character read as
/// Windows-1252, and how many such bytes there were.
///
/// ```
/// use audience::table::windows_1252_where_not_utf8;
/// let (text, n) = windows_1252_where_not_utf8(b"Jos\xe9 \x93Pep\x94 Garc\xc3\xada");
/// assert_eq!((text.as_str(), n), ("José “Pep” García", 3));
/// ```
pub fn windows_1252_where_not_utf8(bytes: &[u8]) -> (String, usize) {
    /// Windows-1252 at 0x80-0x9F (the five bytes it leaves undefined keep their Latin-1 code).
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 16);
    let mut rest = bytes;
    let mut n = 0;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return (out, n);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(&String::from_utf8_lossy(good)); // valid: nothing is replaced
                let len = e.error_len().unwrap_or(bad.len());
                out.extend(bad[..len].iter().map(|&b| {
                    if (0x80..0xa0).contains(&b) {
                        HIGH[b as usize - 0x80]
                    } else {
                        char::from(b)
                    }
                }));
                n += len;
                rest = &bad[len..];
            }
        }
    }
}

/// Whether `path` names a CSV file (by its extension: also `.tsv`, `.txt`, gzipped or not).
fn is_csv(path: &Path) -> bool {
    let name = path.to_string_lossy().to_lowercase();
    [".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz"].iter().any(|e| name.ends_with(e))
}

fn read_csv(path: &Path, typing: Typing) -> Result<Table> {
    csv_table(path, csv_bytes(path)?, typing)
}

/// The table of a CSV file's `bytes` (UTF-8).
fn csv_table(path: &Path, bytes: Vec<u8>, typing: Typing) -> Result<Table> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::user(format!(
            "{}: the file is empty; a table needs a header line and at least one row",
            path.display()
        )));
    }
    let df = csv_reader_options(&bytes)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| Error::user(format!("{}: cannot read as CSV: {e}", path.display())))?;
    from_frame(path, true, typing, df)
}

/// Reads only the columns of a Parquet file that `keep` accepts (the others are never decoded:
/// the store's traits table is gigabytes when most of it is about to be replaced).
pub fn read_parquet_where(
    path: &Path,
    typing: Typing,
    keep: impl Fn(&str) -> bool,
) -> Result<Table> {
    let bad = |e: polars::error::PolarsError| {
        Error::user(format!("{}: cannot read as Parquet: {e}", path.display()))
    };
    let file = std::fs::File::open(path).at(path)?;
    let mut reader = ParquetReader::new(file);
    let names: Vec<String> = reader
        .schema()
        .map_err(bad)?
        .iter_names()
        .filter(|n| keep(n.as_str()))
        .map(|n| n.to_string())
        .collect();
    let df = reader.with_columns(Some(names)).finish().map_err(bad)?;
    from_frame(path, false, typing, df)
}

/// The field separator of a delimited text file: of `,`, `;`, tab and `|`, the one its header
/// line holds most often outside quotes (a European `;` file, a `.tsv`); `,` when it holds none.
pub fn csv_separator(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in header_line(bytes) {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b',' => counts[0] += 1,
            b';' => counts[1] += 1,
            b'\t' => counts[2] += 1,
            b'|' => counts[3] += 1,
            _ => {}
        }
    }
    let seps = [b',', b';', b'\t', b'|'];
    // Ties go to the earlier separator: `,` first.
    let best = (0..4).rev().max_by_key(|&k| counts[k]).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        seps[best]
    }
}

/// The first line of a text file (its header), without the line break.
fn header_line(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len())]
}

/// polars' CSV reader for a file of `bytes`: a header line, every value read as text, the
/// separator found by [`csv_separator`].
fn csv_reader_options(bytes: &[u8]) -> CsvReadOptions {
    let sep = csv_separator(bytes);
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .map_parse_options(move |o| o.with_separator(sep))
}

/// The bytes of a file, gunzipped when it ends in `.gz`.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).at(path)?;
    if !path.to_string_lossy().to_lowercase().ends_with(".gz") {
        return Ok(raw);
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out)
        .map_err(|e| Error::user(format!("{}: not a valid gzip file ({e})", path.display())))?;
    Ok(out)
}

/// The bytes of a CSV file, gunzipped when it ends in `.gz`, checked to be UTF-8.
fn csv_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gzipped(path)?;
    if let Err(e) = std::str::from_utf8(&bytes) {
        let at = e.valid_up_to();
        return Err(Error::user(format!(
            "{}: {}: bytes that are not UTF-8 (byte offset {at}); re-save the file as UTF-8 \
             (e.g. `iconv -f latin1 -t utf-8`)",
            path.display(),
            line_and_column(&bytes, at)
        )));
    }
    Ok(bytes)
}

/// `line L, column `C`` of byte offset `at` of a CSV file's `bytes`.
fn line_and_column(bytes: &[u8], at: usize) -> String {
    let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let sep = csv_separator(bytes);
    let field = bytes[line_start..at].iter().filter(|&&b| b == sep).count();
    let column = String::from_utf8_lossy(header_line(bytes))
        .split(char::from(sep))
        .nth(field)
        .map(|s| s.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| format!("#{}", field + 1));
    format!("line {line}, column `{column}`")
}

fn from_frame(path: &Path, is_csv: bool, typing: Typing, df: DataFrame) -> Result<Table> {
    let rows = df.height();
    if df.columns().is_empty() || (rows == 0 && is_csv) {
        return Err(Error::user(format!(
            "{}: the file has a header but no rows; a table needs at least one row",
            path.display()
        )));
    }
    let mut columns = Vec::with_capacity(df.columns().len());
    for col in df.columns() {
        let name = col.name().trim().to_string();
        let bad =
            |what: String| Error::user(format!("{}: column `{name}`: {what}", path.display()));
        let data = match col.dtype() {
            DataType::Boolean => {
                ColumnData::Bool(col.bool().map_err(|e| bad(e.to_string()))?.iter().collect())
            }
            DataType::Float32 | DataType::Float64 => {
                let c = col.cast(&DataType::Float64).map_err(|e| bad(e.to_string()))?;
                let v: Vec<Option<f64>> = c.f64().map_err(|e| bad(e.to_string()))?.iter().collect();
                if let Some(i) = v.iter().position(|x| x.is_some_and(|x| !x.is_finite())) {
                    return Err(bad(format!(
                        "{} is {}; write an empty value for missing, or a finite number",
                        row_label(is_csv, i),
                        v[i].unwrap()
                    )));
                }
                ColumnData::Float(v)
            }
            DataType::String => {
                let ca = col.str().map_err(|e| bad(e.to_string()))?;
                let values: Vec<Option<&str>> = ca.iter().collect();
                infer_text(&values, typing)
                    .map_err(|(i, msg)| bad(format!("{}: {msg}", row_label(is_csv, i))))?
            }
            DataType::List(_) if typing == Typing::Text => {
                // Items as text, cast once for the whole column.
                let as_text =
                    col.cast(&DataType::List(Box::new(DataType::String))).map_err(|_| {
                        bad(format!(
                            "type {} is not supported; store it as text or a number",
                            col.dtype()
                        ))
                    })?;
                let ca = as_text.list().map_err(|e| bad(e.to_string()))?;
                let mut values = Vec::with_capacity(rows);
                for items in ca.series_iter() {
                    let joined = match items {
                        Some(s) => {
                            let words: Vec<&str> = s
                                .str()
                                .map_err(|e| bad(e.to_string()))?
                                .iter()
                                .flatten()
                                .map(str::trim)
                                .filter(|w| !w.is_empty())
                                .collect();
                            Some(words.join("; ")).filter(|j| !j.is_empty())
                        }
                        None => None,
                    };
                    values.push(joined);
                }
                ColumnData::Str(values)
            }
            dt if dt.is_integer() => {
                let c = col.cast(&DataType::Int64).map_err(|e| bad(format!("{e}")))?;
                ColumnData::Int(c.i64().map_err(|e| bad(e.to_string()))?.iter().collect())
            }
            other => {
                let c = col.cast(&DataType::String).map_err(|_| {
                    bad(format!("type {other} is not supported; store it as text or a number"))
                })?;
                let ca = c.str().map_err(|e| bad(e.to_string()))?;
                ColumnData::Str(ca.iter().map(|v| v.map(str::to_string)).collect())
            }
        };
        columns.push(Column { name, data });
    }
    Ok(Table { path: path.to_path_buf(), is_csv, rows, columns })
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An integer written plainly: optional sign, digits, no leading zero (which marks a code).
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
        return None;
    }
    // Only plain decimal notation counts: "inf", "nan" and "1e5"-like codes stay text.
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-')
        || !digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn is_nan_like(s: &str) -> bool {
    let l = s.trim_start_matches(['-', '+']).to_ascii_lowercase();
    l == "nan" || l == "inf" || l == "infinity"
}

/// Types a text column. Err((row, message)) for a numeric column with NaN or with a few words.
fn infer_text(
    values: &[Option<&str>],
    typing: Typing,
) -> std::result::Result<ColumnData, (usize, String)> {
    let trimmed = values.iter().map(|v| v.map(str::trim).filter(|s| !s.is_empty()));
    let present = trimmed.clone().flatten().count();
    if present > 0 {
        if trimmed.clone().flatten().all(|s| parse_bool(s).is_some()) {
            return Ok(ColumnData::Bool(trimmed.map(|v| v.and_then(parse_bool)).collect()));
        }
        if trimmed.clone().flatten().all(|s| parse_int(s).is_some()) {
            return Ok(ColumnData::Int(trimmed.map(|v| v.and_then(parse_int)).collect()));
        }
        let numeric = trimmed.clone().flatten().filter(|s| parse_float(s).is_some()).count();
        if numeric == present {
            return Ok(ColumnData::Float(trimmed.map(|v| v.and_then(parse_float)).collect()));
        }
        let first_non_numeric = || {
            trimmed
                .clone()
                .enumerate()
                .find_map(|(i, v)| {
                    v.filter(|s| parse_float(s).is_none()).map(|s| (i, s.to_string()))
                })
                .expect("a non-numeric value exists")
        };
        let nan_like = trimmed.clone().flatten().filter(|s| is_nan_like(s)).count();
        if numeric > 0 && numeric + nan_like == present {
            let (i, v) = first_non_numeric();
            return Err((i, format!("`{v}` is not a number; leave the value empty for missing")));
        }
        // Digit strings with leading zeros among numbers: a code column (zip codes), kept as text.
        if trimmed
            .clone()
            .flatten()
            .all(|s| parse_float(s).is_some() || s.bytes().all(|b| b.is_ascii_digit()))
        {
            return Ok(ColumnData::Str(trimmed.map(|v| v.map(str::to_string)).collect()));
        }
        // Mostly numbers and a few words: a data-entry mistake, not a text column (but a code
        // column when the values are only compared).
        if numeric * 10 >= present * 9 && present >= 10 && typing == Typing::Strict {
            let (i, v) = first_non_numeric();
            return Err((
                i,
                format!(
                    "mixed types: {numeric} of its values are numbers but this one is `{v}`; fix \
                     that value (or leave it empty for missing)"
                ),
            ));
        }
    }
    Ok(ColumnData::Str(trimmed.map(|v| v.map(str::to_string)).collect()))
}

/// Finds the file of a source table: `DIR/NAME.parquet`, `DIR/NAME.csv` or `DIR/NAME.csv.gz`.
pub fn find_source(dir: &Path, name: &str) -> Option<PathBuf> {
    ["parquet", "csv", "csv.gz"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// Reads only `columns` of a CSV or Parquet file as text (numbers and booleans are formatted),
/// without typing them: the fast path for large event sources, where identity resolution and
/// trait derivation need a few columns of tens of millions of rows. Values are trimmed; empty is
/// missing. Columns listed in `optional` may be absent (they then read as all missing).
pub fn read_text_columns(
    path: &Path,
    columns: &[&str],
    optional: &[&str],
) -> Result<Vec<Vec<Option<String>>>> {
    let lower = path.to_string_lossy().to_lowercase();
    let is_csv = !(lower.ends_with(".parquet") || lower.ends_with(".pq"));
    let df = if is_csv {
        let bytes = csv_bytes(path)?;
        csv_reader_options(&bytes).into_reader_with_file_handle(Cursor::new(bytes)).finish()
    } else {
        let file = std::fs::File::open(path).at(path)?;
        ParquetReader::new(file).finish()
    }
    .map_err(|e| Error::user(format!("{}: cannot read: {e}", path.display())))?;
    let names: Vec<String> = df.columns().iter().map(|c| c.name().trim().to_string()).collect();
    let rows = df.height();
    let mut out = Vec::with_capacity(columns.len());
    for want in columns {
        let Some(pos) = names.iter().position(|n| n == want) else {
            if optional.contains(want) {
                out.push(vec![None; rows]);
                continue;
            }
            let all: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint =
                nearest(want, &all).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            return Err(Error::user(format!(
                "{}: no column `{want}`{hint}; the file has: {}; map your column names in \
                 sources.toml",
                path.display(),
                all.join(", ")
            )));
        };
        let col = df.columns()[pos]
            .cast(&DataType::String)
            .map_err(|e| Error::user(format!("{}: column `{want}`: {e}", path.display())))?;
        let ca = col.str().map_err(|e| Error::internal(e.to_string()))?;
        out.push(
            ca.iter()
                .map(|v| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string))
                .collect(),
        );
    }
    Ok(out)
}

/// Writes columns to a Parquet file atomically (through [`crate::store::write_atomic`]). Given
/// owned columns, each is dropped once converted, so the table is not held twice.
pub fn write_parquet<C: std::borrow::Borrow<Column>>(
    path: impl AsRef<Path>,
    columns: impl IntoIterator<Item = C>,
) -> Result<()> {
    let series: Vec<_> = columns
        .into_iter()
        .map(|c| {
            let c = c.borrow();
            let name = c.name.as_str().into();
            match &c.data {
                ColumnData::Bool(v) => Series::new(name, v),
                ColumnData::Int(v) => Series::new(name, v),
                ColumnData::Float(v) => Series::new(name, v),
                ColumnData::Str(v) => Series::new(name, v),
            }
            .into_column()
        })
        .collect();
    let mut df = DataFrame::new_infer_height(series)
        .map_err(|e| Error::internal(format!("building a table: {e}")))?;
    let path = path.as_ref();
    crate::store::write_atomic(path, |w| {
        ParquetWriter::new(w)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| Error::internal(format!("{}: writing Parquet: {e}", path.display())))
    })
}

/// How a source column is wanted by [`read_source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Text (ids, categories, any type read as text), dictionary-encoded.
    Key,
    /// Integers.
    Int,
    /// A time, read as seconds since 1970-01-01 UTC: integers (already seconds), ISO 8601
    /// date-times (`2026-01-27 09:44:15`, `2026-01-27T09:44:15.250Z`, `...+01:00`, a bare date
    /// is its midnight), or Parquet timestamps and dates. See [`parse_time`].
    Time,
    /// Numbers.
    Float,
    /// Booleans (`true/false`, `yes/no`, `1/0`).
    Bool,
}

/// The code of a missing value in [`SourceColumn::Codes`].
pub const MISSING_CODE: u32 = u32::MAX;

/// A source column read compactly for hot paths: text is dictionary-encoded once.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceColumn {
    /// Text: `codes[i]` indexes `dict`, or is [`MISSING_CODE`] when the value is empty.
    /// Codes follow the order of first appearance.
    Codes {
        /// One code per row.
        codes: Vec<u32>,
        /// The distinct values.
        dict: Vec<String>,
    },
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Numbers (never NaN).
    Float(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

/// A source table: only the columns asked for, in the order asked.
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// Where it was read from.
    pub path: PathBuf,
    /// True when read from CSV.
    pub is_csv: bool,
    /// Number of data rows.
    pub rows: usize,
    /// (name, column) for every column found; optional columns that are absent are left out.
    pub columns: Vec<(String, SourceColumn)>,
}

impl SourceTable {
    /// The column called `name`, if it was read.
    pub fn get(&self, name: &str) -> Option<&SourceColumn> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// "row N" or "row N (line L)" for data row index `i` (0-based).
    pub fn row_label(&self, i: usize) -> String {
        row_label(self.is_csv, i)
    }
}

/// Reads the columns `wanted` = (name, kind, required) of a CSV (optionally `.gz`) or Parquet
/// source, and only those. A required column that is absent is an error naming the file, its
/// columns and the nearest name; an optional one is skipped. Values that do not fit the kind are
/// errors naming the file, the row and the column.
pub fn read_source(
    path: impl AsRef<Path>,
    wanted: &[(&str, SourceKind, bool)],
) -> Result<SourceTable> {
    read_source_slice(path.as_ref(), wanted, None)
}

/// Reads a source like [`read_source`], `batch_rows` rows at a time, handing each batch and the
/// index of its first row to `f`: memory stays bounded by one batch whatever the file's size.
/// Parquet files are read by row slices (only the row groups a slice needs are decoded); a CSV
/// file is parsed in one batch, since its rows cannot be found without reading it.
pub fn read_source_batches(
    path: impl AsRef<Path>,
    wanted: &[(&str, SourceKind, bool)],
    batch_rows: usize,
    mut f: impl FnMut(SourceTable, usize) -> Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let lower = path.to_string_lossy().to_lowercase();
    if !(lower.ends_with(".parquet") || lower.ends_with(".pq")) {
        return f(read_source_slice(path, wanted, None)?, 0);
    }
    let file = std::fs::File::open(path).at(path)?;
    let rows = ParquetReader::new(file)
        .num_rows()
        .map_err(|e| Error::user(format!("{}: cannot read as Parquet: {e}", path.display())))?;
    let batch = batch_rows.max(1);
    let mut start = 0;
    loop {
        let len = batch.min(rows - start);
        f(read_source_slice(path, wanted, Some((start, len)))?, start)?;
        start += len;
        if start >= rows {
            return Ok(());
        }
    }
}

fn read_source_slice(
    path: &Path,
    wanted: &[(&str, SourceKind, bool)],
    slice: Option<(usize, usize)>,
) -> Result<SourceTable> {
    use rayon::prelude::*;
    let first_row = slice.map_or(0, |s| s.0);
    let lower = path.to_string_lossy().to_lowercase();
    let is_csv = !(lower.ends_with(".parquet") || lower.ends_with(".pq"));
    let (header, df) = if is_csv {
        let bytes = csv_bytes(path)?;
        let sep = char::from(csv_separator(&bytes));
        let header: Vec<String> = String::from_utf8_lossy(header_line(&bytes))
            .trim_end_matches('\r')
            .split(sep)
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect();
        let present: Vec<polars::prelude::PlSmallStr> =
            wanted.iter().filter(|w| header.iter().any(|h| h == w.0)).map(|w| w.0.into()).collect();
        if present.is_empty() {
            return Err(missing_source_column(path, wanted, &header));
        }
        let df = csv_reader_options(&bytes)
            .with_columns(Some(present.into()))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
            .map_err(|e| Error::user(format!("{}: cannot read as CSV: {e}", path.display())))?;
        (header, df)
    } else {
        let file = std::fs::File::open(path).at(path)?;
        let mut reader = ParquetReader::new(file);
        let schema = reader
            .schema()
            .map_err(|e| Error::user(format!("{}: cannot read as Parquet: {e}", path.display())))?;
        let header: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        let present: Vec<String> = wanted
            .iter()
            .filter(|w| header.iter().any(|h| h == w.0))
            .map(|w| w.0.to_string())
            .collect();
        if present.is_empty() {
            return Err(missing_source_column(path, wanted, &header));
        }
        let df =
            reader.with_columns(Some(present)).with_slice(slice).finish().map_err(|e| {
                Error::user(format!("{}: cannot read as Parquet: {e}", path.display()))
            })?;
        (header, df)
    };
    for w in wanted {
        if w.2 && !header.iter().any(|h| h == w.0) {
            return Err(missing_source_column(path, &[*w], &header));
        }
    }
    let rows = df.height();
    let columns = wanted
        .par_iter()
        .filter(|w| header.iter().any(|h| h == w.0))
        .map(|&(name, kind, _)| {
            let col = df.column(name).map_err(|e| Error::internal(e.to_string()))?;
            Ok((name.to_string(), source_column(path, is_csv, first_row, name, col, kind)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SourceTable { path: path.to_path_buf(), is_csv, rows, columns })
}

/// Seconds since 1970-01-01 UTC of `s`: an integer (already seconds), or an ISO 8601 date-time
/// (`YYYY-MM-DD`, then `T` or a space and `HH:MM[:SS[.fff]]`, then `Z` or `+HH:MM`, `+HHMM`,
/// `+HH` (or `-`); no zone is UTC); `None` otherwise.
///
/// ```
/// use audience::table::parse_time;
/// assert_eq!(parse_time("1769507055"), Some(1_769_507_055));
/// assert_eq!(parse_time("2026-01-27 09:44:15"), Some(1_769_507_055));
/// assert_eq!(parse_time("2026-01-27T10:44:15.250+01:00"), Some(1_769_507_055));
/// assert_eq!(parse_time("2026-01-27"), Some(1_769_472_000));
/// assert_eq!(parse_time("27/01/2026"), None);
/// ```
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = crate::store::days_from_civil(y, m as u32, d as u32) * 86_400;
    let mut rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    rest = rest.strip_prefix(['T', ' '])?;
    let t = rest.as_bytes();
    let (h, min) = (num(11..13)?, num(14..16)?);
    if t.get(2) != Some(&b':') || h > 23 || min > 59 {
        return None;
    }
    secs += h * 3600 + min * 60;
    rest = &rest[5..];
    if let Some(after) = rest.strip_prefix(':') {
        let sec = num(17..19)?;
        if sec > 60 {
            return None;
        }
        secs += sec;
        rest = &after[2..];
        if let Some(frac) = rest.strip_prefix(['.', ',']) {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[digits..];
        }
    }
    match rest {
        "" | "Z" | "z" => Some(secs),
        zone => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if !matches!(digits.len(), 2 | 4) || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let minutes = if digits.len() == 4 { digits[2..].parse::<i64>().ok()? } else { 0 };
            let offset = digits[..2].parse::<i64>().ok()? * 3600 + minutes * 60;
            Some(secs - sign * offset)
        }
    }
}

fn missing_source_column(
    path: &Path,
    wanted: &[(&str, SourceKind, bool)],
    header: &[String],
) -> Error {
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let want = wanted.iter().find(|w| w.2).unwrap_or(&wanted[0]).0;
    let hint = nearest(want, &names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
    Error::user(format!(
        "{}: no column `{want}`{hint}; the file has: {}; see the source schemas in README.md",
        path.display(),
        names.join(", ")
    ))
}

fn source_column(
    path: &Path,
    is_csv: bool,
    first_row: usize,
    name: &str,
    col: &polars::prelude::Column,
    kind: SourceKind,
) -> Result<SourceColumn> {
    let bad = |i: usize, what: String| {
        Error::user(format!(
            "{}: {}, column `{name}`: {what}",
            path.display(),
            row_label(is_csv, first_row + i)
        ))
    };
    let internal =
        |e: polars::prelude::PolarsError| Error::internal(format!("column `{name}`: {e}"));
    let dtype = col.dtype().clone();
    let text = || -> Result<polars::prelude::Column> {
        if dtype == DataType::String {
            Ok(col.clone())
        } else {
            col.cast(&DataType::String).map_err(internal)
        }
    };
    Ok(match kind {
        SourceKind::Key => {
            let c = text()?;
            let ca = c.str().map_err(internal)?;
            let mut map: crate::hash::FxHashMap<&str, u32> = Default::default();
            let mut dict = Vec::new();
            let mut codes = Vec::with_capacity(ca.len());
            for v in ca.iter() {
                let code = match v.map(str::trim).filter(|s| !s.is_empty()) {
                    None => MISSING_CODE,
                    Some(s) => *map.entry(s).or_insert_with(|| {
                        dict.push(s.to_string());
                        (dict.len() - 1) as u32
                    }),
                };
                codes.push(code);
            }
            SourceColumn::Codes { codes, dict }
        }
        SourceKind::Time if matches!(dtype, DataType::Datetime(..) | DataType::Date) => {
            let per_second = match &dtype {
                DataType::Datetime(TimeUnit::Nanoseconds, _) => 1_000_000_000,
                DataType::Datetime(TimeUnit::Microseconds, _) => 1_000_000,
                DataType::Datetime(TimeUnit::Milliseconds, _) => 1_000,
                _ => 1,
            };
            let per_day = if dtype == DataType::Date { 86_400 } else { 1 };
            let c = col.cast(&DataType::Int64).map_err(internal)?;
            let ca = c.i64().map_err(internal)?;
            SourceColumn::Int(
                ca.iter().map(|v| v.map(|v| (v * per_day).div_euclid(per_second))).collect(),
            )
        }
        SourceKind::Int | SourceKind::Time if dtype.is_integer() => {
            let c = col.cast(&DataType::Int64).map_err(internal)?;
            SourceColumn::Int(c.i64().map_err(internal)?.iter().collect())
        }
        SourceKind::Float if dtype.is_primitive_numeric() => {
            let c = col.cast(&DataType::Float64).map_err(internal)?;
            let v: Vec<Option<f64>> = c.f64().map_err(internal)?.iter().collect();
            if let Some(i) = v.iter().position(|x| x.is_some_and(|x| !x.is_finite())) {
                return Err(bad(i, format!("{} is not a finite number", v[i].unwrap())));
            }
            SourceColumn::Float(v)
        }
        SourceKind::Bool if dtype == DataType::Boolean => {
            SourceColumn::Bool(col.bool().map_err(internal)?.iter().collect())
        }
        SourceKind::Int | SourceKind::Time | SourceKind::Float | SourceKind::Bool => {
            let c = text()?;
            let ca = c.str().map_err(internal)?;
            let parsed = ca.iter().enumerate().map(|(i, v)| {
                let s = v.map(str::trim).filter(|s| !s.is_empty());
                (i, s)
            });
            match kind {
                SourceKind::Int => SourceColumn::Int(
                    parsed
                        .map(|(i, s)| match s {
                            None => Ok(None),
                            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                                bad(
                                    i,
                                    format!("`{s}` is not an integer; leave it empty for missing"),
                                )
                            }),
                        })
                        .collect::<Result<_>>()?,
                ),
                SourceKind::Time => SourceColumn::Int(
                    parsed
                        .map(|(i, s)| match s {
                            None => Ok(None),
                            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                                bad(
                                    i,
                                    format!(
                                        "`{s}` is not a time; write seconds since 1970 or an \
                                         ISO 8601 date-time (2026-01-27T09:44:15Z)"
                                    ),
                                )
                            }),
                        })
                        .collect::<Result<_>>()?,
                ),
                SourceKind::Float => SourceColumn::Float(
                    parsed
                        .map(|(i, s)| match s {
                            None => Ok(None),
                            Some(s) => s
                                .parse::<f64>()
                                .ok()
                                .filter(|x| x.is_finite())
                                .map(Some)
                                .ok_or_else(|| {
                                    bad(
                                        i,
                                        format!(
                                            "`{s}` is not a number; leave it empty for missing"
                                        ),
                                    )
                                }),
                        })
                        .collect::<Result<_>>()?,
                ),
                _ => SourceColumn::Bool(
                    parsed
                        .map(|(i, s)| match s {
                            None => Ok(None),
                            Some(s) => crate::import::parse_consent(s).map(Some).ok_or_else(|| {
                                bad(i, format!("`{s}` is not a boolean; write true or false"))
                            }),
                        })
                        .collect::<Result<_>>()?,
                ),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn infers_types_and_trims_like_febrl() {
        let (_d, p) = csv(
            "id, flag, n, x, zip, name\na, true, 1, 1.5, 02134, Ann\nb, false, -2, 3, 10001,\n",
        );
        let t = read_table(&p).unwrap();
        let types: Vec<_> = t.columns.iter().map(|c| c.data.type_name()).collect();
        assert_eq!(types, ["text", "bool", "int", "float", "text", "text"]);
        assert_eq!(t.column("zip").unwrap().data.text(0).as_deref(), Some("02134"));
        assert!(t.column("name").unwrap().data.is_missing(1));
    }

    #[test]
    fn text_typing_keeps_codes_among_numbers_and_joins_lists() {
        let mut text = String::from("id,patent\n");
        for i in 0..20 {
            text += &format!(
                "m{i},{}\n",
                if i == 7 { "D564528".to_string() } else { (5828387 + i).to_string() }
            );
        }
        let (_d, p) = csv(&text);
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.contains("mixed types") && e.contains("`patent`") && e.contains("row 8"), "{e}");
        let t = read_table_as(&p, Typing::Text).unwrap();
        let patent = &t.column("patent").unwrap().data;
        assert_eq!(patent.type_name(), "text");
        assert_eq!(patent.text(7).as_deref(), Some("D564528"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let names = [
            Series::new("".into(), &["Ann Lee", "Bo Kim"]),
            Series::new("".into(), &[" ", ""]),
            Series::new("".into(), &["Cy"]),
        ];
        let sequences = [
            Series::new("".into(), &[0i64, 1]),
            Series::new("".into(), &[2i64]),
            Series::new("".into(), &[3i64, 4, 5]),
        ];
        let mut df = DataFrame::new(
            3,
            vec![
                Series::new("id".into(), &["a", "b", "c"]).into_column(),
                Series::new("coinventors".into(), &names).into_column(),
                Series::new("sequence".into(), &sequences).into_column(),
            ],
        )
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap()).finish(&mut df).unwrap();
        let e = read_table(&path).unwrap_err().to_string();
        assert!(e.contains("`coinventors`") && e.contains("not supported"), "{e}");
        let t = read_table_as(&path, Typing::Text).unwrap();
        let c = &t.column("coinventors").unwrap().data;
        assert_eq!(c.text(0).as_deref(), Some("Ann Lee; Bo Kim"));
        assert!(c.is_missing(1), "a list of blanks is missing");
        assert_eq!(c.text(2).as_deref(), Some("Cy"));
        let seq = &t.column("sequence").unwrap().data;
        assert_eq!(seq.text(2).as_deref(), Some("3; 4; 5"), "a list of numbers joins as text");
    }

    #[test]
    fn semicolon_tab_and_pipe_files_read_like_comma_files() {
        let comma = read_table(csv("id,name,city\n1,Ann,\"Paris, FR\"\n2,Bob,Lyon\n").1).unwrap();
        for text in [
            "id;name;city\n1;Ann;Paris, FR\n2;Bob;Lyon\n",
            "id\tname\tcity\n1\tAnn\tParis, FR\n2\tBob\tLyon\n",
            "id|name|city\n1|Ann|Paris, FR\n2|Bob|Lyon\n",
        ] {
            let (_dir, path) = csv(text);
            let t = read_table(&path).unwrap();
            assert_eq!(t.columns.len(), 3, "{text:?}");
            for (a, b) in t.columns.iter().zip(&comma.columns) {
                assert_eq!(a.name, b.name);
                assert_eq!(a.data.text(0), b.data.text(0));
            }
        }
        assert_eq!(csv_separator(b"\"a;b\",c,d\n"), b',', "quoted separators do not count");
        assert_eq!(csv_separator(b"single\n"), b',');
    }

    #[test]
    fn parquet_round_trip_gives_the_same_columns() {
        let (d, p) = csv("id,flag,n,x,c\na,true,1,1.5,FR\nb,,2,,DE\n");
        let t = read_table(&p).unwrap();
        let pq = d.path().join("t.parquet");
        write_parquet(&pq, &t.columns).unwrap();
        assert_eq!(read_table(&pq).unwrap().columns, t.columns);
    }

    #[test]
    fn errors_name_file_row_and_column() {
        let (_d, p) = csv("");
        assert!(read_table(&p).unwrap_err().to_string().contains("empty"));
        let (_d, p) = csv("id,age\n");
        assert!(read_table(&p).unwrap_err().to_string().contains("no rows"));
        let mut text = String::from("id,age\n");
        for i in 0..20 {
            text +=
                &format!("{i},{}\n", if i == 13 { "unknown".to_string() } else { i.to_string() });
        }
        let (_d, p) = csv(&text);
        let e = read_table(&p).unwrap_err().to_string();
        assert!(
            e.contains("`age`") && e.contains("row 14 (line 15)") && e.contains("unknown"),
            "{e}"
        );
        let (_d, p) = csv("id,name\n1,Ren\u{e9}e\n");
        std::fs::write(&p, b"id,name\n1,Ren\xe9e\n").unwrap();
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("`name`") && e.contains("UTF-8"), "{e}");
        let e = read_table(p.with_extension("xlsx")).unwrap_err().to_string();
        assert!(e.contains("unknown table format"), "{e}");
    }

    #[test]
    fn linkage_reads_latin_1_as_windows_1252_and_says_so() {
        let utf8 = "id,\"name\",city\n1, Ren\u{e9}e M\u{fc}ller, K\u{f6}ln\n2, \u{201c}Al\u{201d}, Caf\u{e9}\n";
        let (_d, p) = csv(utf8);
        let (want, note) = read_text_table(&p).unwrap();
        assert!(note.is_none());
        // The same file in Windows-1252, and once gzipped: the same table, with a note naming
        // the first byte that is not UTF-8 (and its column, unquoted).
        std::fs::write(
            &p,
            b"id,\"name\",city\n1, Ren\xe9e M\xfcller, K\xf6ln\n2, \x93Al\x94, Caf\xe9\n",
        )
        .unwrap();
        let gz = p.with_extension("csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &std::fs::read(&p).unwrap()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for path in [&p, &gz] {
            let (got, note) = read_text_table(path).unwrap();
            assert_eq!(got.columns, want.columns);
            let note = note.unwrap();
            assert!(note.contains("6 bytes") && note.contains("line 2, column `name`"), "{note}");
        }
        // Other readers still refuse it.
        assert!(read_table(&p).unwrap_err().to_string().contains("not UTF-8"));
    }

    #[test]
    fn times_and_dates_read_from_parquet_types_and_iso_text() {
        // A Parquet file as pyarrow writes a CSV export: a date and a millisecond timestamp.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipts.parquet");
        let dates =
            Series::new("birth_date".into(), &[Some(-1i32), None]).cast(&DataType::Date).unwrap();
        let ts = Series::new("ts".into(), &[1_769_507_055_250i64, 0])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap();
        let mut df = DataFrame::new(
            2,
            vec![
                Series::new("id".into(), &["a", "b"]).into_column(),
                dates.into_column(),
                ts.into_column(),
            ],
        )
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap()).finish(&mut df).unwrap();
        let t = read_table_as(&path, Typing::Text).unwrap();
        let born = &t.column("birth_date").unwrap().data;
        assert_eq!(born.text(0).as_deref(), Some("1969-12-31"));
        assert!(born.is_missing(1));
        let wanted = [("ts", SourceKind::Time, true), ("birth_date", SourceKind::Time, true)];
        let src = read_source(&path, &wanted).unwrap();
        assert_eq!(src.get("ts"), Some(&SourceColumn::Int(vec![Some(1_769_507_055), Some(0)])));
        assert_eq!(src.get("birth_date"), Some(&SourceColumn::Int(vec![Some(-86_400), None])));
        // The same times written as text, in several ways; a time that is none names its row.
        let (_d, p) = csv("ts\n1769507055\n2026-01-27T09:44:15.250Z\n2026-01-27 11:44:15+02:00\n");
        let src = read_source(&p, &wanted[..1]).unwrap();
        assert_eq!(src.get("ts"), Some(&SourceColumn::Int(vec![Some(1_769_507_055); 3])));
        let (_d, p) = csv("ts\n1769507055\n27/01/2026 09:44\n");
        let e = read_source(&p, &wanted[..1]).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("`ts`") && e.contains("ISO 8601"), "{e}");
        assert_eq!(parse_time("2026-01-27T11:44:15+02"), Some(1_769_507_055));
    }

    proptest::proptest! {
        #[test]
        fn parse_time_never_panics_and_reads_what_it_writes(
            s in "\\PC{0,30}",
            secs in 0i64..4_102_444_800,
            zone in -14i64..=14,
        ) {
            let _ = parse_time(&s);
            // An instant written in UTC, and as a local time with its zone.
            let written = |t: i64| {
                let (y, m, d) = crate::store::civil_from_days(t.div_euclid(86_400));
                let t = t.rem_euclid(86_400);
                format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", t / 3600, t % 3600 / 60, t % 60)
            };
            proptest::prop_assert_eq!(parse_time(&format!("{}Z", written(secs))), Some(secs));
            let sign = if zone < 0 { '-' } else { '+' };
            let local = format!("{}{sign}{:02}:00", written(secs + zone * 3600), zone.abs());
            proptest::prop_assert_eq!(parse_time(&local), Some(secs));
        }
    }

    #[test]
    fn missing_column_suggests_the_nearest() {
        let (_d, p) = csv("customer_id,age\n1,2\n");
        let t = read_table(&p).unwrap();
        let e = t.column("custmer_id").unwrap_err().to_string();
        assert!(e.contains("did you mean `customer_id`"), "{e}");
    }
}
