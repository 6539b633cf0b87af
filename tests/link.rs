//! `audience link` end to end: accuracy on the FEBRL sets (skipped when ../shared/data is
//! absent) and on a generated person file with swapped names, outputs, and bad input.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{fails, ok, run, shared_data};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// Pairs of a two-column CSV with a header; unordered when `dedupe`.
fn pairs(path: &Path, dedupe: bool) -> HashSet<(String, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',').map(|s| s.trim().to_string());
            let (a, b) = (it.next().unwrap(), it.next().unwrap());
            if dedupe && b < a {
                (b, a)
            } else {
                (a, b)
            }
        })
        .collect()
}

/// F1 of the pairs written by `audience link` against the true links.
fn f1(args: &[&str], truth: &Path, dedupe: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pairs.csv");
    let mut all: Vec<&str> = vec!["link"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--id", "rec_id", "--out", out.to_str().unwrap()]);
    ok(dir.path(), &all);
    let found = pairs(&out, dedupe);
    let truth = pairs(truth, dedupe);
    let tp = found.intersection(&truth).count() as f64;
    let (p, r) = (tp / found.len() as f64, tp / truth.len() as f64);
    let f1 = 2.0 * p * r / (p + r);
    eprintln!("precision {p:.4} recall {r:.4} F1 {f1:.4} ({} found)", found.len());
    f1
}

/// FEBRL4's two files and its true links, when `../shared/data` has them.
fn febrl4() -> Option<(PathBuf, PathBuf, PathBuf)> {
    Some((
        shared_data("febrl4a.csv")?,
        shared_data("febrl4b.csv")?,
        shared_data("febrl4_true_links.csv")?,
    ))
}

#[test]
fn febrl4_link_reaches_f1_0_999() {
    let Some((a, b, t)) = febrl4() else { return };
    let f = f1(&[a.to_str().unwrap(), b.to_str().unwrap()], &t, false);
    assert!(f >= 0.999, "F1 {f}");
}

/// A FEBRL file as a plain CSV of the columns `keep` (or all but `soc_sec_id`, if none), each
/// value present rewritten by `cell` (given its column, the value and the record's row).
fn febrl_csv(src: &Path, keep: &[&str], cell: &dyn Fn(&str, &str, usize) -> String) -> String {
    let text = fs::read_to_string(src).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(", ").collect();
    let kept = |h: &&str| if keep.is_empty() { *h != "soc_sec_id" } else { keep.contains(h) };
    let columns: Vec<usize> = (0..header.len()).filter(|&c| kept(&header[c])).collect();
    let mut out = String::new();
    for (k, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let row: Vec<String> = columns
            .iter()
            .map(|&c| match cells[c] {
                v if k == 0 || v.is_empty() => v.to_string(),
                v => cell(header[c], v, k),
            })
            .collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// A FEBRL file without its `soc_sec_id`, each date of birth (`19651013`) rewritten by `date`
/// (which gets the year, month and day as written).
fn febrl_without_ssn(src: &Path, date: &dyn Fn(&str, &str, &str) -> String) -> String {
    febrl_csv(src, &[], &|column, v, _| match column {
        "date_of_birth" if v.len() == 8 => date(&v[..4], &v[4..6], &v[6..]),
        _ => v.to_string(),
    })
}

#[test]
fn dates_with_two_digit_years_meet_dates_written_in_full() {
    // FEBRL4 without the social security number, which alone links most pairs: the birth date
    // carries the link. B writes it as an Oracle export does (`13-OCT-65`), or `13/10/65`.
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let months =
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    let oracle = |y: &str, m: &str, d: &str| match m.parse::<usize>() {
        Ok(m @ 1..=12) => format!("{d}-{}-{}", months[m - 1], &y[2..]),
        _ => format!("{y}{m}{d}"),
    };
    let slashes = |y: &str, m: &str, d: &str| format!("{d}/{m}/{}", &y[2..]);
    let fa = write(dir.path(), "a.csv", &febrl_without_ssn(&a, &|y, m, d| format!("{y}{m}{d}")));
    for (name, date) in
        [("oracle.csv", &oracle as &dyn Fn(&str, &str, &str) -> String), ("slashes.csv", &slashes)]
    {
        let fb = write(dir.path(), name, &febrl_without_ssn(&b, date));
        let f = f1(&[&fa, &fb], &t, false);
        assert!(f >= 0.995, "{name}: F1 {f}");
    }
}

#[test]
fn dates_with_french_german_or_spanish_month_names_meet_dates_written_in_digits() {
    // FEBRL4 without `soc_sec_id` again; B writes `13 octobre 1965`, `13. Oktober 1965` or
    // `13 de octubre de 1965`.
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fa = write(dir.path(), "a.csv", &febrl_without_ssn(&a, &|y, m, d| format!("{y}{m}{d}")));
    let french = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"];
    let french = [&french[..], &["septembre", "octobre", "novembre", "décembre"]].concat();
    let german = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"];
    let german = [&german[..], &["September", "Oktober", "November", "Dezember"]].concat();
    let spanish = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto"];
    let spanish = [&spanish[..], &["septiembre", "octubre", "noviembre", "diciembre"]].concat();
    for (names, pattern) in
        [(&french, "{d} {m} {y}"), (&german, "{d}. {m} {y}"), (&spanish, "{d} de {m} de {y}")]
    {
        let date = |y: &str, m: &str, d: &str| match m.parse::<usize>() {
            Ok(m @ 1..=12) => {
                pattern.replace("{d}", d).replace("{m}", names[m - 1]).replace("{y}", y)
            }
            _ => format!("{y}{m}{d}"),
        };
        let fb = write(dir.path(), "b.csv", &febrl_without_ssn(&b, &date));
        let f = f1(&[&fa, &fb], &t, false);
        assert!(f >= 0.998, "{pattern}: F1 {f}");
    }
}

/// A bank's payments (`id, transaction_date, amount, memo`, dates of 2019 to 2023 written
/// `YYYY-MM-DD`) and a ledger's record of nine in ten of them, a day or two later at times,
/// memos cut, a third of the amounts changed a little, dates written by `date` (given the year,
/// month and day). Returns the
/// two files and the true pairs.
fn payments(
    seed: u64,
    date: &dyn Fn(i32, u32, u32) -> String,
) -> (String, String, HashSet<(String, String)>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let shops = ["tesco", "argos", "boots", "costa", "greggs", "shell", "uber", "lidl", "aldi"];
    let what = ["fuel", "coffee", "books", "taxi", "rent", "music", "pharmacy", "groceries"];
    let (mut bank, mut ledger) = (
        String::from("id,transaction_date,amount,memo\n"),
        String::from("id,transaction_date,amount,memo\n"),
    );
    let mut truth = HashSet::new();
    for k in 0..3000 {
        // Days since 2019-01-01, within five years of 360 days (months of 30, days up to 28).
        let day = rng.gen_range(0..1800u32);
        let (y, m, d) = (2019 + (day / 360) as i32, 1 + day % 360 / 30, 1 + day % 30 % 28);
        let amount = rng.gen_range(100..5_000) as f64 / 100.0;
        let memo = format!(
            "{} {}",
            shops[rng.gen_range(0..shops.len())],
            what[rng.gen_range(0..what.len())]
        );
        bank.push_str(&format!("b{k},{y}-{m:02}-{d:02},{amount:.2},{memo}\n"));
        if rng.gen_bool(0.9) {
            let d2 = (d + rng.gen_range(0..3)).min(28);
            let memo = if rng.gen_bool(0.3) { memo[..memo.len() - 2].to_string() } else { memo };
            // A third of the amounts changed by up to 3 % (fees, exchange rates).
            let amount =
                if rng.gen_bool(0.3) { amount * rng.gen_range(0.97..1.03) } else { amount };
            ledger.push_str(&format!("l{k},{},{amount:.2},{memo}\n", date(y, m, d2)));
            truth.insert((format!("b{k}"), format!("l{k}")));
        }
    }
    (bank, ledger, truth)
}

/// Recall against `truth` of `audience link FILES --id id` (one file: deduplicated), after
/// checking that fewer than one in a hundred of the pairs it finds are false.
fn recall_of(dir: &Path, files: &[&str], truth: &HashSet<(String, String)>) -> f64 {
    let out = dir.join("pairs.csv");
    let mut args = vec!["link"];
    args.extend_from_slice(files);
    args.extend(["--id", "id", "--out", out.to_str().unwrap()]);
    ok(dir, &args);
    let found = pairs(&out, files.len() == 1);
    assert!(found.is_subset(truth) || found.difference(truth).count() * 100 < found.len());
    found.intersection(truth).count() as f64 / truth.len() as f64
}

#[test]
fn recent_dates_with_two_digit_years_are_read_by_the_other_files_dates() {
    // `05/03/21` could be 2021-03-05 or 2005-03-21: no part goes over 31. The bank's dates tell.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let recall = |name: &str, date: &dyn Fn(i32, u32, u32) -> String| {
        let (bank, ledger, truth) = payments(3, date);
        let (fb, fl) = (write(d, "bank.csv", &bank), write(d, name, &ledger));
        recall_of(d, &[&fb, &fl], &truth)
    };
    let iso = recall("iso.csv", &|y, m, d| format!("{y}-{m:02}-{d:02}"));
    let day_first = recall("yy.csv", &|y, m, d| format!("{d:02}/{m:02}/{:02}", y % 100));
    let year_first = recall("yyf.csv", &|y, m, d| format!("{:02}-{m:02}-{d:02}", y % 100));
    eprintln!("recall: ISO {iso:.4}, day first {day_first:.4}, year first {year_first:.4}");
    assert!(day_first >= iso - 0.01 && year_first >= iso - 0.01);
}

#[test]
fn dates_written_as_unix_times_or_serial_days_meet_dates_written_as_text() {
    // An event log writes `1568289600`, a spreadsheet saved to CSV `43720`.
    use audience::store::days_from_civil;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Linked to the bank's file, or put in one file with it (`one`) and deduplicated.
    let recall = |name: &str, date: &dyn Fn(i32, u32, u32) -> String, one: bool| {
        let (bank, ledger, truth) = payments(5, date);
        if one {
            let both = bank + ledger.split_once('\n').unwrap().1;
            recall_of(d, &[&write(d, name, &both)], &truth)
        } else {
            let (fb, fl) = (write(d, "bank.csv", &bank), write(d, name, &ledger));
            recall_of(d, &[&fb, &fl], &truth)
        }
    };
    let days = |y: i32, m: u32, d: u32| days_from_civil(i64::from(y), m, d);
    let iso = |y, m, d| format!("{y}-{m:02}-{d:02}");
    let unix = |y, m, d| (days(y, m, d) * 86_400 + 43_200).to_string();
    let serial = |y, m, d| (days(y, m, d) + 25_569).to_string();
    let [i, u, s] = [&iso as &dyn Fn(i32, u32, u32) -> String, &unix, &serial]
        .map(|date| recall("ledger.csv", date, false));
    eprintln!("recall: ISO {i:.4}, Unix seconds {u:.4}, serial days {s:.4}");
    assert!(u >= i - 0.005 && s >= i - 0.005);
    // One file, the bank's dates as text and the ledger's as Unix times.
    let (i, u) = (recall("both.csv", &iso, true), recall("both.csv", &unix, true));
    eprintln!("one file: ISO {i:.4}, half of them Unix seconds {u:.4}");
    assert!(u >= i - 0.005);
}

#[test]
fn birth_dates_written_as_unix_times_before_1970_or_at_a_local_midnight_meet_dates() {
    // FEBRL4 without `soc_sec_id`; B's birth dates as a JavaScript or document-store export
    // writes them: Unix times, negative before 1970, in seconds at midnight UTC or in
    // milliseconds at Sydney's midnight (14:00 UTC the day before, 13:00 in summer).
    use audience::store::days_from_civil;
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fa = write(dir.path(), "a.csv", &febrl_without_ssn(&a, &|y, m, d| format!("{y}{m}{d}")));
    let unix = |y: &str, m: &str, d: &str, sydney: bool| {
        let (Ok(y), Ok(m @ 1..=12), Ok(d @ 1..=31)) = (y.parse(), m.parse(), d.parse()) else {
            return format!("{y}{m}{d}");
        };
        let midnight = days_from_civil(y, m, d) * 86_400;
        match sydney {
            false => midnight.to_string(),
            true => {
                let offset = if (4..=9).contains(&m) { 10 } else { 11 };
                ((midnight - offset * 3600) * 1000).to_string()
            }
        }
    };
    for (name, sydney) in [("utc.csv", false), ("sydney.csv", true)] {
        let fb = write(dir.path(), name, &febrl_without_ssn(&b, &|y, m, d| unix(y, m, d, sydney)));
        let f = f1(&[&fa, &fb], &t, false);
        assert!(f >= 0.998, "{name}: F1 {f}");
    }
}

#[test]
fn emails_hashed_by_a_partner_meet_plain_emails() {
    // FEBRL4 cut to names, postcode and an email (made from the social security number, typos
    // and all); B is a partner's file with the email as a SHA-256 digest of the trimmed,
    // lowercased address, written in upper case, under another name.
    use audience::normalize::sha256_hex;
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let keep = ["rec_id", "given_name", "surname", "postcode", "soc_sec_id"];
    let file = |src: &Path, name: &str, header: &str, email: &dyn Fn(String) -> String| {
        let text = febrl_csv(src, &keep, &|column, v, _| match column {
            "soc_sec_id" => email(format!(" User{v}@Example.com")),
            _ => v.to_string(),
        });
        write(dir.path(), name, &text.replacen("soc_sec_id", header, 1))
    };
    let plain = |e: String| e;
    let digest = |e: String| sha256_hex(&e.trim().to_lowercase()).to_uppercase();
    let (fa, fb) = (file(&a, "a.csv", "email", &plain), file(&b, "b.csv", "email", &plain));
    let f_plain = f1(&[&fa, &fb], &t, false);
    let f_hashed = f1(&[&fa, &file(&b, "partner.csv", "email_sha256", &digest)], &t, false);
    let no_email = |_: String| String::new();
    let f_none = f1(&[&fa, &file(&b, "none.csv", "email", &no_email)], &t, false);
    assert!(f_hashed >= f_plain - 0.001, "hashed {f_hashed}, plain {f_plain}");
    assert!(f_hashed > f_none + 0.01, "hashed {f_hashed}, without emails {f_none}");

    // The two put in one file and deduplicated: one `email` column, plain and hashed.
    let one = |b_file: String, name: &str| {
        let (a, b) = (fs::read_to_string(&fa).unwrap(), fs::read_to_string(b_file).unwrap());
        write(dir.path(), name, &(a + b.split_once('\n').unwrap().1))
    };
    let d_plain = f1(&[&one(fb, "one.csv")], &t, true);
    let mixed = one(file(&b, "b_hashed.csv", "email", &digest), "one_mixed.csv");
    let d_mixed = f1(&[&mixed], &t, true);
    assert!(d_mixed >= d_plain - 0.001, "one file: mixed {d_mixed}, plain {d_plain}");
}

/// A FEBRL file cut to its names and postcode, each postcode rewritten by `zip` (which gets
/// it and the record's row).
fn febrl_names_and_zip(src: &Path, zip: &dyn Fn(&str, usize) -> String) -> String {
    let keep = ["rec_id", "given_name", "surname", "postcode"];
    febrl_csv(src, &keep, &|column, v, k| match column {
        "postcode" => zip(v, k),
        _ => v.to_string(),
    })
}

#[test]
fn zip_plus_four_meets_zip() {
    // Names and a US postcode only: one file writes ZIP+4 (`13212-0042`), the other the ZIP.
    // Four edits apart, the two never agreed, and the postcode carries much of this link.
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zip = |p: &str, _: usize| format!("1{p:0>4}");
    let fa = write(d, "a.csv", &febrl_names_and_zip(&a, &zip));
    let plain = write(d, "b.csv", &febrl_names_and_zip(&b, &zip));
    let plus = |p: &str, k: usize| format!("1{p:0>4}-{:04}", k * 7919 % 10_000);
    let plus = write(d, "b4.csv", &febrl_names_and_zip(&b, &plus));
    let zip_only = f1(&[&fa, &plain], &t, false);
    let zip_plus_four = f1(&[&fa, &plus], &t, false);
    assert!(zip_plus_four >= zip_only - 0.002, "{zip_plus_four} against {zip_only}");
}

#[test]
fn amounts_written_with_a_decimal_comma_meet_amounts_written_with_a_point() {
    // A European ledger export: `;` between the fields and `18,32` for 18.32. Read as a
    // thousands comma, 18,32 would be 1832 and no amount would agree.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bank, ledger, truth) = payments(4, &|y, m, d| format!("{y}-{m:02}-{d:02}"));
    // The ledger's lines with the amount rewritten and the fields joined by `sep`.
    let relined = |amount: &dyn Fn(&str) -> String, sep: &str| -> String {
        let line = |l: &str| {
            let mut f: Vec<String> = l.split(',').map(String::from).collect();
            f[2] = amount(&f[2]);
            f.join(sep) + "\n"
        };
        ledger.lines().skip(1).map(line).collect()
    };
    let header = ledger.lines().next().unwrap();
    let european = header.replace(',', ";") + "\n" + &relined(&|a| a.replace('.', ","), ";");
    let fb = write(d, "bank.csv", &bank);
    let with_bank = |name: &str, text: &str| recall_of(d, &[&fb, &write(d, name, text)], &truth);
    let (point, comma) = (with_bank("ledger.csv", &ledger), with_bank("ledger_eu.csv", &european));
    // The two exports put in one file and deduplicated: each amount read as it is written.
    let alone = |name: &str, text: &str| recall_of(d, &[&write(d, name, text)], &truth);
    let quoted = |a: &str| format!("\"{}\"", a.replace('.', ","));
    let one = alone("both.csv", &(bank.clone() + &relined(&|a| a.to_string(), ",")));
    let mixed = alone("both_eu.csv", &(bank.clone() + &relined(&quoted, ",")));
    eprintln!("recall: points {point:.4}, commas {comma:.4}; one file {one:.4}, mixed {mixed:.4}");
    assert!(comma >= point - 0.005, "{comma} against {point}");
    assert!(mixed >= one - 0.005, "{mixed} against {one}");
}

#[test]
fn febrl1_dedupe_beats_splink() {
    let (Some(a), Some(t)) = (shared_data("febrl1.csv"), shared_data("febrl1_true_links.csv"))
    else {
        return;
    };
    let f = f1(&[a.to_str().unwrap()], &t, true);
    assert!(f >= 0.995, "F1 {f}");
}

#[test]
fn febrl2_dedupe_beats_splink() {
    let (Some(a), Some(t)) = (shared_data("febrl2.csv"), shared_data("febrl2_true_links.csv"))
    else {
        return;
    };
    let f = f1(&[a.to_str().unwrap()], &t, true);
    assert!(f >= 0.9935, "F1 {f}");
}

const PEOPLE: &str = "id, first_name, surname, dob, city\n\
a1, john, smith, 1980-01-02, leeds\n\
a2, jon, smith, 1980-01-02, leeds\n\
b1, mary, jones, 1975-05-06, york\n\
b2, mary, jones, 1975-06-05, york\n\
c1, alice, adams, 1941-02-03, hull\n\
c2, bruno, baker, 1952-03-04, bath\n\
c3, carla, clark, 1963-04-05, ely\n\
c4, dmitri, dixon, 1974-05-06, wells\n\
c5, eve, evans, 1985-06-07, derby\n\
c6, farid, fisher, 1996-07-08, truro\n\
c7, gina, grant, 1947-08-09, ripon\n\
c8, hugo, hayes, 1958-09-10, perth\n";

#[test]
fn dedupe_writes_pairs_clusters_and_explains() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.csv", PEOPLE);
    let out = dir.path().join("pairs.csv");
    let cl = dir.path().join("clusters.csv");
    let text = ok(
        dir.path(),
        &[
            "link",
            &f,
            "--id",
            "id",
            "--out",
            out.to_str().unwrap(),
            "--clusters",
            cl.to_str().unwrap(),
            "--explain",
        ],
    );
    assert!(text.contains("estimated recall") && text.contains("first_name"), "{text}");
    let p = fs::read_to_string(&out).unwrap();
    assert!(p.starts_with("left_id,right_id,probability\n"), "{p}");
    assert!(p.contains("\na1,a2,") && p.contains("\nb1,b2,"), "{p}");
    let c = fs::read_to_string(&cl).unwrap();
    assert!(c.starts_with("id,cluster\na1,0\na2,0\nb1,1\nb2,1\nc1,2\n"), "{c}");
    // The same input and seed give byte-identical output.
    let out2 = dir.path().join("pairs2.csv");
    ok(dir.path(), &["link", &f, "--id", "id", "--out", out2.to_str().unwrap()]);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&out2).unwrap());
}

#[test]
fn a_latin_1_file_is_linked_like_its_utf8_copy_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let utf8 = PEOPLE.replace("john", "jos\u{e9}").replace("jon, smith", "jose, smith");
    let utf8 = utf8.replace("york", "k\u{f6}ln");
    let f = write(d, "utf8.csv", &utf8);
    let latin1: Vec<u8> = utf8.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
    let l = d.join("latin1.csv");
    fs::write(&l, latin1).unwrap();
    let (a, b) = (d.join("a.csv"), d.join("b.csv"));
    ok(d, &["link", &f, "--id", "id", "--out", a.to_str().unwrap()]);
    let out = run(d, &["link", l.to_str().unwrap(), "--id", "id", "--out", b.to_str().unwrap()]);
    assert!(out.status.success());
    let note = String::from_utf8(out.stderr).unwrap();
    assert!(note.contains("latin1.csv: not UTF-8; 3 bytes read as Windows-1252"), "{note}");
    assert!(note.contains("line 2, column `first_name`"), "{note}");
    assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    assert!(pairs(&b, true).contains(&("a1".to_string(), "a2".to_string())));
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "p.csv", PEOPLE);
    let e = fails(d, &["link", &f, "--id", "idd"]);
    assert!(e.contains("no column `idd`") && e.contains("did you mean `id`"), "{e}");
    let dup = write(d, "dup.csv", "id,name\n1,ann\n2,bob\n1,cy\n");
    let e = fails(d, &["link", &dup, "--id", "id"]);
    assert!(e.contains("`1` appears twice") && e.contains("row 3 (line 4)"), "{e}");
    // Every empty column is named at once, with the flags that get past them.
    let empty = write(d, "e.csv", "id,name,notes,memo\n1,ann,,\n2,bob,,\n");
    let e = fails(d, &["link", &empty, "--id", "id"]);
    assert!(e.contains("empty on every record: `notes`, `memo`"), "{e}");
    assert!(e.contains("--compare notes:ignore --compare memo:ignore"), "{e}");
    let e = fails(d, &["link", &d.join("absent.csv").to_string_lossy(), "--id", "id"]);
    assert!(e.contains("absent.csv"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--compare", "surname:fuzzy"]);
    assert!(e.contains("unknown comparison kind `fuzzy`"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--compare", "surnam:name"]);
    assert!(e.contains("no column `surnam`"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--threshold", "1.5"]);
    assert!(e.contains("threshold 1.5"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--block", "soundex(city"]);
    assert!(e.contains("lacks its `)`"), "{e}");
    let e = fails(d, &["link", &f, "--id", "id", "--default-country", "Atlantis"]);
    assert!(e.contains("--default-country `Atlantis` is not an ISO 3166 country"), "{e}");
    let atlantis = write(d, "atlantis.toml", "default_country = \"Atlantis\"\n");
    let e = fails(d, &["link", &f, "--id", "id", "--config", &atlantis]);
    assert!(e.contains("atlantis.toml: default_country `Atlantis` is not an ISO 3166"), "{e}");
}

#[test]
fn config_file_and_flags_override_the_automatic_choice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f = write(d, "p.csv", PEOPLE);
    let cfg = write(
        d,
        "link.toml",
        "threshold = 0.6\nblocking = [\"surname\", \"dob\"]\n[compare]\ncity = \"ignore\"\n",
    );
    let text =
        ok(d, &["link", &f, "--id", "id", "--config", &cfg, "--explain", "--compare", "dob:code"]);
    assert!(!text.contains("  city "), "{text}");
    assert!(text.contains("dob                  code    set by the user"), "{text}");
    assert!(text.contains("(p >= 0.6)"), "{text}");
    let bad = write(d, "bad.toml", "treshold = 0.6\n");
    let e = fails(d, &["link", &f, "--id", "id", "--config", &bad]);
    assert!(e.contains("unknown field `treshold`"), "{e}");
}

/// A person file in the manner of Splink's `fake_1000` demo: people with 1-6 records each,
/// first and last names swapped on a fifth of the records, letters dropped or swapped, birth
/// dates keyed up to 120 days off, missing values, mangled emails; `;`-separated, with 200 copies
/// of one placeholder record. Returns the file's text and the true pairs.
fn swapped_people(seed: u64) -> (String, HashSet<(String, String)>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let first = [
        "julia", "noah", "molly", "amelia", "oliver", "matilda", "aria", "charlie", "olivia",
        "chloe", "millie", "theodore", "elijah", "maya", "isabella", "ethan", "harriet", "jacob",
        "freddie", "esme", "amber", "ryan", "joshua", "florence", "jasper", "gabriel", "lucas",
        "freya", "george", "nancy", "abigail", "tyler", "archie", "isaac", "henry", "oscar",
    ];
    let last = [
        "taylor",
        "watson",
        "bell",
        "connolly",
        "thompson",
        "harris",
        "baxter",
        "wilson",
        "andrews",
        "macdonald",
        "maxwell",
        "cooper",
        "carr",
        "hill",
        "brown",
        "bolton",
        "evans",
        "fisher",
        "davies",
        "smith",
        "turner",
        "bartlett",
        "owen",
        "morris",
        "robertson",
        "jackson",
        "morgan",
        "sharp",
        "gibson",
        "brooks",
        "potter",
        "spencer",
        "lane",
        "wright",
    ];
    let cities = ["london", "leeds", "bolton", "glasgow", "bristol", "cardiff", "york", "derby"];
    let mangle = |rng: &mut rand_chacha::ChaCha8Rng, s: &str| -> String {
        let mut c: Vec<char> = s.chars().collect();
        if c.len() > 2 {
            let i = rng.gen_range(0..c.len() - 1);
            if rng.gen_bool(0.5) {
                c.remove(i);
            } else {
                c.swap(i, i + 1);
            }
        }
        c.into_iter().collect()
    };
    let mut text = String::from("id;first_name;surname;dob;city;email\n");
    let mut truth = HashSet::new();
    let mut id = 0;
    for person in 0..700 {
        let (f, l) = (first[rng.gen_range(0..first.len())], last[rng.gen_range(0..last.len())]);
        let born = rng.gen_range(0..18_000i64); // days after 1960-01-01
        let city = cities[rng.gen_range(0..cities.len())];
        let email = format!("{f}.{l}{person}@mail.example");
        let mut ids = Vec::new();
        for _ in 0..rng.gen_range(1..=6) {
            let (mut a, mut b) = (f.to_string(), l.to_string());
            if rng.gen_bool(0.2) {
                std::mem::swap(&mut a, &mut b);
            }
            if rng.gen_bool(0.15) {
                a = mangle(&mut rng, &a);
            }
            if rng.gen_bool(0.15) {
                b = mangle(&mut rng, &b);
            }
            let day = born + if rng.gen_bool(0.2) { rng.gen_range(-120..=120) } else { 0 };
            let (y, doy) = (1960 + day / 365, day % 365);
            let dob = format!("{y}-{:02}-{:02}", 1 + doy / 31 % 12, 1 + doy % 28);
            let mut e = email.clone();
            if rng.gen_bool(0.15) {
                e = mangle(&mut rng, &e);
            }
            let blank = |rng: &mut rand_chacha::ChaCha8Rng, v: String| {
                if rng.gen_bool(0.1) {
                    String::new()
                } else {
                    v
                }
            };
            let (a, b) = (blank(&mut rng, a), blank(&mut rng, b));
            let (c, e) = (blank(&mut rng, city.to_string()), blank(&mut rng, e));
            text.push_str(&format!("r{id};{a};{b};{dob};{c};{e}\n"));
            ids.push(format!("r{id}"));
            id += 1;
        }
        for (i, x) in ids.iter().enumerate() {
            for y in &ids[i + 1..] {
                truth.insert(if x < y { (x.clone(), y.clone()) } else { (y.clone(), x.clone()) });
            }
        }
    }
    for k in 0..200 {
        text.push_str(&format!("p{k};test;test;1900-01-01;;test@test.example\n"));
    }
    (text, truth)
}

/// Floors just under the figures measured on `swapped_people(7)`: precision 0.9192, recall
/// 0.9162 (session 5). The code before that session refused the `;` file, and on its `,` copy
/// found 3,492 pairs where it now finds 3,971.
const PRECISION_FLOOR: f64 = 0.90;
const RECALL_FLOOR: f64 = 0.90;

/// Links `text` as a dedupe on the id column `id` and gives precision and recall against
/// `truth` over the pairs whose first record is `real` (placeholder records left out), with what
/// the command printed.
fn link_people(
    text: &str,
    id: &str,
    truth: &HashSet<(String, String)>,
    real: impl Fn(&str) -> bool,
) -> (f64, f64, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "people.csv", text);
    let out = dir.path().join("pairs.csv");
    let done = run(dir.path(), &["link", &f, "--id", id, "--out", out.to_str().unwrap()]);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "{printed}");
    let found: HashSet<(String, String)> =
        pairs(&out, true).into_iter().filter(|(a, _)| real(a)).collect();
    let tp = found.intersection(truth).count() as f64;
    let (p, r) = (tp / found.len() as f64, tp / truth.len() as f64);
    eprintln!("precision {p:.4} recall {r:.4} ({} true pairs)", truth.len());
    (p, r, printed)
}

#[test]
fn swapped_names_and_placeholders_in_a_semicolon_file_are_linked() {
    let (text, truth) = swapped_people(7);
    let (p, r, _) = link_people(&text, "id", &truth, |a| a.starts_with('r'));
    assert!(p >= PRECISION_FLOOR && r >= RECALL_FLOOR, "precision {p:.4} recall {r:.4}");
}

/// A `full_name` column beside `first_name` and `surname` (as Splink's historical_50k has) says
/// nothing new; compared as well, it counted every name agreement twice and precision fell from
/// 0.92 to 0.05 on this file (0.99 to 0.42 on a 20,000-record Splink-like one).
#[test]
fn a_full_name_beside_its_parts_is_not_counted_twice() {
    let (text, truth) = swapped_people(7);
    let mut lines = text.lines();
    let mut with_full = format!("{};full_name\n", lines.next().unwrap());
    for line in lines {
        let v: Vec<&str> = line.split(';').collect();
        with_full.push_str(&format!("{line};{}\n", format!("{} {}", v[1], v[2]).trim()));
    }
    let (p, r, printed) = link_people(&with_full, "id", &truth, |a| a.starts_with('r'));
    assert!(p >= PRECISION_FLOOR && r >= RECALL_FLOOR, "precision {p:.4} recall {r:.4}");
    assert!(printed.contains("column `full_name` repeats"), "{printed}");
}

/// A customer file of households: the members of one share surname, street, postcode, city and
/// country (and differ in first name, birth date and email); a third of the people also have a
/// duplicate account, most with the same email. With `landline`, each household has one phone
/// number on all its records and there is no email. Returns the CSV and the true duplicate
/// pairs.
fn households(seed: u64, landline: bool) -> (String, HashSet<(String, String)>) {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let first = [
        "julia", "noah", "molly", "amelia", "oliver", "matilda", "aria", "charlie", "olivia",
        "chloe", "millie", "theodore", "elijah", "maya", "isabella", "ethan", "harriet", "jacob",
    ];
    let last = ["taylor", "watson", "bell", "connolly", "thompson", "harris", "baxter", "wilson"];
    let streets = ["high street", "station road", "church lane", "park avenue", "mill road"];
    let cities = [("london", "e1"), ("leeds", "ls2"), ("york", "yo1"), ("derby", "de1")];
    let contact = if landline { "phone" } else { "email" };
    let mut text = format!(
        "customer_id,first_name,last_name,birth_date,{contact},street,city,postcode,country\n"
    );
    let mut truth = HashSet::new();
    let mut id = 0;
    for h in 0..400 {
        let surname = last[rng.gen_range(0..last.len())];
        let street = format!("{} {}", rng.gen_range(1..200), streets[rng.gen_range(0..5)]);
        let (city, area) = cities[rng.gen_range(0..cities.len())];
        let postcode = format!("{area} {}", rng.gen_range(1..4));
        let mut names = first.to_vec();
        names.shuffle(&mut rng);
        for (k, name) in names.iter().take(rng.gen_range(1..=4)).enumerate() {
            let born = format!(
                "19{:02}-{:02}-{:02}",
                rng.gen_range(40..99),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            );
            let email = if landline {
                format!("07{:09}", 1000 + h * 7919) // one number per household
            } else {
                format!("{name}.{surname}{h}x{k}@mail.example")
            };
            let accounts = if rng.gen_bool(0.33) { 2 } else { 1 };
            let mut ids = Vec::new();
            for a in 0..accounts {
                let e = if a == 1 && rng.gen_bool(0.2) { String::new() } else { email.clone() };
                let b = if a == 1 && rng.gen_bool(0.2) { String::new() } else { born.clone() };
                text.push_str(&format!(
                    "c{id},{name},{surname},{b},{e},{street},{city},{postcode},gb\n"
                ));
                ids.push(format!("c{id}"));
                id += 1;
            }
            if let [x, y] = &ids[..] {
                truth.insert((x.clone(), y.clone()));
            }
        }
    }
    (text, truth)
}

#[test]
fn household_members_of_a_customer_file_are_not_duplicates() {
    // Before the location fields counted once and the pairs sharing an email taught m, EM took
    // "same household" for "same person": 28,454 pairs at precision 0.011 on this file; a shared
    // landline instead of emails gave precision 0.16 before it counted with the location.
    for landline in [false, true] {
        let (text, truth) = households(3, landline);
        let (p, r, printed) = link_people(&text, "customer_id", &truth, |_| true);
        assert!(printed.contains("parts of one location"), "{printed}");
        // A landline is a household's, not a person's: with the location, not an identifier.
        assert_eq!(printed.contains("`phone` is shared"), landline, "{printed}");
        assert!(p >= 0.95 && r >= 0.95, "precision {p:.4} recall {r:.4} of {} pairs", truth.len());
    }
}

/// 6,000 people of 500 first and last name pairs, each with two records; the second lacks the birth date, and in
/// a third of the pairs keeps only the email (a random number, or with `named` the name and three
/// digits, as namesakes' emails are). No two people share a name and a birth date: two records
/// agreeing on both and on the city, with two emails, are one person with two addresses as much
/// as two people (the first seed drew one such pair, which scored 0.67). Returns the CSV.
fn sparse_people(seed: u64, named: bool) -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let first = [
        "anna", "ben", "carla", "david", "emma", "felix", "greta", "hugo", "ida", "jon", "karl",
        "lena", "mia", "nils", "otto", "paula", "rosa", "sven", "tina", "uwe",
    ];
    let last = [
        "meyer", "novak", "olsen", "petit", "quinn", "rossi", "smith", "weber", "adler", "brandt",
        "costa", "dahl", "eriksen", "fischer", "garcia", "hansen", "iversen", "jansen", "keller",
        "lang", "moreau", "nagy", "ortiz", "pohl", "ruiz",
    ];
    let mut text = String::from("id,first_name,surname,birth_date,city,email\n");
    let mut drawn = std::collections::HashSet::new();
    for p in 0..6000 {
        let (f, l, y, m, d) = loop {
            let (f, l) = (first[rng.gen_range(0..first.len())], last[rng.gen_range(0..last.len())]);
            let (y, m, d) = (rng.gen_range(40..99), rng.gen_range(1..13), rng.gen_range(1..29));
            if drawn.insert((f, l, y, m, d)) {
                break (f, l, y, m, d);
            }
        };
        let city = ["oslo", "lyon", "graz", "porto"][rng.gen_range(0..4)];
        let email = if named {
            format!("{f}.{l}{}@mail.example", rng.gen_range(100..999))
        } else {
            format!("{}@mail.example", rng.gen_range(100_000_000..999_999_999))
        };
        text.push_str(&format!("a{p},{f},{l},19{y:02}-{m:02}-{d:02},{city},{email}\n"));
        if p % 3 == 0 {
            text.push_str(&format!("b{p},,,,,{email}\n"));
        } else {
            text.push_str(&format!("b{p},{f},{l},,{city},{email}\n"));
        }
    }
    text
}

#[test]
fn an_identifier_shared_by_few_records_is_enough_when_the_rest_is_blank() {
    // The pairs agreeing on an email few records hold are taken as matches to learn m; their u
    // counts only agreements on common values, so an email alone is near-certain: 0.988 here
    // (session 11; before, 0.654: u was measured on pairs that are mostly these very matches).
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "people.csv", &sparse_people(5, false));
    let out = dir.path().join("pairs.csv");
    let done = run(dir.path(), &["link", &f, "--id", "id", "--out", out.to_str().unwrap()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let text = fs::read_to_string(&out).unwrap();
    let mut email_only = 0;
    for line in text.lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        assert_eq!(v[0][1..], v[1][1..], "a false pair: {line}");
        if v[0][1..].parse::<usize>().unwrap() % 3 == 0 {
            email_only += 1;
            assert!(v[2].parse::<f64>().unwrap() >= 0.9, "an email-only pair: {line}");
        }
    }
    assert_eq!((text.lines().count() - 1, email_only), (6000, 2000));
}

#[test]
fn namesakes_emails_that_differ_in_their_digits_are_not_typos() {
    // `karl.rossi158` / `karl.rossi174` are two edits apart: as a typo, that outweighed a
    // different birth date, and namesakes of one city became duplicates.
    let mut truth = HashSet::new();
    for p in 0..6000 {
        truth.insert((format!("a{p}"), format!("b{p}")));
    }
    let (p, r, _) = link_people(&sparse_people(5, true), "id", &truth, |_| true);
    assert!(p >= 0.95 && r >= 0.99, "precision {p:.4} recall {r:.4}");
}

/// A customer file from three countries whose first names (by gender), surnames and cities are
/// each country's own, from short lists, so namesakes of one city abound; 15% of the people also
/// have a second account with a new email, 40% of those without the birth date and half at a new
/// street. `skewed`: 80% of the people are Spanish (so French and German names are rare in the
/// file) and 15% of the records have no gender. Returns the CSV and the true duplicate pairs.
fn namesakes(seed: u64, skewed: bool) -> (String, HashSet<(String, String)>) {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // (country, men's first names, women's, surnames, cities)
    type Country =
        (&'static str, [&'static str; 6], [&'static str; 6], [&'static str; 7], [&'static str; 3]);
    let countries: [Country; 3] = [
        (
            "es",
            ["jose", "antonio", "manuel", "francisco", "juan", "david"],
            ["maria", "carmen", "ana", "laura", "isabel", "pilar"],
            ["garcia", "fernandez", "lopez", "martinez", "sanchez", "perez", "gomez"],
            ["madrid", "barcelona", "valencia"],
        ),
        (
            "de",
            ["lukas", "leon", "paul", "jonas", "felix", "max"],
            ["anna", "lena", "lea", "hannah", "mia", "emma"],
            ["muller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner"],
            ["berlin", "hamburg", "munchen"],
        ),
        (
            "fr",
            ["louis", "gabriel", "arthur", "jules", "hugo", "paul"],
            ["emma", "jade", "louise", "alice", "chloe", "lina"],
            ["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit"],
            ["paris", "lyon", "marseille"],
        ),
    ];
    let streets = ["main", "church", "mill", "park", "station", "high", "school", "king"];
    let mut text = String::from(
        "customer_id,first_name,last_name,gender,birth_date,email,street,city,country\n",
    );
    let mut truth = HashSet::new();
    let mut id = 0;
    for _ in 0..3000 {
        let (country, men, women, surnames, cities) = if skewed {
            countries.choose_weighted(&mut rng, |c| if c.0 == "es" { 0.8 } else { 0.1 }).unwrap()
        } else {
            countries.choose(&mut rng).unwrap()
        };
        let gender = if rng.gen_bool(0.5) { "m" } else { "f" };
        let first = if gender == "m" { men } else { women }.choose(&mut rng).unwrap();
        let last = surnames.choose(&mut rng).unwrap();
        let city = cities.choose(&mut rng).unwrap();
        let born = format!(
            "19{:02}-{:02}-{:02}",
            rng.gen_range(40..100),
            rng.gen_range(1..13),
            rng.gen_range(1..29)
        );
        let street =
            format!("{} {} street", rng.gen_range(1..300), streets.choose(&mut rng).unwrap());
        let mut ids = Vec::new();
        for account in 0..if rng.gen_bool(0.15) { 2 } else { 1 } {
            let email = if rng.gen_bool(0.9) {
                format!("{first}.{last}{}@mail.example", rng.gen_range(100_000..1_000_000))
            } else {
                String::new()
            };
            let second = account == 1;
            let b = if second && rng.gen_bool(0.4) { "" } else { born.as_str() };
            let s = if second && rng.gen_bool(0.5) {
                format!("{} oak road", rng.gen_range(1..300))
            } else {
                street.clone()
            };
            let g = if skewed && rng.gen_bool(0.15) { "" } else { gender };
            text.push_str(&format!("c{id},{first},{last},{g},{b},{email},{s},{city},{country}\n"));
            ids.push(format!("c{id}"));
            id += 1;
        }
        if let [x, y] = &ids[..] {
            truth.insert((x.clone(), y.clone()));
        }
    }
    (text, truth)
}

#[test]
fn namesakes_of_one_country_are_not_duplicates() {
    // Before u was measured within country and gender, agreeing on a Spanish first name, a
    // Spanish surname and Spain counted the country three times: about 70,000 pairs at
    // precision 0.006 on such files (the namesakes of each city), recall 1.0.
    for seed in [1, 2] {
        let (text, truth) = namesakes(seed, false);
        let (p, r, printed) = link_people(&text, "customer_id", &truth, |_| true);
        assert!(printed.contains("measured among records of one gender and country"), "{printed}");
        // A second account without its birth date, at a new street, is a namesake to anyone:
        // about a fifth of the duplicates cannot be told.
        assert!(p >= 0.9 && r >= 0.7, "precision {p:.4} recall {r:.4} of {} pairs", truth.len());
    }
}

#[test]
fn namesakes_without_a_gender_are_not_duplicates_either() {
    // A record without its gender shares no stratum of (country, gender): its names' term
    // frequencies were those of the whole file, where a German first name is rare, though it
    // agrees on Germany (the 20k world's customer file: 58 of its 106 false pairs had a gender
    // missing). It is now compared within its country: precision 0.951 and 0.982 -> 0.991 and
    // 0.995, recall 0.785 and 0.809 -> 0.766 and 0.783.
    for seed in [3, 4] {
        let (text, truth) = namesakes(seed, true);
        let (p, r, _) = link_people(&text, "customer_id", &truth, |_| true);
        assert!(p >= 0.985 && r >= 0.7, "precision {p:.4} recall {r:.4} of {} pairs", truth.len());
    }
}

#[test]
fn files_that_name_their_columns_differently_are_linked() {
    // Abt-Buy and Amazon-Google style: `idA` / `idB`, `title` / `name`.
    let dir = tempfile::tempdir().unwrap();
    let brands = ["sony", "bose", "canon", "apple", "lg"];
    let things = ["turntable", "speaker", "printer", "modem", "television", "camera", "phone"];
    let n = brands.len() * things.len();
    let (mut a, mut b) = (String::from("idA,title,price\n"), String::from("idB,name,price\n"));
    for k in 0..n {
        let p = format!("{} {}", brands[k % brands.len()], things[k / brands.len()]);
        let price = 20.0 + 7.5 * k as f64;
        a.push_str(&format!("a{k},{p} - MX{},${price:.2}\n", 100 + k));
        b.push_str(&format!("b{k},{p} MX{} in black,{price:.2}\n", 100 + k));
    }
    let (fa, fb) = (write(dir.path(), "a.csv", &a), write(dir.path(), "b.csv", &b));
    let out = dir.path().join("pairs.csv");
    let done = run(dir.path(), &["link", &fa, &fb, "--id", "idA", "--out", "p.csv"]);
    let printed = String::from_utf8_lossy(&done.stderr).to_string();
    assert!(!done.status.success() && printed.contains("--id LEFT_ID,RIGHT_ID"), "{printed}");
    let args = ["link", &fa, &fb, "--id", "idA,idB", "--out", out.to_str().unwrap()];
    let done = run(dir.path(), &args);
    let printed = String::from_utf8_lossy(&done.stderr).to_string();
    assert!(done.status.success(), "{printed}");
    assert!(
        printed.contains("`name` of") && printed.contains("compared with `title`"),
        "{printed}"
    );
    let found = pairs(&out, false);
    let truth: HashSet<(String, String)> =
        (0..n).map(|k| (format!("a{k}"), format!("b{k}"))).collect();
    assert_eq!(found, truth);
}

/// Common given names, for the generated person files below.
const GIVEN_NAMES: [&str; 40] = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
    "anthony",
    "betty",
    "mark",
    "sandra",
    "donald",
    "ashley",
    "steven",
    "dorothy",
    "paul",
    "kimberly",
    "andrew",
    "emily",
    "joshua",
    "donna",
    "kenneth",
    "michelle",
];

/// A census-like file of households at their own address (a street and a house number): each
/// family shares its surname and has 1 to 5 members with their own first names and middle
/// initials, and no birth dates. 40% of the people appear again, in a second list, with a
/// mistyped first name or surname or an abbreviated street. Returns the CSV and the true pairs.
fn census_households(seed: u64) -> (String, HashSet<(String, String)>) {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let given = &GIVEN_NAMES;
    let streets = ["basswood", "starkey", "mitchell", "ridley", "malibu", "woodhaven", "banks"];
    let typo = |rng: &mut rand_chacha::ChaCha8Rng, s: &str| -> String {
        let mut c: Vec<char> = s.chars().collect();
        let i = rng.gen_range(1..c.len());
        c[i] = (b'a' + rng.gen_range(0..26u8)) as char;
        c.into_iter().collect()
    };
    let mut text = String::from("id,first_name,last_name,middle_name,street,house_number\n");
    let mut truth = HashSet::new();
    let mut id = 0;
    for family in 0..600 {
        let surname: String =
            (0..rng.gen_range(5..9)).map(|_| (b'a' + rng.gen_range(0..26u8)) as char).collect();
        let street = *streets.choose(&mut rng).unwrap();
        let number = 100 + family * 7;
        let members = rng.gen_range(1..=5);
        let firsts: Vec<&&str> = given.choose_multiple(&mut rng, members).collect();
        for first in firsts {
            let middle = (b'a' + rng.gen_range(0..26u8)) as char;
            let a = format!("a{id}");
            text.push_str(&format!("{a},{first},{surname},{middle},{street},{number}\n"));
            if rng.gen_bool(0.4) {
                let (mut f, mut l, mut s) =
                    (first.to_string(), surname.clone(), street.to_string());
                match rng.gen_range(0..3) {
                    0 => f = typo(&mut rng, &f),
                    1 => l = typo(&mut rng, &l),
                    _ => s = format!("{street}s"),
                }
                let b = format!("b{id}");
                text.push_str(&format!("{b},{f},{l},{middle},{s},{number}\n"));
                truth.insert((a, b));
            }
            id += 1;
        }
    }
    (text, truth)
}

#[test]
fn the_members_of_a_household_are_not_one_person() {
    // Agreeing on a rare surname and on the address counted twice, though a family shares its
    // surname: on Winkler's census file (841 records) precision was 0.18, here 0.13. The
    // surname's u is now measured among the household members at one address (first names
    // differing): census 0.18 -> 0.92 precision, recall 0.97 -> 0.81.
    for seed in [1, 2] {
        let (text, truth) = census_households(seed);
        let (p, r, printed) = link_people(&text, "id", &truth, |_| true);
        assert!(printed.contains("`last_name` is shared by people of one address"), "{printed}");
        assert!(p >= 0.9 && r >= 0.9, "precision {p:.4} recall {r:.4} of {} pairs", truth.len());
    }
}

/// A voter file: names, birth year, sex and street, and 20 columns of districts (a code and a
/// description for each of 10 districts) that all follow the voter's precinct, as NC's voter
/// file has. 20% of the voters registered again after a move (a new precinct and street, the
/// names sometimes mistyped). Returns the CSV and the true pairs.
fn voters(seed: u64) -> (String, HashSet<(String, String)>) {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let given = &GIVEN_NAMES[..24];
    let mut header = String::from("id,first_name,last_name,birth_year,sex,street,precinct");
    for d in 0..10 {
        header.push_str(&format!(",dist{d}_abbrv,dist{d}_desc"));
    }
    let mut text = header + "\n";
    let row = |id: &str, first: &str, last: &str, year: u32, sex: &str, precinct: usize| {
        let mut line = format!(
            "{id},{first},{last},{year},{sex},{} elm street,p{precinct}",
            10 + precinct * 37 % 900
        );
        for d in 0..10 {
            let x = precinct / (d + 2);
            line.push_str(&format!(",{d}{x},district {d} number {x}"));
        }
        line + "\n"
    };
    let mut truth = HashSet::new();
    for v in 0..1500 {
        let first = *given.choose(&mut rng).unwrap();
        let last: String =
            (0..rng.gen_range(5..9)).map(|_| (b'a' + rng.gen_range(0..26u8)) as char).collect();
        let year = rng.gen_range(1930..2000);
        let sex = if rng.gen_bool(0.5) { "m" } else { "f" };
        let precinct = rng.gen_range(0..60);
        text.push_str(&row(&format!("a{v}"), first, &last, year, sex, precinct));
        if rng.gen_bool(0.2) {
            let mut l = last.clone();
            if rng.gen_bool(0.2) {
                l.replace_range(2..3, "x");
            }
            text.push_str(&row(&format!("b{v}"), first, &l, year, sex, rng.gen_range(0..60)));
            truth.insert((format!("a{v}"), format!("b{v}")));
        }
    }
    (text, truth)
}

#[test]
fn districts_that_follow_the_precinct_count_once() {
    // Twenty district columns agree together between neighbours: summed as independent
    // evidence they outweighed different names (NC voter sample: F1 0.014, 30,357 pairs among
    // 1,417 records). Fields whose agreements come together among different people now count
    // once, the strongest agreement and disagreement (NC voters 0.848; 0.0005 precision here
    // without it).
    for seed in [1, 2] {
        let (text, truth) = voters(seed);
        let (p, r, printed) = link_people(&text, "id", &truth, |_| true);
        assert!(printed.contains("agree together among different people"), "{printed}");
        assert!(p >= 0.9 && r >= 0.9, "precision {p:.4} recall {r:.4} of {} pairs", truth.len());
    }
}

/// `text` (a plain CSV with a header) with values moved as a scraper or a badly split export
/// leaves them: in about half the records (chosen by a fixed hash of row and column), each
/// column of `moves` (`(moved, into)`) is written at the end of the other column and left empty.
fn with_moved_values(text: &str, moves: &[(&str, &str)]) -> String {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let mut out = header.join(",") + "\n";
    for (k, line) in lines.enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        for (m, &(moved, into)) in moves.iter().enumerate() {
            let (x, t) = (col(moved), col(into));
            let h = ((k * 31 + m) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 63;
            if h == 1 && !cells[x].is_empty() {
                let v = std::mem::take(&mut cells[x]);
                cells[t] = format!("{} {v}", cells[t]).trim().to_string();
            }
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn values_moved_into_another_column_are_compared_as_one_text() {
    // FEBRL4 without the social security number; in both files, about half the surnames are
    // written after the given name, and the suburb, postcode and state after the street.
    let Some((a, b, t)) = febrl4() else { return };
    let dir = tempfile::tempdir().unwrap();
    let moves = [
        ("surname", "given_name"),
        ("suburb", "address_1"),
        ("postcode", "address_1"),
        ("state", "address_1"),
    ];
    let file = |src: &Path, name: &str| {
        let text =
            with_moved_values(&febrl_without_ssn(src, &|y, m, d| format!("{y}{m}{d}")), &moves);
        write(dir.path(), name, &text)
    };
    let (fa, fb) = (file(&a, "a.csv"), file(&b, "b.csv"));
    let pairs = dir.path().join("p.csv");
    let args = ["link", &fa, &fb, "--id", "rec_id", "--out", pairs.to_str().unwrap()];
    let said = String::from_utf8_lossy(&run(dir.path(), &args).stderr).into_owned();
    assert!(said.contains("values moved between columns"), "{said}");
    let f = f1(&[&fa, &fb], &t, false);
    assert!(f >= 0.997, "F1 {f}");
}
