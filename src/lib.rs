//! # audience
//!
//! An audience segmentation and look-alike engine: the core of a marketing DMP. See `README.md`
//! and `../shared/DESIGN.md` for the vocabulary and the data flow
//! (sources → profiles → traits + bitmap index → segments → models → audiences → exports).
//!
//! One module per concept:
//! - [`error`]: the library's error type (user mistakes apart from internal errors);
//! - [`store`]: the store directory, its format version and the one atomic-write helper;
//! - [`table`]: reading and writing CSV/Parquet at the edge (polars lives here);
//! - [`idmap`]: external id → dense, stable pid;
//! - [`index`]: the bitmap index (roaring bitmaps per value, bit-sliced indexes for numbers);
//! - [`import`]: `audience import`, a unified profile table into the store;
//! - [`link`]: probabilistic record linkage (Fellegi-Sunter) on plain records.

pub mod error;
pub mod idmap;
pub mod import;
pub mod index;
pub mod link;
pub mod progress;
pub mod store;
pub mod table;
pub mod widetable;

pub use error::{Error, Result};
pub use index::Pid;
