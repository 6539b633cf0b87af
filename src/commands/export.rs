//! `audience export [SEGMENT] --destination google|meta|dsp|liveramp [--contacts FILE.csv] ...`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use audience::contacts::ContactList;
use audience::export::{
    export_segment, try_export_contacts, Destination, ExportManifest, ExportOptions,
    DEFAULT_MIN_SIZE, DEFAULT_TTL_DAYS, MANIFEST, STORE_CONSENT_RULE,
};
use audience::store::Store;

use super::Global;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A segment of the store to export (its profiles' hashed identifiers come from the contact
    /// table that `audience resolve` stores).
    pub segment: Option<String>,
    /// Onboard a raw contact list instead: CSV (or .csv.gz) with columns email, phone,
    /// first_name, last_name, city, state, zip, country, birth_date, gender, maid, extern_id,
    /// cookie, ad_consent (any subset with at least one identifier; case-insensitive).
    #[arg(long, value_name = "FILE.csv")]
    pub contacts: Option<PathBuf>,
    /// Where the audience goes: google, meta, dsp or liveramp.
    #[arg(long, short = 'd', value_parser = parse_destination)]
    pub destination: Destination,
    /// Output directory (default: exports/NAME/DEST/ in the store, or ./exports/NAME/DEST/
    /// when there is no store).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Refuse an audience with fewer exportable contacts than this (nothing is written).
    #[arg(long, default_value_t = DEFAULT_MIN_SIZE)]
    pub min_size: u64,
    /// DSP rows expire this many days after the export.
    #[arg(long, default_value_t = DEFAULT_TTL_DAYS)]
    pub ttl_days: u32,
    /// Country (ISO alpha-2) of national phone numbers and postcodes in rows without a country.
    #[arg(long, value_name = "CC")]
    pub default_country: Option<String>,
    /// The audience name (default: the segment, or the contact file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// State that every contact on a list without a consent column gave ad consent.
    #[arg(long)]
    pub assume_consent: bool,
}

fn parse_destination(s: &str) -> Result<Destination, String> {
    Destination::parse(s).map_err(|e| e.to_string())
}

/// An audience name is also a directory name: letters, digits, `_`, `-`, `.`; not `.`-first.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        bail!(
            "audience name `{name}` is not usable as a directory name; use letters, digits, _, - \
             and . (not first), at most 128 characters: pass --name NAME"
        );
    }
    Ok(())
}

pub fn run(a: ExportArgs, g: &Global) -> Result<()> {
    let dest = a.destination;
    match (&a.segment, &a.contacts) {
        (Some(_), Some(_)) => {
            bail!("give either a SEGMENT or --contacts FILE.csv, not both")
        }
        (None, None) => bail!(
            "nothing to export: give a SEGMENT of the store, or onboard a contact list with \
             --contacts FILE.csv"
        ),
        (Some(segment), None) => {
            let segment = segment.clone();
            return run_segment(&segment, a, g);
        }
        (None, Some(_)) => {}
    }
    let file = a.contacts.expect("checked above");
    let name = match &a.name {
        Some(n) => n.clone(),
        None => file
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .map(|f| f.split('.').next().unwrap_or_default().to_string())
            .unwrap_or_default(),
    };
    let out = match a.out {
        Some(o) => o,
        None => {
            // The name becomes a directory only when --out is not given.
            check_name(&name)?;
            match Store::open(&g.store) {
                Ok(store) => store.path("exports").join(&name).join(dest.name()),
                Err(_) => PathBuf::from("exports").join(&name).join(dest.name()),
            }
        }
    };
    let list = ContactList::open(&file, a.assume_consent)?;
    let mut opts = ExportOptions::new(name, &out);
    opts.min_size = a.min_size;
    opts.ttl_days = a.ttl_days;
    opts.default_country = a.default_country;
    opts.consent_rule = list.consent().rule();
    let t0 = Instant::now();
    let pb = spinner(g.quiet);
    let list = list.enumerate().map(|(i, r)| {
        if i % 65_536 == 0 {
            pb.set_position(i as u64);
        }
        r
    });
    let result = try_export_contacts(list, dest, &opts);
    pb.finish_and_clear();
    report(&result?, &out, t0.elapsed().as_secs_f64(), g);
    Ok(())
}

/// A counter of contacts read, drawn on a terminal only (the total is unknown while streaming).
fn spinner(quiet: bool) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{spinner} {pos} contacts read ({elapsed})")
            .expect("valid template"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

fn report(m: &ExportManifest, out: &std::path::Path, secs: f64, g: &Global) {
    let f = &m.files[0];
    println!(
        "exported {} of {} contacts to {} ({} rows) in {:.2} s ({:.0} contacts/s)",
        m.records_exported,
        m.records_read,
        out.join(&f.name).display(),
        f.rows,
        secs,
        m.records_read as f64 / secs.max(1e-9)
    );
    let list = |map: &std::collections::BTreeMap<String, u64>| {
        map.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>()
    };
    println!("  identifiers: {}", list(&m.identifiers).join(", "));
    let excluded = list(&m.excluded);
    if !excluded.is_empty() {
        println!("  excluded: {}", excluded.join(", "));
    }
    let dropped = list(&m.dropped_values);
    if !dropped.is_empty() {
        g.note(format!("  invalid values dropped (never sent raw): {}", dropped.join(", ")));
    }
    println!("  manifest: {}", out.join(MANIFEST).display());
}

/// Exports a store segment from the contact table that `resolve` stored.
fn run_segment(segment: &str, a: ExportArgs, g: &Global) -> Result<()> {
    if a.assume_consent {
        bail!(
            "--assume-consent is for contact lists only; a segment's consent comes from the trait \
             consent.ads"
        );
    }
    if a.default_country.is_some() {
        bail!(
            "--default-country is for contact lists only; a segment's phones were normalised at \
             resolve time (pass it to `audience resolve`)"
        );
    }
    let store = g.open_store()?;
    let name = a.name.clone().unwrap_or_else(|| segment.to_string());
    let out = match a.out {
        Some(o) => o,
        None => {
            check_name(&name)?;
            store.path("exports").join(&name).join(a.destination.name())
        }
    };
    let mut opts = ExportOptions::new(name, &out);
    opts.min_size = a.min_size;
    opts.ttl_days = a.ttl_days;
    opts.consent_rule = STORE_CONSENT_RULE.into();
    let t0 = Instant::now();
    let m = export_segment(&store, segment, a.destination, &opts)?;
    report(&m, &out, t0.elapsed().as_secs_f64(), g);
    Ok(())
}
