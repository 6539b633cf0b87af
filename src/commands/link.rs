//! `audience link LEFT [RIGHT] --id COL [--threshold P] [--out pairs.csv]
//! [--clusters clusters.csv] [--explain] [--compare COL:KIND ...] [--block RULE ...]
//! [--config FILE.toml]`: probabilistic record linkage of one file (dedupe) or two (link).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use audience::link::{self, Linkage, OneToOne, Records, Settings, SettingsFile};
use audience::normalize::parse_default_country;
use audience::table::read_text_table;

use super::Global;

#[derive(clap::Args)]
pub struct LinkArgs {
    /// The file to deduplicate, or the left file to link (.csv, .tsv, optionally .gz, or
    /// .parquet; CSV in UTF-8, or Latin-1 read as Windows-1252 with a note).
    pub left: PathBuf,
    /// The right file to link the left one to; omit to deduplicate LEFT.
    pub right: Option<PathBuf>,
    /// The id column (in both files), or `LEFT_ID,RIGHT_ID` when the two files name it
    /// differently.
    #[arg(long)]
    pub id: String,
    /// Accept pairs whose match probability is at least this [default: 0.5].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Write the accepted pairs here (left_id,right_id,probability).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write each record's cluster here (id,cluster).
    #[arg(long)]
    pub clusters: Option<PathBuf>,
    /// Print the configuration, the trained m and u, the weights and the blocking recall.
    #[arg(long)]
    pub explain: bool,
    /// Compare column COL as KIND (exact, name, text, code, date, number, ignore); repeatable.
    #[arg(long, value_name = "COL:KIND")]
    pub compare: Vec<String>,
    /// A blocking rule such as `surname & soundex(given_name)`; repeatable; replaces the
    /// automatic rules.
    #[arg(long, value_name = "RULE")]
    pub block: Vec<String>,
    /// Each record matched at most once when linking two files: auto, on, off [default: auto].
    #[arg(long)]
    pub one_to_one: Option<String>,
    /// Largest cluster; merges beyond it are refused with a warning [default: 1000].
    #[arg(long)]
    pub cluster_cap: Option<usize>,
    /// Seed of the random pairs that estimate u [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// The country of national phone numbers whose record names none (an ISO code such as FR)
    /// [default: the commonest country of the column's international numbers].
    #[arg(long)]
    pub default_country: Option<String>,
    /// Settings file (TOML): threshold, seed, one_to_one, cluster_cap, term_frequency,
    /// default_country, blocking, [compare]. Flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Turns the flags and the settings file into validated settings.
fn settings(a: &LinkArgs) -> Result<Settings> {
    let mut s = Settings::default();
    if let Some(path) = &a.config {
        SettingsFile::read(path)?.apply(path, &mut s)?;
    }
    if let Some(t) = a.threshold {
        s.threshold = t;
    }
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let Some(c) = a.cluster_cap {
        s.cluster_cap = c;
    }
    if let Some(c) = &a.default_country {
        s.default_country = Some(parse_default_country(c, "--default-country")?);
    }
    if let Some(o) = &a.one_to_one {
        s.one_to_one = OneToOne::parse(o)
            .with_context(|| format!("--one-to-one `{o}`: write auto, on or off"))?;
    }
    for c in &a.compare {
        let Some((col, kind)) = c.rsplit_once(':') else {
            bail!("--compare `{c}`: write COL:KIND, e.g. `surname:name`");
        };
        s.compare.push((col.trim().to_string(), link::parse_kind(kind)?));
    }
    if !a.block.is_empty() {
        s.blocking = a.block.clone();
    }
    s.check()?;
    Ok(s)
}

/// A file's records, and the note of how it was read (if any).
fn read(path: &Path, id: &str, two_files: bool) -> Result<(Records, Option<String>)> {
    let (table, note) = read_text_table(path)?;
    if let (true, Err(e)) = (two_files, table.column(id)) {
        bail!(
            "{e}; when the two files name their id column differently, give both: --id \
             LEFT_ID,RIGHT_ID"
        );
    }
    Ok((Records::from_table(&table, id)?, note))
}

/// A CSV field, quoted when it needs to be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn run(a: LinkArgs, g: &Global) -> Result<()> {
    let start = Instant::now();
    let settings = settings(&a)?;
    let (left_id, right_id) = match a.id.split_once(',') {
        Some((l, r)) if a.right.is_some() => (l.trim(), r.trim()),
        _ => (a.id.as_str(), a.id.as_str()),
    };
    let two = a.right.is_some();
    // The two files at once.
    let (left, right) = rayon::join(
        || read(&a.left, left_id, two),
        || a.right.as_deref().map(|p| read(p, right_id, two)).transpose(),
    );
    let ((mut left, left_note), right) = (left?, right?);
    let (mut right, right_note) = right.map_or((None, None), |(r, n)| (Some(r), n));
    for n in left_note.iter().chain(&right_note) {
        g.note(n);
    }
    // Files as users write them made comparable: numbers, dates, postcodes, hashed identifiers.
    let paired = link::reconcile(&mut left, right.as_mut());
    let read_secs = start.elapsed().as_secs_f64();
    let r = link::link(&left, right.as_ref(), &settings)?;
    for n in paired.iter().chain(&r.notes) {
        g.note(n);
    }
    let right_ids = right.as_ref().map_or(&left.ids, |r| &r.ids);
    if let Some(out) = &a.out {
        audience::store::write_atomic(out, |w| {
            let io = |e| audience::Error::io(out, e);
            writeln!(w, "left_id,right_id,probability").map_err(io)?;
            for &(i, j, p) in &r.pairs {
                writeln!(w, "{},{},{:.6}", field(&left.ids[i]), field(&right_ids[j]), p)
                    .map_err(io)?;
            }
            Ok(())
        })?;
    }
    if let Some(out) = &a.clusters {
        write_clusters(out, &left, right.as_ref(), &r)?;
    }
    if a.explain {
        explain(&r);
    }
    let clusters = cluster_count(&r.clusters);
    let secs = start.elapsed().as_secs_f64();
    let t = &r.timings;
    let what = if r.link { "linked" } else { "deduplicated" };
    println!(
        "{what} {} + {} records: {} pairs accepted (p >= {}){}, {} clusters of 2+ records; \
         {} pairs compared, blocking recall estimate {}",
        left.len(),
        right.as_ref().map_or(0, Records::len),
        r.pairs.len(),
        settings.threshold,
        if r.one_to_one { ", one-to-one" } else { "" },
        clusters,
        r.blocked_pairs,
        r.recall.map_or("n/a".to_string(), |x| format!("{x:.4}")),
    );
    println!(
        "time {secs:.3} s: read {read_secs:.3}, prepare {:.3}, block {:.3}, compare {:.3}, \
         train {:.3}, score {:.3}",
        t.prepare, t.block, t.compare, t.train, t.score
    );
    Ok(())
}

/// Clusters with two records or more.
fn cluster_count(labels: &[usize]) -> usize {
    let mut sizes = std::collections::HashMap::new();
    for &l in labels {
        *sizes.entry(l).or_insert(0usize) += 1;
    }
    sizes.values().filter(|&&s| s > 1).count()
}

/// `id,cluster`, every record; when linking, an id present in both files is written as
/// `left:ID` / `right:ID`.
fn write_clusters(out: &Path, left: &Records, right: Option<&Records>, r: &Linkage) -> Result<()> {
    let shared: std::collections::HashSet<&str> = match right {
        Some(rr) => {
            let l: std::collections::HashSet<&str> = left.ids.iter().map(String::as_str).collect();
            rr.ids.iter().map(String::as_str).filter(|id| l.contains(id)).collect()
        }
        None => Default::default(),
    };
    let mut rows: Vec<String> = Vec::with_capacity(r.clusters.len());
    for (i, id) in left.ids.iter().enumerate() {
        let name = if shared.contains(id.as_str()) { format!("left:{id}") } else { id.clone() };
        rows.push(format!("{},{}", field(&name), r.clusters[i]));
    }
    if let Some(rr) = right {
        for (j, id) in rr.ids.iter().enumerate() {
            let name =
                if shared.contains(id.as_str()) { format!("right:{id}") } else { id.clone() };
            rows.push(format!("{},{}", field(&name), r.clusters[left.len() + j]));
        }
    }
    audience::store::write_atomic(out, |w| {
        let io = |e| audience::Error::io(out, e);
        writeln!(w, "id,cluster").map_err(io)?;
        for row in &rows {
            writeln!(w, "{row}").map_err(io)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn explain(r: &Linkage) {
    println!("comparisons (kind chosen from the column's name and values):");
    for f in &r.fields {
        println!("  {:<20} {:<7} {}", f.name, f.kind.as_str(), f.reason);
    }
    // Rules as wide as the longest, at least 40 characters (the rules' list is 2 wider, where
    // the candidates' list has its `+` mark).
    let width = r
        .candidates
        .iter()
        .map(|c| c.rule.to_string().len())
        .chain(r.rules.iter().map(|x| x.rule.len()))
        .max()
        .unwrap_or(0)
        .max(40);
    if !r.candidates.is_empty() {
        println!("blocking candidates (pairs kept / pairs in oversized groups):");
        for c in &r.candidates {
            println!(
                "  {} {:<width$} {:>10} / {}",
                if c.chosen { "+" } else { " " },
                c.rule.to_string(),
                c.pairs,
                c.skipped
            );
        }
    }
    println!(
        "blocking rules (pairs proposed, oversized groups skipped, recall on confident pairs):"
    );
    for rule in &r.rules {
        println!(
            "  {:<w$} {:>10} {:>5} {:>8.4}",
            rule.rule,
            rule.pairs,
            rule.skipped_groups,
            rule.recall,
            w = width + 2
        );
    }
    println!(
        "blocking: {} pairs compared; estimated recall {} (from {} pairs with p >= {}, assuming \
         the rules miss independently)",
        r.blocked_pairs,
        r.recall.map_or("n/a".to_string(), |x| format!("{x:.4}")),
        r.recall_base,
        link::RECALL_BASE_PROBABILITY
    );
    println!(
        "model: prior P(match) = {:.3e} ({:.0} expected matches), {} EM iterations",
        r.model.lambda,
        r.model.lambda * r.total_pairs,
        r.model.iterations
    );
    // The level column as wide as its longest name, so that the figures line up.
    let w = r.model.fields.iter().flat_map(|f| f.kind.level_names()).map(|n| n.len()).max();
    let w = w.unwrap_or(0).max(5);
    println!("  {:<20} {:<w$} {:>9} {:>9} {:>8}", "field", "level", "m", "u", "weight");
    for f in &r.model.fields {
        for (l, name) in f.kind.level_names().iter().enumerate().skip(1) {
            println!(
                "  {:<20} {:<w$} {:>9.5} {:>9.6} {:>8.2}",
                f.name,
                name,
                f.m[l],
                f.u[l],
                f.weight(l as u8) / std::f64::consts::LN_2
            );
        }
        if f.tf {
            println!("  {:<20} {:<w$} (exact matches adjusted by term frequency)", f.name, "");
        }
    }
    println!(
        "  (weight = log2(m/u); missing values are neutral; `different` counts at most 0 where u \
         < {})",
        link::fellegi_sunter::RARE_DIFFERENCE
    );
    println!(
        "accepted: {} pairs at or above the threshold, {} kept{}",
        r.above_threshold,
        r.pairs.len(),
        if r.one_to_one { " after one-to-one assignment" } else { "" }
    );
}
