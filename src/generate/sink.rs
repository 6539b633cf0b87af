//! Row buffers and the streaming table writers of the generator.
//!
//! Owns:
//! - [`Schema`]: a table's name and typed columns;
//! - [`Buf`]: one chunk's rows in plain column vectors (text packed in one string with offsets),
//!   filled row by row with [`Buf::row`] and concatenated in order with [`Buf::append`];
//! - [`Sink`]: writes buffers one after the other to a Parquet file (polars' batched writer, one
//!   row group per chunk, zstd) or to a CSV file (a plain buffered writer, RFC 4180 quoting), so
//!   memory stays bounded by one chunk whatever the number of people.
//!
//! Text rule: an empty text value is missing (null in Parquet, empty in CSV). Floats are written
//! with two decimals in CSV; the generator rounds them to cents so both formats hold the same
//! values.
//!
//! It does not own what goes into the rows ([`super::person`]) nor where the files go
//! ([`super`]). polars is called here and nowhere else in the generator.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{BufWriter, Write};

use polars::prelude::{
    DataFrame, DataType, IntoColumn, NamedFrom, ParquetCompression, ParquetWriter, PlSmallStr,
    Schema as PlSchema, Series,
};

use crate::error::{Error, Result};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text; empty is missing.
    Str,
    /// 64-bit integer, always present.
    Int,
    /// 64-bit integer, may be missing.
    OptInt,
    /// Float, always present, two decimals.
    Float,
    /// Boolean, always present.
    Bool,
}

/// A table's name (the file name without extension, may hold a `/`) and columns.
#[derive(Debug)]
pub struct Schema {
    /// File name without extension, relative to the output directory.
    pub name: &'static str,
    /// Column names and types.
    pub cols: &'static [(&'static str, Kind)],
}

/// One value of a row, in the column's type.
pub enum V<'a> {
    /// Text (empty = missing).
    S(&'a str),
    /// Text formatted in place, without an allocation.
    A(fmt::Arguments<'a>),
    /// Integer.
    I(i64),
    /// Integer or missing.
    OI(Option<i64>),
    /// Float.
    F(f64),
    /// Boolean.
    B(bool),
}

enum Col {
    Str { bytes: String, ends: Vec<usize> },
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
}

/// Rows of one table for one chunk, column by column.
pub struct Buf {
    schema: &'static Schema,
    cols: Vec<Col>,
    rows: usize,
}

impl Buf {
    /// An empty buffer for `schema`.
    pub fn new(schema: &'static Schema) -> Buf {
        let cols = schema
            .cols
            .iter()
            .map(|(_, k)| match k {
                Kind::Str => Col::Str { bytes: String::new(), ends: Vec::new() },
                Kind::Int => Col::Int(Vec::new()),
                Kind::OptInt => Col::OptInt(Vec::new()),
                Kind::Float => Col::Float(Vec::new()),
                Kind::Bool => Col::Bool(Vec::new()),
            })
            .collect();
        Buf { schema, cols, rows: 0 }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row; `vals` follow the schema's columns and types (a mismatch is a bug and
    /// panics).
    pub fn row(&mut self, vals: &[V<'_>]) {
        assert_eq!(vals.len(), self.cols.len(), "row width of {}", self.schema.name);
        for (col, v) in self.cols.iter_mut().zip(vals) {
            match (col, v) {
                (Col::Str { bytes, ends }, V::S(s)) => {
                    bytes.push_str(s);
                    ends.push(bytes.len());
                }
                (Col::Str { bytes, ends }, V::A(a)) => {
                    bytes.write_fmt(*a).expect("writing to a String cannot fail");
                    ends.push(bytes.len());
                }
                (Col::Int(c), V::I(x)) => c.push(*x),
                (Col::OptInt(c), V::OI(x)) => c.push(*x),
                (Col::Float(c), V::F(x)) => c.push(*x),
                (Col::Bool(c), V::B(x)) => c.push(*x),
                _ => panic!("a value of the wrong type in table {}", self.schema.name),
            }
        }
        self.rows += 1;
    }

    /// Moves `other`'s rows to the end of this buffer.
    pub fn append(&mut self, other: Buf) {
        for (a, b) in self.cols.iter_mut().zip(other.cols) {
            match (a, b) {
                (Col::Str { bytes, ends }, Col::Str { bytes: b2, ends: e2 }) => {
                    let base = bytes.len();
                    bytes.push_str(&b2);
                    ends.extend(e2.into_iter().map(|e| e + base));
                }
                (Col::Int(a), Col::Int(b)) => a.extend(b),
                (Col::OptInt(a), Col::OptInt(b)) => a.extend(b),
                (Col::Float(a), Col::Float(b)) => a.extend(b),
                (Col::Bool(a), Col::Bool(b)) => a.extend(b),
                _ => unreachable!("buffers of the same schema"),
            }
        }
        self.rows += other.rows;
    }

    fn text_at<'b>(bytes: &'b str, ends: &[usize], i: usize) -> &'b str {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        &bytes[start..ends[i]]
    }

    fn to_frame(&self) -> Result<DataFrame> {
        let columns = self
            .schema
            .cols
            .iter()
            .zip(&self.cols)
            .map(|((name, _), col)| {
                let name = PlSmallStr::from_static(name);
                match col {
                    Col::Str { bytes, ends } => {
                        let v: Vec<Option<&str>> = (0..ends.len())
                            .map(|i| Some(Self::text_at(bytes, ends, i)).filter(|s| !s.is_empty()))
                            .collect();
                        Series::new(name, v)
                    }
                    Col::Int(v) => Series::new(name, v),
                    Col::OptInt(v) => Series::new(name, v),
                    Col::Float(v) => Series::new(name, v),
                    Col::Bool(v) => Series::new(name, v),
                }
                .into_column()
            })
            .collect();
        DataFrame::new(self.rows, columns)
            .map_err(|e| Error::internal(format!("building table {}: {e}", self.schema.name)))
    }

    fn write_csv(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut line = String::with_capacity(256);
        for r in 0..self.rows {
            line.clear();
            for (c, col) in self.cols.iter().enumerate() {
                if c > 0 {
                    line.push(',');
                }
                match col {
                    Col::Str { bytes, ends } => {
                        push_csv_text(&mut line, Self::text_at(bytes, ends, r))
                    }
                    Col::Int(v) => write!(line, "{}", v[r]).expect("String write"),
                    Col::OptInt(v) => {
                        if let Some(x) = v[r] {
                            write!(line, "{x}").expect("String write");
                        }
                    }
                    Col::Float(v) => write!(line, "{:.2}", v[r]).expect("String write"),
                    Col::Bool(v) => line.push_str(if v[r] { "true" } else { "false" }),
                }
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

/// Quotes a CSV field when it holds a comma, a quote, a line break or surrounding spaces.
fn push_csv_text(line: &mut String, s: &str) {
    let needs = s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || s.starts_with(' ')
        || s.ends_with(' ');
    if needs {
        line.push('"');
        for ch in s.chars() {
            if ch == '"' {
                line.push('"');
            }
            line.push(ch);
        }
        line.push('"');
    } else {
        line.push_str(s);
    }
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet, zstd-compressed, one row group per chunk.
    Parquet,
    /// Comma-separated values with a header line.
    Csv,
}

impl Format {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// A table being written chunk after chunk into `W`.
pub enum Sink<W: Write> {
    /// Parquet through polars' batched writer.
    Parquet(Box<polars::io::parquet::write::BatchedWriter<W>>),
    /// CSV.
    Csv(W),
}

impl<W: Write> Sink<W> {
    /// Starts a table: the CSV header, or the Parquet writer with the schema.
    pub fn new(format: Format, schema: &'static Schema, mut w: W) -> Result<Self> {
        let fail = |e: String| Error::internal(format!("starting {}: {e}", schema.name));
        match format {
            Format::Csv => {
                let header: Vec<&str> = schema.cols.iter().map(|c| c.0).collect();
                writeln!(w, "{}", header.join(",")).map_err(|e| fail(e.to_string()))?;
                Ok(Sink::Csv(w))
            }
            Format::Parquet => {
                let pl: PlSchema = schema
                    .cols
                    .iter()
                    .map(|(n, k)| {
                        let dt = match k {
                            Kind::Str => DataType::String,
                            Kind::Int | Kind::OptInt => DataType::Int64,
                            Kind::Float => DataType::Float64,
                            Kind::Bool => DataType::Boolean,
                        };
                        (PlSmallStr::from_static(n), dt)
                    })
                    .collect();
                let writer = ParquetWriter::new(w)
                    .with_compression(ParquetCompression::Zstd(None))
                    .set_parallel(false)
                    .batched(&pl)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Sink::Parquet(Box::new(writer)))
            }
        }
    }

    /// Writes one chunk's rows.
    pub fn write(&mut self, buf: &Buf) -> Result<()> {
        if buf.rows == 0 {
            return Ok(());
        }
        let fail = |e: String| Error::internal(format!("writing {}: {e}", buf.schema.name));
        match self {
            Sink::Csv(w) => buf.write_csv(w).map_err(|e| fail(e.to_string())),
            Sink::Parquet(p) => p.write_batch(&buf.to_frame()?).map_err(|e| fail(e.to_string())),
        }
    }

    /// Ends the table (the Parquet footer) and flushes.
    pub fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush(),
            Sink::Parquet(p) => {
                p.finish().map_err(|e| Error::internal(format!("finishing Parquet: {e}")))?;
                Ok(())
            }
        }
        .map_err(|e| Error::internal(format!("flushing a table: {e}")))
    }
}

/// The writer type the generator hands to its sinks.
pub type FileSink<'a> = Sink<&'a mut BufWriter<File>>;

#[cfg(test)]
mod tests {
    use super::*;

    static T: Schema = Schema {
        name: "t",
        cols: &[
            ("s", Kind::Str),
            ("i", Kind::Int),
            ("o", Kind::OptInt),
            ("f", Kind::Float),
            ("b", Kind::Bool),
        ],
    };

    #[test]
    fn rows_append_and_csv_quoting() {
        let mut a = Buf::new(&T);
        a.row(&[V::S("x,y"), V::I(1), V::OI(None), V::F(1.5), V::B(true)]);
        let mut b = Buf::new(&T);
        b.row(&[
            V::A(format_args!("{} z ", "q\"")),
            V::I(-2),
            V::OI(Some(3)),
            V::F(0.1),
            V::B(false),
        ]);
        a.append(b);
        assert_eq!(a.rows(), 2);
        let mut out = Vec::new();
        a.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"x,y\",1,,1.50,true\n\"q\"\" z \",-2,3,0.10,false\n"
        );
        let df = a.to_frame().unwrap();
        assert_eq!(df.height(), 2);
    }
}
