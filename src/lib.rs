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
//! - [`generate`]: the synthetic DMP world (sources and truth), deterministic by seed;
//! - [`widetable`]: the wide benchmark table (10 boolean + 10 integer columns);
//! - [`normalize`]: normalisation and hashing of identifiers and contact fields (one spec);
//! - [`identity`]: identity resolution of raw sources into profiles with stable pids;
//! - [`idmap`]: external id → dense, stable pid;
//! - [`import`]: `audience import`, a unified profile table into the store, and the trait merge;
//! - [`derive`]: traits computed from behaviour and purchases;
//! - [`features`]: feature views (ordered, transformed traits as an `Array2<f32>`);
//! - [`hash`]: fast deterministic hashing for hot-path maps and feature hashing;
//! - [`index`]: the bitmap index (roaring bitmaps per value, bit-sliced indexes for numbers);
//! - [`expr`]: the segment expression language (parse, check, evaluate over the index);
//! - [`segment`]: the segment store, overlap reports;
//! - [`cluster`]: k-means auto-segmentation; [`lift`]: trait lifts of a group;
//! - [`model`]: look-alike learning (logistic, similarity, ensemble), metrics, table → matrix;
//! - [`lookalike`]: models on the store: train from a seed segment, expand into pools;
//! - [`score`]: batch scoring of new cookies with a stored model;
//! - [`audit`]: the 3rd-party provider audit (match, fill, accuracy, cost, share of lift);
//! - [`contacts`]: contact lists (CSV) read as a stream of contacts;
//! - [`export`]: audiences to destinations (Google, Meta, DSP, LiveRamp) with a manifest;
//! - [`forget`]: the right to be forgotten: suppression list, erasure, audit log;
//! - [`progress`]: progress bars on a terminal.
//! - [`import`]: `audience import`, a unified profile table into the store;
//! - [`link`]: probabilistic record linkage (Fellegi-Sunter) on plain records.

pub mod audit;
pub mod cluster;
pub mod contacts;
pub mod derive;
pub mod error;
pub mod export;
pub mod expr;
pub mod features;
pub mod forget;
pub mod generate;
pub mod hash;
pub mod identity;
pub mod idmap;
pub mod import;
pub mod index;
pub mod lift;
pub mod link;
pub mod lookalike;
pub mod model;
pub mod normalize;
pub mod progress;
pub mod score;
pub mod segment;
pub mod store;
pub mod table;
pub mod widetable;

pub use error::{Error, Result};
pub use index::Pid;
