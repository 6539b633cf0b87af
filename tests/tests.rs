//! The one integration-test binary: each module tests one command end to end.
//! Tests that read `../shared/data` skip with a message when it is absent.

mod audit;
mod common;
mod derive;
mod export;
mod export_store;
mod generate;
mod identity;
mod import;
mod link;
mod lookalike;
mod normalize_vectors;
mod score;
mod segment;
