//! A synthetic sources directory for measuring `audience derive` at scale, until
//! `audience generate` lands: `cargo run --release --example derive_world -- PERSONS OUT_DIR [SEED]`.
//!
//! Writes, as CSV in the source schemas of README.md: `crm.csv` (PERSONS rows, customer ids
//! `C0000000`...), `receipts.csv` (~8 per person, 30% online by customer id, store receipts by
//! loyalty card for the 60% of members, anonymous otherwise), `web_events.csv` (~20 per person
//! with web activity (60%), on 1-3 cookies, logins carrying the e-mail hash), `email_events.csv`
//! (~3 per person), `ad_exposures.csv` (~6 per web person) and `providers/acme_data.csv` (30% of
//! the cookies). Deterministic by seed. Also writes `profiles.csv` (the customer ids) to import.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

const CATS: [&str; 10] =
    ["shoes", "books", "toys", "garden", "kitchen", "sports", "beauty", "music", "games", "tools"];
const END: i64 = 1_782_777_600; // 2026-06-30T00:00:00Z

struct Chunk {
    crm: String,
    receipts: String,
    web: String,
    email: String,
    ads: String,
    provider: String,
}

fn person(i: usize, seed: u64, c: &mut Chunk) {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let email = format!("person{i}@example.com");
    let hash = audience::derive::keys::email_sha256(&email);
    let member = r.gen_bool(0.6);
    let card = if member { format!("L{i:07}") } else { String::new() };
    let _ = writeln!(
        c.crm,
        "C{i:07},First{i},Last{i},{email},+3310{i:07},{i} rue,City{},{:05},FR,{}-{:02}-{:02},{},{card},{},20{:02}-01-15",
        i % 500,
        i % 90_000,
        1950 + r.gen_range(0..55),
        r.gen_range(1..=12),
        r.gen_range(1..=28),
        if r.gen_bool(0.5) { "f" } else { "m" },
        r.gen_bool(0.7),
        r.gen_range(10..26)
    );
    let fav = r.gen_range(0..CATS.len());
    for k in 0..r.gen_range(0..17) {
        let ts = END - r.gen_range(0..730 * 86_400);
        let online = r.gen_bool(0.3);
        let cat = if r.gen_bool(0.5) { fav } else { r.gen_range(0..CATS.len()) };
        let (cardv, cust) =
            if online { ("", format!("C{i:07}")) } else { (card.as_str(), String::new()) };
        let _ = writeln!(
            c.receipts,
            "r{i}_{k},{ts},s{},{},{cardv},{cust},{},{:.2},{}",
            i % 200,
            if online { "online" } else { "store" },
            CATS[cat],
            r.gen_range(5.0..150.0),
            r.gen_range(1..6)
        );
    }
    for k in 0..r.gen_range(0..6) {
        let ts = END - r.gen_range(0..365 * 86_400);
        let ev = if r.gen_bool(0.2) { "click" } else { "open" };
        let _ = writeln!(c.email, "{ts},{hash},news{:02},{ev}", (k * 7 + i) % 12);
    }
    if !r.gen_bool(0.6) {
        return;
    }
    let cookies = r.gen_range(1..4);
    let maid = if r.gen_bool(0.3) { format!("m{i:07}") } else { String::new() };
    for ck in 0..cookies {
        let cookie = format!("k{i}_{ck}");
        if r.gen_bool(0.3) {
            let _ = writeln!(
                c.provider,
                "cookie,{cookie},{},{},{};{},City{}",
                ["18-24", "25-34", "35-44", "45-54", "55+"][r.gen_range(0..5)],
                ["low", "mid", "high"][r.gen_range(0..3)],
                CATS[r.gen_range(0..CATS.len())],
                CATS[fav],
                i % 500
            );
        }
        for s in 0..r.gen_range(1..5) {
            let start = END - r.gen_range(0..365 * 86_400);
            let session = format!("s{i}_{ck}_{s}");
            let device = if ck == 0 { maid.as_str() } else { "" };
            for e in 0..r.gen_range(1..6) {
                let ts = start + e * 60;
                let (kind, h) = if e == 0 && r.gen_bool(0.3) {
                    ("login", hash.as_str())
                } else if r.gen_bool(0.1) {
                    ("add_to_cart", "")
                } else {
                    ("page_view", "")
                };
                let cat = if r.gen_bool(0.6) { fav } else { r.gen_range(0..CATS.len()) };
                let _ = writeln!(
                    c.web,
                    "{ts},{cookie},{device},desktop,10.0.0.1,{kind},{},/p,{session},{h}",
                    CATS[cat]
                );
            }
        }
        for _ in 0..r.gen_range(0..5) {
            let ts = END - r.gen_range(0..90 * 86_400);
            let ev = if r.gen_bool(0.05) { "click" } else { "impression" };
            let _ = writeln!(c.ads, "{ts},{cookie},,camp{},{ev}", r.gen_range(0..10));
        }
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let out = Path::new(args.get(2).map_or("derive-world", String::as_str)).to_path_buf();
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    std::fs::create_dir_all(out.join("providers"))?;
    let open = |name: &str, header: &str| -> std::io::Result<BufWriter<File>> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(out.join(name))?);
        writeln!(w, "{header}")?;
        Ok(w)
    };
    let mut crm = open("crm.csv", "customer_id,first_name,last_name,email,phone,street,city,postcode,country,birth_date,gender,loyalty_card,ad_consent,signup_date")?;
    let mut receipts = open(
        "receipts.csv",
        "receipt_id,ts,store_id,channel,loyalty_card,customer_id,category,amount,lines",
    )?;
    let mut web = open(
        "web_events.csv",
        "ts,cookie,device_id,device_type,ip,event_type,category,url,session_id,email_sha256",
    )?;
    let mut email = open("email_events.csv", "ts,email_sha256,campaign,event")?;
    let mut ads = open("ad_exposures.csv", "ts,cookie,device_id,campaign,event")?;
    let mut provider =
        open("providers/acme_data.csv", "id_kind,id,age_band,income_band,interests,city")?;
    let mut profiles = open("../profiles.csv", "customer_id")?;
    const BATCH: usize = 10_000;
    for batch in (0..n).step_by(BATCH * 8) {
        let chunks: Vec<Chunk> = (batch..n.min(batch + BATCH * 8))
            .step_by(BATCH)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let mut c = Chunk {
                    crm: String::new(),
                    receipts: String::new(),
                    web: String::new(),
                    email: String::new(),
                    ads: String::new(),
                    provider: String::new(),
                };
                for i in start..n.min(start + BATCH) {
                    person(i, seed, &mut c);
                }
                c
            })
            .collect();
        for c in chunks {
            crm.write_all(c.crm.as_bytes())?;
            receipts.write_all(c.receipts.as_bytes())?;
            web.write_all(c.web.as_bytes())?;
            email.write_all(c.email.as_bytes())?;
            ads.write_all(c.ads.as_bytes())?;
            provider.write_all(c.provider.as_bytes())?;
        }
    }
    for i in 0..n {
        writeln!(profiles, "C{i:07}")?;
    }
    Ok(())
}
