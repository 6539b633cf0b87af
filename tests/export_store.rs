//! `audience export SEGMENT` and `audience forget` end to end on a generated, resolved world:
//! consent, minimum size, manifest checksums, no raw PII in any output, erasure everywhere.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use audience::export::ExportManifest;
use audience::normalize::{export_name, normalize_email, parse_phone, sha256_hex, EmailRules};
use audience::table::read_text_columns;
use sha2::{Digest, Sha256};

use crate::common::{fails, ok, run};

/// A generated world of 3,000 people, made once for the whole test binary (a static outlives
/// the tests, so it is kept under cargo's `target/tmp`, not the system's temporary directory).
fn world() -> &'static Path {
    static WORLD: OnceLock<PathBuf> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("export-world")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        let w = dir.join("world");
        let out = crate::common::bin()
            .args(["generate", "--people", "3000", "--seed", "7", "--out"])
            .arg(&w)
            .arg("-q")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        w
    })
}

/// A fresh store with the world resolved into it and a segment `everyone` = `all()`.
fn resolved_store(dir: &Path) -> PathBuf {
    let s = dir.join("store");
    ok(&s, &["init"]);
    ok(&s, &["resolve", world().to_str().unwrap(), "-q"]);
    ok(&s, &["segment", "create", "everyone", "all()"]);
    s
}

fn manifest(dir: &Path) -> ExportManifest {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn export(store: &Path, segment: &str, dest: &str, out: &Path, extra: &[&str]) -> String {
    let args =
        [&["export", segment, "-d", dest, "--out", out.to_str().unwrap()][..], extra].concat();
    ok(store, &args)
}

/// `key -> pid` of the store's identity graph.
fn identifiers(store: &Path) -> HashMap<String, u32> {
    let c = read_text_columns(&store.join("identity/identifiers.parquet"), &["key", "pid"], &[])
        .unwrap();
    c[0].iter()
        .zip(&c[1])
        .map(|(k, p)| (k.clone().unwrap(), p.as_ref().unwrap().parse().unwrap()))
        .collect()
}

/// Consent of every profile: (pids with true, pids with false).
fn consent(store: &Path) -> (HashSet<u32>, HashSet<u32>) {
    let s = audience::store::Store::open(store).unwrap();
    let index = audience::index::BitmapIndex::open(&s, Some(&["consent.ads"])).unwrap();
    let t = index.get("consent.ads").unwrap();
    (t.equals("true").iter().collect(), t.equals("false").iter().collect())
}

/// The raw CRM values (every form they might leak in) that must never appear in an export.
#[allow(clippy::needless_range_loop)]
fn raw_pii() -> (HashSet<String>, Vec<String>) {
    let cols = ["email", "phone", "first_name", "last_name", "street", "birth_date", "country"];
    let c = read_text_columns(&world().join("crm.parquet"), &cols, &[]).unwrap();
    let mut fields = HashSet::new();
    let mut substrings = Vec::new();
    for i in 0..c[0].len() {
        if let Some(e) = &c[0][i] {
            fields.insert(e.clone());
            for rules in [EmailRules::PLAIN, EmailRules::GOOGLE, EmailRules::UID2] {
                if let Ok(n) = normalize_email(e, rules) {
                    substrings.push(n);
                }
            }
        }
        if let Some(p) = &c[1][i] {
            fields.insert(p.clone());
            fields.insert(p.replace(' ', ""));
            if let Ok(n) = parse_phone(p, c[6][i].as_deref()) {
                substrings.push(n.e164());
                fields.insert(n.digits().to_string());
            }
        }
        for col in [2, 3, 4] {
            if let Some(v) = &c[col][i] {
                fields.insert(v.clone());
                fields.insert(v.to_lowercase());
                if let Ok(n) = export_name(v) {
                    fields.insert(n);
                }
            }
        }
        if let Some(b) = &c[5][i] {
            fields.insert(b.clone());
        }
    }
    (fields, substrings)
}

/// Every field of every file in `dir` (CSV split on commas and line ends, JSON as text).
fn assert_no_pii(dir: &Path, pii: &(HashSet<String>, Vec<String>)) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains('@'), "{}: an email address", path.display());
        for field in text.split([',', '\n', '"']) {
            assert!(!pii.0.contains(field.trim()), "{}: raw `{field}` leaked", path.display());
        }
        for s in &pii.1 {
            assert!(!text.contains(s.as_str()), "{}: raw `{s}` leaked", path.display());
        }
    }
}

#[test]
fn segment_export_applies_consent_and_its_manifest_matches_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = resolved_store(dir.path());
    let ids = identifiers(&s);
    let (yes, no) = consent(&s);
    let everyone: usize = ids.values().collect::<HashSet<_>>().len();
    assert!(!no.is_empty() && !yes.is_empty(), "the world has both consents");
    let pii = raw_pii();
    for dest in ["google", "meta", "dsp", "liveramp"] {
        let out = dir.path().join("out").join(dest);
        let said = export(&s, "everyone", dest, &out, &["--min-size", "10"]);
        assert!(said.contains("exported"), "{said}");
        let m = manifest(&out);
        assert_eq!(m.records_read as usize, everyone, "{dest}: every member is read");
        assert_eq!(m.excluded["no_consent"] as usize, no.len(), "{dest}");
        assert_eq!(
            m.excluded["consent_unknown"] as usize,
            everyone - yes.len() - no.len(),
            "{dest}"
        );
        assert!(m.records_exported > 0 && m.records_exported as usize <= yes.len());
        assert_eq!(m.normalization_spec, audience::normalize::NORMALIZATION_SPEC);
        // The checksums and sizes of the manifest are those of the files.
        for f in &m.files {
            let data = fs::read(out.join(&f.name)).unwrap();
            assert_eq!(f.sha256, hex::encode(Sha256::digest(&data)), "{dest}");
            assert_eq!(f.bytes, data.len() as u64);
            assert_eq!(String::from_utf8(data).unwrap().lines().count() as u64, f.rows + 1);
        }
        assert_no_pii(&out, &pii);
        // Every identifier written belongs to a profile with ad consent.
        let body = fs::read_to_string(out.join(format!("{dest}.csv"))).unwrap();
        let mut checked = 0;
        for line in body.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let key = match dest {
                "meta" if !f[1].is_empty() => format!("email:{}", f[1]),
                "liveramp" if !f[0].is_empty() => format!("email:{}", f[0]),
                "google" if !f[1].is_empty() => format!("phone:{}", f[1]),
                "dsp" if f[0] == "cookie" => format!("cookie:{}", f[1]),
                _ => continue,
            };
            let pid = ids.get(&key).unwrap_or_else(|| panic!("{dest}: {key} is not in the graph"));
            assert!(yes.contains(pid), "{dest}: profile {pid} has no ad consent but was exported");
            checked += 1;
        }
        assert!(checked > 10, "{dest}: only {checked} identifiers checked");
    }
}

#[test]
fn small_audiences_unknown_segments_and_stores_without_contacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = resolved_store(dir.path());
    let out = dir.path().join("exports").join("google");
    let e = fails(
        &s,
        &[
            "export",
            "everyone",
            "-d",
            "google",
            "--out",
            out.to_str().unwrap(),
            "--min-size",
            "1000000",
        ],
    );
    assert!(e.contains("minimum is 1000000") && e.contains("nothing was written"), "{e}");
    assert!(!dir.path().join("exports").exists(), "nothing left behind");
    let e = fails(&s, &["export", "nobody", "-d", "meta"]);
    assert!(e.contains("no segment `nobody`"), "{e}");

    // An imported store has segments but no contact table.
    let t = dir.path().join("t.csv");
    fs::write(&t, "id,ad_consent\na,true\nb,false\n").unwrap();
    let i = dir.path().join("imported");
    ok(&i, &["init"]);
    ok(&i, &["import", t.to_str().unwrap(), "--id", "id", "--consent", "ad_consent"]);
    ok(&i, &["segment", "create", "all", "all()"]);
    let e = fails(&i, &["export", "all", "-d", "dsp"]);
    assert!(e.contains("no contact table") && e.contains("audience resolve"), "{e}");
}

/// A CRM customer with ad consent, an email and a cookie: (raw email, customer id, pid).
fn consenting_customer(s: &Path) -> (String, String, u32) {
    let ids = identifiers(s);
    let (yes, _) = consent(s);
    let by_pid: HashMap<u32, Vec<&String>> = ids.iter().fold(HashMap::new(), |mut m, (k, p)| {
        m.entry(*p).or_default().push(k);
        m
    });
    let c =
        read_text_columns(&world().join("crm.parquet"), &["customer_id", "email"], &[]).unwrap();
    for (cid, email) in c[0].iter().zip(&c[1]) {
        let (Some(cid), Some(email)) = (cid, email) else { continue };
        let pid = ids[&format!("customer_id:{cid}")];
        let keys = &by_pid[&pid];
        if yes.contains(&pid) && keys.iter().any(|k| k.starts_with("cookie:")) && keys.len() < 30 {
            return (email.clone(), cid.clone(), pid);
        }
    }
    panic!("no consenting customer with a cookie");
}

#[test]
fn forget_removes_a_person_everywhere_and_from_later_exports() {
    let dir = tempfile::tempdir().unwrap();
    let s = resolved_store(dir.path());
    let (email, cid, pid) = consenting_customer(&s);
    let keys: Vec<String> =
        identifiers(&s).into_iter().filter(|(_, p)| *p == pid).map(|(k, _)| k).collect();
    let cookies: Vec<String> =
        keys.iter().filter_map(|k| k.strip_prefix("cookie:")).map(String::from).collect();
    let meta_hash = sha256_hex(&normalize_email(&email, EmailRules::PLAIN).unwrap());
    let before = dir.path().join("before");
    export(&s, "everyone", "meta", &before.join("meta"), &["--min-size", "1"]);
    assert!(fs::read_to_string(before.join("meta/meta.csv")).unwrap().contains(&meta_hash));

    let links_of =
        |s: &Path| read_text_columns(&s.join("identity/links.parquet"), &["a", "b"], &[]).unwrap();
    // Each link as the pair of identifier keys it names (through the row numbers).
    let linked_keys = |s: &Path| -> HashSet<(String, String)> {
        let keys = read_text_columns(&s.join("identity/identifiers.parquet"), &["key"], &[])
            .unwrap()
            .remove(0);
        let l = links_of(s);
        let key = |r: &Option<String>| {
            keys[r.as_deref().unwrap().parse::<usize>().unwrap()].clone().unwrap()
        };
        (0..l[0].len()).map(|i| (key(&l[0][i]), key(&l[1][i]))).collect()
    };
    let keys_before = linked_keys(&s);
    // Links name identifiers by row: the forgotten profile's rows and their links.
    let rows_before: Vec<Option<String>> =
        read_text_columns(&s.join("identity/identifiers.parquet"), &["pid"], &[])
            .unwrap()
            .remove(0);
    let their_rows: HashSet<String> = rows_before
        .iter()
        .enumerate()
        .filter(|(_, p)| p.as_deref() == Some(pid.to_string().as_str()))
        .map(|(i, _)| i.to_string())
        .collect();
    let before_links = links_of(&s);
    let their_links = (0..before_links[0].len())
        .filter(|&i| {
            [&before_links[0][i], &before_links[1][i]]
                .into_iter()
                .flatten()
                .any(|r| their_rows.contains(r))
        })
        .count();
    assert!(their_links > 0, "the customer has links");

    // Upper case and spaces: the request is normalised like the CRM was.
    let said = ok(&s, &["forget", "--email", &format!("  {}  ", email.to_uppercase())]);
    assert!(said.contains("forgot 1 profile"), "{said}");
    assert!(said.contains("segment everyone: 1 member"), "{said}");

    let gone = |s: &Path| {
        let ids = identifiers(s);
        assert!(ids.values().all(|p| *p != pid), "pid still in the identity graph");
        for k in &keys {
            assert!(!ids.contains_key(k), "{k} still in the identity graph");
        }
        let links = links_of(s);
        assert_eq!(links[0].len(), before_links[0].len() - their_links, "their links are gone");
        // The others name the same identifiers as before, renumbered.
        let expected: HashSet<(String, String)> = keys_before
            .iter()
            .filter(|(a, b)| !keys.contains(a) && !keys.contains(b))
            .cloned()
            .collect();
        assert_eq!(linked_keys(s), expected, "links renumbered with the identifiers");
        for col in &links {
            assert!(
                col.iter().flatten().all(|r| r.parse::<usize>().unwrap() < ids.len()),
                "a link names a row beyond the identifiers table"
            );
        }
        let store = audience::store::Store::open(s).unwrap();
        let (_, tpids) = audience::import::read_traits(&store).unwrap().unwrap();
        assert!(!tpids.contains(&pid), "still in the traits table");
        let index = audience::index::BitmapIndex::open(&store, None).unwrap();
        assert!(!index.universe.contains(pid), "still in the index universe");
        assert!(index.traits.values().all(|t| !t.present().contains(pid)), "still in a trait");
        for name in audience::segment::names(&store).unwrap() {
            assert!(!audience::segment::load(&store, &name).unwrap().pids.contains(pid), "{name}");
        }
        let mut r =
            audience::identity::contact_store::ContactReader::open(&store).unwrap().unwrap();
        assert!(r.all().unwrap().iter().all(|h| h.pid != pid), "still in the contact table");
        for dest in ["meta", "dsp", "google", "liveramp"] {
            let out = s.join("after").join(dest);
            export(s, "everyone", dest, &out, &["--min-size", "1"]);
            let body = fs::read_to_string(out.join(format!("{dest}.csv"))).unwrap();
            assert!(!body.contains(&meta_hash), "{dest}: their email hash is exported");
            for c in &cookies {
                assert!(!body.contains(&format!("cookie,{c},")), "{dest}: their cookie {c}");
            }
            assert!(!body.contains(&format!(",{cid},")), "{dest}: their customer id");
        }
    };
    gone(&s);

    // The audit log and the suppression list hold hashes only.
    let audit = fs::read_to_string(s.join("identity/forget.log")).unwrap();
    assert_eq!(audit.lines().count(), 1);
    assert!(audit.contains(&format!("email:{meta_hash}")), "{audit}");
    let sup = fs::read_to_string(s.join("identity/suppression.json")).unwrap();
    for raw in [email.as_str(), cid.as_str()] {
        assert!(!audit.contains(raw) && !sup.contains(raw), "raw `{raw}` stored");
    }
    for c in &cookies {
        assert!(!sup.contains(c.as_str()), "raw cookie stored");
    }

    // A second run finds nothing and says so; it is audited too.
    let again = ok(&s, &["forget", "--email", &email]);
    assert!(again.contains("nothing found") && again.contains("forgotten before"), "{again}");
    assert_eq!(fs::read_to_string(s.join("identity/forget.log")).unwrap().lines().count(), 2);

    // Resolving the same sources again does not bring them back.
    ok(&s, &["resolve", world().to_str().unwrap(), "-q"]);
    let ids = identifiers(&s);
    for k in &keys {
        assert!(!ids.contains_key(k), "{k} came back with resolve");
    }
    let out = s.join("again");
    export(&s, "everyone", "meta", &out, &["--min-size", "1"]);
    assert!(!fs::read_to_string(out.join("meta.csv")).unwrap().contains(&meta_hash));
    let _ = run;
}

#[test]
fn forget_requests_are_checked_and_unknown_people_are_suppressed_anyway() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let e = fails(&s, &["forget"]);
    assert!(e.contains("--email X, --phone X or --id"), "{e}");
    let e = fails(&s, &["forget", "--email", "not-an-address"]);
    assert!(e.contains("not a valid address") && !e.contains("not-an-address"), "{e}");
    let e = fails(&s, &["forget", "--id", "shoe:42"]);
    assert!(e.contains("unknown kind `shoe`"), "{e}");
    let e = fails(&s, &["forget", "--phone", "06 12 34 56 78"]);
    assert!(e.contains("--default-country"), "{e}");
    let said = ok(&s, &["forget", "--phone", "06 12 34 56 78", "--default-country", "FR"]);
    assert!(said.contains("nothing found"), "{said}");
    let sup = fs::read_to_string(s.join("identity/suppression.json")).unwrap();
    assert!(sup.contains(&sha256_hex("+33612345678")), "{sup}");

    // An import never brings a forgotten profile id back.
    ok(&s, &["forget", "--id", "profile:p2"]);
    let t = dir.path().join("t.csv");
    fs::write(&t, "id,age\np1,30\np2,40\np3,50\n").unwrap();
    ok(&s, &["import", t.to_str().unwrap(), "--id", "id"]);
    let store = audience::store::Store::open(&s).unwrap();
    let idmap = audience::idmap::IdMap::load(&store).unwrap();
    assert!(idmap.get("p2").is_none() && idmap.get("p1").is_some());
    // Forgetting an imported profile by its id erases it.
    let said = ok(&s, &["forget", "--id", "profile:p3"]);
    assert!(said.contains("forgot 1 profile"), "{said}");
    let (_, pids) = audience::import::read_traits(&store).unwrap().unwrap();
    assert_eq!(pids.len(), 1);
}
