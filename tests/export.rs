//! `audience export` end to end: destinations, consent, minimum size, manifest, no raw PII.

use std::fs;
use std::path::{Path, PathBuf};

use audience::export::ExportManifest;
use audience::normalize::sha256_hex;
use sha2::{Digest, Sha256};

use crate::common::{fails, ok, run};

const FIRST: [&str; 6] = ["José", "Émilie", "Zoë", "François", "Mary-Jane", "Ørjan"];
const LAST: [&str; 6] = ["García-López", "Dupont", "Müller", "O'Brien", "van der Berg", "Dvořák"];

/// A contact list of `n` rows: every 10th row refuses consent, every 7th has a broken email.
fn contact_list(dir: &Path, n: usize) -> (PathBuf, Vec<String>) {
    let mut text = String::from(
        "Extern_ID,EMAIL,phone,first_name,last_name,city,state,zip,country,birth_date,gender,maid,cookie,ad_consent\n",
    );
    let mut pii = Vec::new();
    for i in 0..n {
        let email = if i % 7 == 3 {
            format!("broken.{i}.example.com")
        } else {
            format!(" Person.{i}@Example.COM ")
        };
        let phone = format!("06 12 34 {:02} {:02}", i / 100 % 100, i % 100);
        let (f, l) = (FIRST[i % 6], LAST[i % 6]);
        let consent = if i % 10 == 9 { "no" } else { "yes" };
        text += &format!(
            "C{i},{email},{phone},{f},{l},Saint-Étienne,,42{:03},France,1980-05-{:02},F,\
             aece52e7-03ee-455a-b3c4-{:012x},ck{i}a|ck{i}b,{consent}\n",
            i % 1000,
            i % 28 + 1,
            i + 1
        );
        pii.push(email.trim().to_string());
        pii.push(email.trim().to_lowercase());
        pii.push(phone.clone());
        pii.push(phone.replace(' ', ""));
        pii.push(format!("+3361234{:02}{:02}", i / 100 % 100, i % 100));
    }
    for name in FIRST.iter().chain(LAST.iter()) {
        pii.push(name.to_string());
        pii.push(name.to_lowercase());
    }
    let p = dir.join("crm.csv");
    fs::write(&p, text).unwrap();
    (p, pii)
}

fn manifest(dir: &Path) -> ExportManifest {
    serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn export(store: &Path, list: &Path, dest: &str, out: &Path, extra: &[&str]) -> String {
    let args = [
        &["export", "--contacts", list.to_str().unwrap(), "--destination", dest][..],
        &["--out", out.to_str().unwrap(), "--default-country", "FR"],
        extra,
    ]
    .concat();
    ok(store, &args)
}

#[test]
fn every_destination_writes_hashed_files_with_a_matching_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("no-store");
    let (list, pii) = contact_list(dir.path(), 150);
    for dest in ["google", "meta", "dsp", "liveramp"] {
        let out = dir.path().join("out").join(dest);
        let said = export(&store, &list, dest, &out, &["--name", "Été shoes"]);
        assert!(said.contains("exported 135 of 150"), "{dest}: {said}");
        let m = manifest(&out);
        assert_eq!(m.destination, dest);
        assert_eq!(m.normalization_spec, audience::normalize::NORMALIZATION_SPEC);
        assert_eq!((m.records_read, m.records_exported), (150, 135));
        assert_eq!(m.excluded["no_consent"], 15);
        assert_eq!(m.files.len(), 1);
        let data = fs::read(out.join(&m.files[0].name)).unwrap();
        assert_eq!(m.files[0].sha256, hex::encode(Sha256::digest(&data)), "{dest} checksum");
        assert_eq!(m.files[0].bytes, data.len() as u64);
        let text = String::from_utf8(data).unwrap();
        assert_eq!(text.lines().count() as u64, m.files[0].rows + 1, "{dest} rows");
        // No raw PII of the input, in any form it was given, in any output file.
        for entry in fs::read_dir(&out).unwrap() {
            let content = fs::read_to_string(entry.unwrap().path()).unwrap();
            for p in &pii {
                assert!(!content.contains(p.as_str()), "{dest}: raw `{p}` leaked");
            }
        }
        let header = text.lines().next().unwrap();
        match dest {
            "google" => {
                assert_eq!(header, "Email,Phone,First Name,Last Name,Country,Zip");
                // Row of person 0: email, E.164 phone and names hashed; country and zip plain.
                let want = format!(
                    "{},{},{},{},FR,42000",
                    sha256_hex("person.0@example.com"),
                    sha256_hex("+33612340000"),
                    sha256_hex("josé"),
                    sha256_hex("garcíalópez")
                );
                assert_eq!(text.lines().nth(1).unwrap(), want);
                // Broken emails are dropped from their row (which keeps its phone).
                assert_eq!(m.dropped_values["email"], 19);
                assert_eq!(m.identifiers["email"], 135 - 19);
                assert_eq!(m.identifiers["phone"], 135);
            }
            "meta" => {
                assert_eq!(
                    header,
                    "EXTERN_ID,EMAIL,PHONE,GEN,DOBY,DOBM,DOBD,LN,FN,FI,CT,ST,ZIP,MADID,COUNTRY"
                );
                let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
                assert_eq!(row[0], sha256_hex("C0"));
                assert_eq!(row[2], sha256_hex("33612340000"));
                assert_eq!(row[3], sha256_hex("f"));
                assert_eq!(
                    (row[4], row[5], row[6]),
                    (
                        sha256_hex("1980").as_str(),
                        sha256_hex("05").as_str(),
                        sha256_hex("01").as_str()
                    )
                );
                assert_eq!(row[9], sha256_hex("j"));
                assert_eq!(row[10], sha256_hex("saintetienne"));
                assert_eq!(row[11], "", "empty state stays empty");
                assert_eq!(row[13], "aece52e7-03ee-455a-b3c4-000000000001");
                assert_eq!(row[14], sha256_hex("fr"));
            }
            "dsp" => {
                assert_eq!(header, "kind,value,segment,expires");
                assert_eq!(m.files[0].rows, 135 * 4 + (135 - 19));
                let expires = m.expires.clone().unwrap();
                assert!(text.contains(&format!("cookie,ck0a,Été shoes,{expires}")), "{text:.300}");
                assert!(text.contains("first_party_id,C0,"));
            }
            "liveramp" => {
                assert_eq!(header, "EMAIL_SHA256,PHONE_SHA256,MAID,Ete_shoes");
                assert_eq!(m.segment_header.as_deref(), Some("Ete_shoes"));
                assert!(text.lines().skip(1).all(|l| l.ends_with(",1")));
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn small_audiences_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = contact_list(dir.path(), 100); // 90 with consent
    let out = dir.path().join("exports").join("a").join("google");
    let e = fails(
        dir.path(),
        &[
            "export",
            "--contacts",
            list.to_str().unwrap(),
            "-d",
            "google",
            "--out",
            out.to_str().unwrap(),
            "--default-country",
            "FR",
        ],
    );
    assert!(e.contains("90 exportable contacts") && e.contains("minimum is 100"), "{e}");
    assert!(e.contains("10 without ad consent") && e.contains("nothing was written"), "{e}");
    assert!(!dir.path().join("exports").exists(), "no directory left behind");
    // An earlier export in the same place is kept intact by a refused one.
    export(dir.path(), &list, "google", &out, &["--min-size", "50"]);
    let before = fs::read(out.join("google.csv")).unwrap();
    fails(
        dir.path(),
        &[
            "export",
            "--contacts",
            list.to_str().unwrap(),
            "-d",
            "google",
            "--out",
            out.to_str().unwrap(),
            "--min-size",
            "1000",
        ],
    );
    assert_eq!(fs::read(out.join("google.csv")).unwrap(), before);
    assert_eq!(fs::read_dir(&out).unwrap().count(), 2, "only google.csv and manifest.json");
}

#[test]
fn consent_is_required_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("email,consent\n");
    for i in 0..5 {
        text += &format!("p{i}@example.com,{}\n", ["yes", "no", "", "true", "0"][i]);
    }
    let list = dir.path().join("l.csv");
    fs::write(&list, &text).unwrap();
    let out = dir.path().join("o");
    let said = export(dir.path(), &list, "meta", &out, &["--min-size", "1"]);
    assert!(said.contains("exported 2 of 5"), "{said}");
    let m = manifest(&out);
    assert_eq!((m.excluded["no_consent"], m.excluded["consent_unknown"]), (2, 1));
    assert!(m.consent_rule.contains("column `consent`"), "{}", m.consent_rule);
    let body = fs::read_to_string(out.join("meta.csv")).unwrap();
    for refused in ["p1@", "p2@", "p4@"] {
        let h = sha256_hex(&format!("{refused}example.com"));
        assert!(!body.contains(&h), "{refused} has no consent but was exported");
    }

    let no_col = dir.path().join("n.csv");
    fs::write(&no_col, "email\na@example.com\n").unwrap();
    let e = fails(dir.path(), &["export", "--contacts", no_col.to_str().unwrap(), "-d", "meta"]);
    assert!(e.contains("no consent column") && e.contains("--assume-consent"), "{e}");
    let out2 = dir.path().join("o2");
    export(dir.path(), &no_col, "meta", &out2, &["--min-size", "1", "--assume-consent"]);
    assert!(manifest(&out2).consent_rule.contains("--assume-consent"));
}

#[test]
fn default_output_is_inside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let (list, _) = contact_list(dir.path(), 20);
    let out = ok(
        &s,
        &[
            "export",
            "--contacts",
            list.to_str().unwrap(),
            "-d",
            "dsp",
            "--min-size",
            "1",
            "--ttl-days",
            "7",
        ],
    );
    assert!(out.contains("exports/crm/dsp/dsp.csv"), "{out}");
    let m = manifest(&s.join("exports/crm/dsp"));
    assert_eq!(m.audience, "crm");
    let days = |iso: &str| {
        let d: Vec<i64> = iso[..10].split('-').map(|x| x.parse().unwrap()).collect();
        audience::store::days_from_civil(d[0], d[1] as u32, d[2] as u32)
    };
    assert_eq!(days(m.expires.as_deref().unwrap()) - days(&m.created), 7);
}

#[test]
fn bad_requests_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    ok(&s, &["init"]);
    let e = fails(&s, &["export", "-d", "google"]);
    assert!(e.contains("--contacts"), "{e}");
    let e = fails(&s, &["export", "vip", "-d", "google"]);
    assert!(e.contains("no segment `vip`") && e.contains("audience segment list"), "{e}");
    let out = run(&s, &["export", "--contacts", "x.csv", "-d", "tiktok"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && e.contains("google, meta, dsp, liveramp"), "{e}");
    let names = dir.path().join("n.csv");
    fs::write(&names, "first_name,last_name,consent\nAnn,Lee,yes\n").unwrap();
    let e = fails(&s, &["export", "--contacts", names.to_str().unwrap(), "-d", "google"]);
    assert!(e.contains("no identifier column") && e.contains("email, phone"), "{e}");
    let (list, _) = contact_list(dir.path(), 5);
    let e = fails(
        &s,
        &["export", "--contacts", list.to_str().unwrap(), "-d", "google", "--name", "../x"],
    );
    assert!(e.contains("not usable as a directory name"), "{e}");
    let e = fails(
        &s,
        &[
            "export",
            "--contacts",
            list.to_str().unwrap(),
            "-d",
            "google",
            "--default-country",
            "Atlantis",
            "--min-size",
            "1",
        ],
    );
    assert!(e.contains("--default-country `Atlantis`"), "{e}");
}
