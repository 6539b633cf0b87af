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
//!
//! It does not own what the columns mean: import, linking and models decide that.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::{
    CsvReadOptions, DataFrame, DataType, IntoColumn, NamedFrom, ParquetReader, ParquetWriter,
    SerReader, Series,
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

/// Reads a CSV (optionally `.gz`) or Parquet file, chosen by its extension.
pub fn read_table(path: impl AsRef<Path>) -> Result<Table> {
    let path = path.as_ref();
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        read_parquet(path)
    } else if name.ends_with(".csv") || name.ends_with(".csv.gz") || name.ends_with(".txt") {
        read_csv(path)
    } else {
        Err(Error::user(format!(
            "{}: unknown table format; give a .csv, .csv.gz or .parquet file",
            path.display()
        )))
    }
}

fn read_csv(path: &Path) -> Result<Table> {
    let raw = std::fs::read(path).at(path)?;
    let bytes = if path.to_string_lossy().to_lowercase().ends_with(".gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out)
            .map_err(|e| Error::user(format!("{}: not a valid gzip file ({e})", path.display())))?;
        out
    } else {
        raw
    };
    check_utf8(path, &bytes)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::user(format!(
            "{}: the file is empty; a table needs a header line and at least one row",
            path.display()
        )));
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| Error::user(format!("{}: cannot read as CSV: {e}", path.display())))?;
    from_frame(path, true, df)
}

fn read_parquet(path: &Path) -> Result<Table> {
    let file = std::fs::File::open(path).at(path)?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| Error::user(format!("{}: cannot read as Parquet: {e}", path.display())))?;
    from_frame(path, false, df)
}

/// Finds the first invalid UTF-8 byte and reports its line and field.
fn check_utf8(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let field = bytes[line_start..at].iter().filter(|&&b| b == b',').count();
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
        let column = String::from_utf8_lossy(&bytes[..header_end])
            .split(',')
            .nth(field)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| format!("#{}", field + 1));
        return Err(Error::user(format!(
            "{}: line {line}, column `{column}`: bytes that are not UTF-8 (byte offset {at}); \
             re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
            path.display()
        )));
    }
    Ok(())
}

fn from_frame(path: &Path, is_csv: bool, df: DataFrame) -> Result<Table> {
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
                infer_text(&values)
                    .map_err(|(i, msg)| bad(format!("{}: {msg}", row_label(is_csv, i))))?
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
fn infer_text(values: &[Option<&str>]) -> std::result::Result<ColumnData, (usize, String)> {
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
        // Mostly numbers and a few words: a data-entry mistake, not a text column.
        if numeric * 10 >= present * 9 && present >= 10 {
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

/// Writes columns to a Parquet file atomically (through [`crate::store::write_atomic`]).
pub fn write_parquet(path: impl AsRef<Path>, columns: &[Column]) -> Result<()> {
    let series: Vec<_> = columns
        .iter()
        .map(|c| {
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
    fn missing_column_suggests_the_nearest() {
        let (_d, p) = csv("customer_id,age\n1,2\n");
        let t = read_table(&p).unwrap();
        let e = t.column("custmer_id").unwrap_err().to_string();
        assert!(e.contains("did you mean `customer_id`"), "{e}");
    }
}
