//! Export throughput: how many profiles per second each destination writer streams to disk (the
//! target is a 10-million-member segment in under 30 s per destination).
//!
//! Two paths, chosen with `EXPORT_BENCH_MODE` (`store`, the default; `contacts`; or `both`):
//! - **store** (`audience export SEGMENT`): a temporary store holding a synthetic contact table
//!   of N profiles (`identity/contacts.bin`, hashed at "resolve time" before the clock starts),
//!   the trait `consent.ads` and a segment of all N pids; then `export_segment` per destination:
//!   segment bitmap, consent bitmaps, shard-by-shard read of the table, rows written in parallel.
//! - **contacts** (`audience export --contacts`): raw contacts generated on the fly, normalised
//!   and hashed while exporting (every value of every row).
//!
//! Data: email, national FR phone, accented first and last names, city, zip, country, birth date,
//! gender, MAID, two cookies, extern id per profile; every 20th without consent, every 50th with
//! a broken email. Outputs go to a temporary directory, removed after each run.
//!
//! Run: `cargo bench --bench export` (10,000,000 profiles by default; `EXPORT_BENCH_N` for
//! another count, `EXPORT_BENCH_DIR` for the temporary directory's parent, `EXPORT_BENCH_DEST`
//! for a single destination). A plain measured run (harness = false), not a criterion sampling
//! loop: one 10M pass per destination is the figure that matters. It needs about 7 GB of disk
//! for the contact table plus the largest output file (Meta, about 9 GB at 10M).

use std::time::Instant;

use std::collections::HashMap;

use audience::export::{
    export_contacts, export_segment, Contact, Destination, ExportManifest, ExportOptions,
    HashedContact,
};
use audience::identity::contact_store;
use audience::import::{merge_traits, CONSENT_TRAIT};
use audience::segment::{save, Lineage, SegmentMeta};
use audience::store::Store;
use audience::table::{Column, ColumnData};
use rayon::prelude::*;

const FIRST: [&str; 8] = ["José", "Émilie", "Zoë", "François", "Mary-Jane", "Ørjan", "Anna", "Li"];
const LAST: [&str; 8] =
    ["García", "Dupont", "Müller", "O'Brien", "van der Berg", "Dvořák", "Smith", "Wang"];
const CITIES: [&str; 4] = ["Paris", "Saint-Étienne", "Lyon", "Marseille"];

fn contact(i: u64) -> Contact {
    Contact {
        extern_id: Some(format!("C{i}")),
        email: Some(if i % 50 == 7 {
            format!("broken{i}.example.com")
        } else {
            format!("First.Last{i}@Example.com")
        }),
        phone: Some(format!(
            "06 {:02} {:02} {:02} {:02}",
            i / 1_000_000 % 100,
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100
        )),
        first_name: Some(FIRST[(i % 8) as usize].into()),
        last_name: Some(LAST[(i / 8 % 8) as usize].into()),
        city: Some(CITIES[(i % 4) as usize].into()),
        state: None,
        zip: Some(format!("{:05}", 1000 + i % 95_000)),
        country: Some("FR".into()),
        birth_date: Some(format!("19{:02}-{:02}-{:02}", 40 + i % 60, 1 + i % 12, 1 + i % 28)),
        gender: Some(if i.is_multiple_of(2) { "F" } else { "M" }.into()),
        maid: Some(format!("aece52e7-03ee-455a-b3c4-{:012x}", i + 1)),
        cookies: vec![format!("ck{i}a"), format!("ck{i}b")],
        consent: Some(!i.is_multiple_of(20)),
    }
}

/// CPU seconds (user + system) used by this process so far: on a shared machine the wall clock
/// says more about the neighbours than about the code.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn print(dest: Destination, n: u64, secs: f64, cpu: f64, m: &ExportManifest) {
    let f = &m.files[0];
    println!(
        "{:<9} {n} profiles in {secs:.2} s = {:.0} profiles/s; {cpu:.2} CPU s = {:.0} per CPU s; \
         {} exported, {} rows, {:.2} GB written ({:.0} MB/s)",
        dest.name(),
        n as f64 / secs,
        n as f64 / cpu,
        m.records_exported,
        f.rows,
        f.bytes as f64 / 1e9,
        f.bytes as f64 / 1e6 / secs
    );
}

/// A store with the contact table, consent and a segment `bench` of pids 0..n.
fn bench_store(parent: &str, n: u64) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("export-store").tempdir_in(parent).expect("temp");
    let mut store = Store::init(dir.path()).expect("store");
    let t = Instant::now();
    let pids: Vec<u32> = (0..n as u32).collect();
    let consent = Column {
        name: CONSENT_TRAIT.into(),
        data: ColumnData::Bool((0..n).map(|i| Some(!i.is_multiple_of(20))).collect()),
    };
    merge_traits(&mut store, "bench", &pids, vec![consent], &HashMap::new()).expect("traits");
    let all: roaring::RoaringBitmap = pids.iter().copied().collect();
    drop(pids);
    let now = audience::store::now_iso();
    let meta = SegmentMeta {
        name: "bench".into(),
        definition: "@bench(all)".into(),
        description: None,
        size: n,
        size_by_party: Default::default(),
        created: now.clone(),
        updated: now.clone(),
        lineage: Lineage::default(),
        data_version: now,
        checksum: String::new(),
    };
    save(&store, &meta, &all).expect("segment");
    let chunk = 65_536u64;
    let records = (0..n.div_ceil(chunk)).flat_map(|c| {
        (c * chunk..((c + 1) * chunk).min(n))
            .into_par_iter()
            .map(|i| {
                let mut h = HashedContact::from_contact(&contact(i), Some("FR"));
                h.pid = i as u32;
                h
            })
            .collect::<Vec<_>>()
    });
    let index = contact_store::write(&store, records).expect("contact table");
    let bytes = std::fs::metadata(store.path(contact_store::FILE)).map(|m| m.len()).unwrap_or(0);
    println!(
        "store: {} contact records ({:.2} GB), consent and a {n}-member segment built in {:.1} s",
        index.profiles,
        bytes as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
    dir
}

fn main() {
    let n: u64 =
        std::env::var("EXPORT_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let parent = std::env::var("EXPORT_BENCH_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let only = std::env::var("EXPORT_BENCH_DEST").ok();
    let mode = std::env::var("EXPORT_BENCH_MODE").unwrap_or_else(|_| "store".into());
    let dests: Vec<Destination> = Destination::ALL
        .into_iter()
        .filter(|d| only.as_deref().is_none_or(|o| o == d.name()))
        .collect();
    if mode == "store" || mode == "both" {
        let dir = bench_store(&parent, n);
        let store = Store::open(dir.path()).expect("store");
        for &dest in &dests {
            let out = dir.path().join("exports").join(dest.name());
            let opts = ExportOptions::new("bench", &out);
            let t = Instant::now();
            let cpu0 = cpu_secs();
            let m = export_segment(&store, "bench", dest, &opts).expect("export");
            print(dest, n, t.elapsed().as_secs_f64(), cpu_secs() - cpu0, &m);
            std::fs::remove_dir_all(&out).expect("cleanup");
        }
    }
    if mode == "contacts" || mode == "both" {
        contacts_mode(n, &parent, &dests);
    }
}

fn contacts_mode(n: u64, parent: &str, dests: &[Destination]) {
    let t = Instant::now();
    let mut bytes = 0usize;
    for i in 0..n {
        bytes += contact(i).email.map_or(0, |e| e.len());
    }
    let gen = t.elapsed().as_secs_f64();
    println!(
        "generating {n} contacts alone: {gen:.2} s ({:.0} records/s; {bytes} email bytes)",
        n as f64 / gen
    );
    for &dest in dests {
        let dir =
            tempfile::Builder::new().prefix("export-bench").tempdir_in(parent).expect("temp dir");
        let out = dir.path().join(dest.name());
        let opts = ExportOptions::new("bench_audience", &out);
        let t = Instant::now();
        let cpu0 = cpu_secs();
        let m = export_contacts((0..n).map(contact), dest, &opts).expect("export");
        print(dest, n, t.elapsed().as_secs_f64(), cpu_secs() - cpu0, &m);
    }
}
