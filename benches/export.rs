//! Export throughput: how many contact records per second each destination writer streams to
//! disk, normalising and hashing every value (the target is 10 million records in under 30 s).
//!
//! Data: synthetic contacts generated on the fly (deterministic, never held in memory): email,
//! national FR phone, accented first and last names, city, zip, country, birth date, gender, MAID,
//! two cookies, extern id; every 20th without consent, every 50th with a broken email. The export
//! writes `DEST.csv` + `manifest.json` into a temporary directory, removed after each run.
//!
//! Run: `cargo bench --bench export` (10,000,000 records per destination by default; set
//! `EXPORT_BENCH_N` for another count, `EXPORT_BENCH_DIR` for the output directory's parent,
//! `EXPORT_BENCH_DEST` for a single destination). It is a plain measured run (harness = false),
//! not a criterion sampling loop: one 10M-record pass per destination is the figure that matters.

use std::time::Instant;

use audience::export::{export_contacts, Contact, Destination, ExportOptions};

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

fn main() {
    let n: u64 =
        std::env::var("EXPORT_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let parent = std::env::var("EXPORT_BENCH_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let only = std::env::var("EXPORT_BENCH_DEST").ok();
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
    for dest in Destination::ALL {
        if only.as_deref().is_some_and(|d| d != dest.name()) {
            continue;
        }
        let dir =
            tempfile::Builder::new().prefix("export-bench").tempdir_in(&parent).expect("temp dir");
        let out = dir.path().join(dest.name());
        let opts = ExportOptions::new("bench_audience", &out);
        let t = Instant::now();
        let cpu0 = cpu_secs();
        let m = export_contacts((0..n).map(contact), dest, &opts).expect("export");
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs() - cpu0;
        let f = &m.files[0];
        println!(
            "{:<9} {n} records in {secs:.2} s = {:.0} records/s; {cpu:.2} CPU s = {:.0} records per CPU s; {} exported, {} rows, {:.2} GB written ({:.0} MB/s)",
            dest.name(),
            n as f64 / secs,
            n as f64 / cpu,
            m.records_exported,
            f.rows,
            f.bytes as f64 / 1e9,
            f.bytes as f64 / 1e6 / secs
        );
    }
}
