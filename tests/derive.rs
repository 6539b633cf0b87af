//! `audience derive` and `audience traits` end to end, on a hand-made world and on CDNOW.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use audience::derive::keys::email_sha256;
use audience::store::days_from_civil;
use audience::table::{read_table, ColumnData};

use crate::common::{fails, ok, shared_data};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// Unix seconds of `y-m-d hh:00` UTC.
fn ts(y: i64, m: u32, d: u32, h: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400 + h * 3600
}

/// The traits table as customer id → trait → value text.
fn traits_by_customer(store: &Path) -> HashMap<String, HashMap<String, Option<String>>> {
    let s = audience::store::Store::open(store).unwrap();
    let map = audience::idmap::IdMap::load(&s).unwrap();
    let t = read_table(store.join("profiles/traits.parquet")).unwrap();
    let pids = &t.column("_pid").unwrap().data;
    (0..t.rows)
        .map(|i| {
            let pid = pids.number(i).unwrap() as u32;
            let row = t.columns.iter().map(|c| (c.name.clone(), c.data.text(i))).collect();
            (map.id(pid).unwrap().to_string(), row)
        })
        .collect()
}

fn value<'a>(
    t: &'a HashMap<String, HashMap<String, Option<String>>>,
    id: &str,
    name: &str,
) -> Option<&'a str> {
    t[id].get(name).unwrap_or_else(|| panic!("no trait {name}")).as_deref()
}

/// Two customers; as of 2026-06-30. c1 buys in store with a loyalty card 30 days before the
/// as-of day (out of the 30-day window) and 29 days before (in), and online; c2 only browses.
fn world(dir: &Path) -> String {
    let src = dir.join("sources");
    write(
        &src,
        "crm.csv",
        "customer_id,first_name,last_name,email,phone,street,city,postcode,country,birth_date,gender,loyalty_card,ad_consent,signup_date\n\
         c1,Ann,Lee,Ann@Example.com,+33100,1 rue,Paris,75001,FR,1990-07-01,f,L1,true,2026-06-20\n\
         c2,Bob,Ray,bob@example.com,+33200,2 rue,Lyon,69001,FR,1980-06-30,m,,false,2020-01-01\n",
    );
    let d30 = ts(2026, 5, 31, 23); // exactly 30 days before 2026-06-30: out of the 30-day window
    let d29 = ts(2026, 6, 1, 0); // 29 days before: in
    let late = ts(2026, 7, 1, 0); // after the as-of day: ignored
    write(
        &src,
        "receipts.csv",
        &format!(
            "receipt_id,ts,store_id,channel,loyalty_card,customer_id,category,amount,lines\n\
             r1,{d30},s1,store,L1,,Shoes,40.0,1\n\
             r2,{d29},s1,store,L1,,Books,10.5,2\n\
             r3,{d29},,online,,c1,Shoes,20.0,1\n\
             r4,{late},s1,store,L1,,Shoes,99.0,1\n\
             r5,{d29},s1,store,,,Shoes,5.0,1\n"
        ),
    );
    let h1 = email_sha256("bob@example.com");
    let t0 = ts(2026, 6, 30, 10);
    let t1 = ts(2026, 5, 31, 10);
    write(
        &src,
        "web_events.csv",
        &format!(
            "ts,cookie,device_id,device_type,ip,event_type,category,url,session_id,email_sha256\n\
             {t1},k2,,desktop,1.1.1.1,page_view,shoes,/s,s1,\n\
             {t0},k2,,desktop,1.1.1.1,login,,/login,s2,{h1}\n\
             {t0},k2,,desktop,1.1.1.1,page_view,shoes,/s,s2,{h1}\n\
             {t0},k3,m9,app,1.1.1.2,page_view,books,/b,s3,{h1}\n\
             {t0},k9,,desktop,1.1.1.3,page_view,books,/b,s4,\n"
        ),
    );
    write(
        &src,
        "email_events.csv",
        &format!(
            "ts,email_sha256,campaign,event\n{t0},{h1},june,open\n{t0},{h1},june,click\n{t1},{},may,open\n",
            email_sha256("ann@example.com")
        ),
    );
    write(
        &src,
        "ad_exposures.csv",
        &format!(
            "ts,cookie,device_id,campaign,event\n{t0},k2,,Summer Sale,impression\n{t0},k2,,Summer Sale,impression\n\
             {t0},,m9,Summer Sale,click\n{t0},k9,,Summer Sale,impression\n"
        ),
    );
    write(
        &src,
        "providers/acme_data.csv",
        "id_kind,id,age_band,income_band,interests,city\ncookie,k3,35-44,high,golf;Travel,Lyon\nmaid,m9,45-54,low,,Nice\ncookie,zz,18-24,low,golf,Paris\n",
    );
    src.to_string_lossy().into_owned()
}

fn store_with_crm(dir: &Path, src: &str) -> std::path::PathBuf {
    let s = dir.join("store");
    ok(&s, &["init"]);
    ok(&s, &["import", &format!("{src}/crm.csv"), "--id", "customer_id"]);
    s
}

#[test]
fn derive_computes_windows_exactly_at_their_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let src = world(dir.path());
    let s = store_with_crm(dir.path(), &src);
    let out = ok(&s, &["derive", &src, "--as-of", "2026-06-30", "--windows", "30,90"]);
    assert!(out.contains("as of 2026-06-30") && out.contains("2 profiles"), "{out}");
    let t = traits_by_customer(&s);
    let v = |id, name| value(&t, id, name);
    // Receipts: r1 (30 days, out of 30d), r2 by loyalty card, r3 online by customer id; r4 is
    // after the as-of day; r5 is anonymous.
    assert_eq!(v("c1", "purchase.recency_days"), Some("29"));
    assert_eq!(v("c1", "purchase.tenure_days"), Some("30"));
    assert_eq!(v("c1", "purchase.frequency"), Some("3"));
    assert_eq!(v("c1", "purchase.frequency_30d"), Some("2"));
    assert_eq!(v("c1", "purchase.monetary_30d"), Some("30.5"));
    assert_eq!(v("c1", "purchase.monetary_90d"), Some("70.5"));
    assert_eq!(v("c1", "purchase.spend.shoes_30d"), Some("20"));
    assert_eq!(v("c1", "purchase.count.shoes_90d"), Some("2"));
    assert_eq!(v("c1", "purchase.trend_30d"), Some(&*((30.5f64 - 40.0) / 70.5).to_string()));
    assert_eq!(v("c1", "channel.online_share"), Some(&*(1.0f64 / 3.0).to_string()));
    assert_eq!(v("c2", "purchase.recency_days"), None);
    assert_eq!(v("c2", "purchase.frequency_90d"), Some("0"));
    // Web: k2 logged in as c2, so its earlier page view (30 days old) counts too, decayed by half.
    assert_eq!(v("c2", "web.pageviews.shoes_decay"), Some("1.5"));
    assert_eq!(v("c2", "web.pageviews_30d"), Some("2"));
    assert_eq!(v("c2", "web.sessions_30d"), Some("2"));
    assert_eq!(v("c2", "web.sessions_90d"), Some("3"));
    assert_eq!(v("c2", "web.days_since_visit"), Some("0"));
    assert_eq!(v("c2", "cookies.count"), Some("2"));
    assert_eq!(v("c2", "devices.count"), Some("1"));
    assert_eq!(v("c1", "web.days_since_visit"), None);
    // E-mail: 2 campaigns sent; c2 opened and clicked june, c1 opened may.
    assert_eq!(v("c2", "email.open_rate"), Some("0.5"));
    assert_eq!(v("c2", "email.click_rate"), Some("0.5"));
    assert_eq!(v("c1", "email.open_rate"), Some("0.5"));
    assert_eq!(v("c1", "email.opens_30d"), Some("0"));
    // Ads: 2 impressions via cookie k2, a click via device m9; k9 is unknown.
    assert_eq!(v("c2", "ad.ctr.summer_sale"), Some("0.5"));
    assert_eq!(v("c2", "ad.impressions"), Some("2"));
    // CRM.
    assert_eq!(v("c1", "loyalty.member"), Some("true"));
    assert_eq!(v("c2", "loyalty.member"), Some("false"));
    assert_eq!(v("c1", "consent.ads"), Some("true"));
    assert_eq!(v("c1", "demo.age"), Some("35"));
    assert_eq!(v("c2", "demo.age"), Some("46"));
    assert_eq!(v("c1", "demo.tenure_days"), Some("10"));
    // 3rd party: c2 matched through cookie k3 (first row); interests as booleans.
    assert_eq!(v("c2", "provider.acme_data.age_band"), Some("35-44"));
    assert_eq!(v("c2", "provider.acme_data.interest.travel"), Some("true"));
    assert_eq!(v("c1", "provider.acme_data.interest.golf"), None);
    // Imported traits are kept next to the derived ones; PII is not.
    assert_eq!(v("c1", "country"), Some("FR"));
    assert!(!t["c1"].contains_key("email"));
    // Origins in the index manifest.
    let manifest = fs::read_to_string(s.join("profiles/index.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let meta = m["traits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "provider.acme_data.city")
        .unwrap();
    assert_eq!(
        (meta["party"].as_str(), meta["provider"].as_str()),
        (Some("third"), Some("acme_data"))
    );
    // The segment index answers on derived traits.
    let store = audience::store::Store::open(&s).unwrap();
    let mut index =
        audience::index::BitmapIndex::open(&store, Some(&["purchase.frequency_30d"])).unwrap();
    let f = index.load(&store, "purchase.frequency_30d").unwrap();
    assert_eq!(f.compare(audience::index::CmpOp::Ge, 1.0).len(), 1);
}

#[test]
fn rederive_replaces_and_reimport_keeps_derived_traits() {
    let dir = tempfile::tempdir().unwrap();
    let src = world(dir.path());
    let s = store_with_crm(dir.path(), &src);
    ok(&s, &["derive", &src, "--windows", "30,90"]);
    ok(&s, &["derive", &src, "--windows", "7"]);
    let t = traits_by_customer(&s);
    assert!(t["c1"].contains_key("purchase.frequency_7d"));
    assert!(!t["c1"].contains_key("purchase.frequency_30d"), "the previous derive's traits go");
    let listing = ok(&s, &["traits"]);
    assert!(
        listing.contains("purchase.frequency_7d")
            && listing.contains("purchases in the last W days"),
        "{listing}"
    );
    assert!(
        listing.contains("third/acme_data") && listing.contains("imported column"),
        "{listing}"
    );
    let catalog = ok(&s, &["traits", "--catalog"]);
    assert!(catalog.contains("web.pageviews.{CAT}_decay"), "{catalog}");
    // Each writer replaces only its own traits: re-importing keeps the derived ones.
    ok(&s, &["import", &format!("{src}/crm.csv"), "--id", "customer_id"]);
    assert!(traits_by_customer(&s)["c1"].contains_key("purchase.frequency_7d"));
}

#[test]
fn derive_on_a_resolved_store_follows_its_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let src = world(dir.path());
    let s = dir.path().join("resolved");
    ok(&s, &["init"]);
    ok(&s, &["resolve", &src]);
    let out = ok(&s, &["derive", &src, "--as-of", "2026-06-30"]);
    assert!(out.contains("identity graph"), "{out}");
    let t = traits_by_customer(&s);
    // k9 never logged in: without resolve its events have no profile; resolve gave it one.
    assert_eq!(value(&t, "cookie:k9", "web.pageviews_30d"), Some("1"));
    assert_eq!(value(&t, "cookie:k9", "ad.impressions"), Some("1"));
    // Bob's page views on k2 (after its login) and k3 (his e-mail hash) are his.
    assert_eq!(value(&t, "c2", "web.pageviews_30d"), Some("2"));
    assert_eq!(value(&t, "c1", "purchase.frequency_30d"), Some("2"));

    // The customer-keyed store (import of the CRM) has no profile for k9.
    let c = store_with_crm(dir.path(), &src);
    let out = ok(&c, &["derive", &src, "--as-of", "2026-06-30"]);
    assert!(out.contains("customer ids"), "{out}");
    assert!(!traits_by_customer(&c).contains_key("cookie:k9"));
}

#[test]
fn bad_sources_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = world(dir.path());
    let s = store_with_crm(dir.path(), &src);
    let e = fails(&s, &["derive", &src, "--as-of", "30/06/2026"]);
    assert!(e.contains("--as-of") && e.contains("YYYY-MM-DD"), "{e}");
    write(Path::new(&src), "receipts.csv", "receipt_id,time,amount\nr1,5,1.0\n");
    let e = fails(&s, &["derive", &src]);
    assert!(e.contains("receipts.csv") && e.contains("no column `ts`"), "{e}");
    write(Path::new(&src), "receipts.csv", "ts,amount\n5,1.0\nsoon,2.0\n");
    let e = fails(&s, &["derive", &src]);
    assert!(e.contains("row 2 (line 3)") && e.contains("`ts`") && e.contains("`soon`"), "{e}");
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let e = fails(&s, &["derive", empty.to_str().unwrap()]);
    assert!(e.contains("none of receipts"), "{e}");
}

#[test]
fn cdnow_rfm_matches_brute_force() {
    let Some(path) = shared_data("cdnow_master.csv.gz") else { return };
    let t = read_table(&path).unwrap();
    let ids = &t.column("customer_id").unwrap().data;
    let dates = &t.column("date").unwrap().data;
    let cds = &t.column("number_of_cds").unwrap().data;
    let dollars = &t.column("dollar_value").unwrap().data;
    let dir = tempfile::tempdir().unwrap();
    let mut receipts = String::from(
        "receipt_id,ts,store_id,channel,loyalty_card,customer_id,category,amount,lines\n",
    );
    // customer -> (last day, count, spend in file order)
    let mut brute: HashMap<String, (i64, i64, f64)> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut latest = i64::MIN;
    for i in 0..t.rows {
        let id = ids.text(i).unwrap();
        let d = dates.number(i).unwrap() as i64;
        let day = days_from_civil(d / 10_000, (d / 100 % 100) as u32, (d % 100) as u32);
        let amount = dollars.number(i).unwrap();
        let lines = cds.number(i).unwrap() as i64;
        receipts +=
            &format!("r{i},{},s1,store,,{id},cds,{amount},{lines}\n", day * 86_400 + 43_200);
        let e = brute.entry(id.clone()).or_insert_with(|| {
            order.push(id.clone());
            (i64::MIN, 0, 0.0)
        });
        e.0 = e.0.max(day);
        e.1 += 1;
        e.2 += amount;
        latest = latest.max(day);
    }
    let src = dir.path().join("src");
    write(&src, "receipts.csv", &receipts);
    let profiles = format!("customer_id\n{}\n", order.join("\n"));
    let pfile = write(dir.path(), "profiles.csv", &profiles);
    let s = dir.path().join("store");
    ok(&s, &["init"]);
    ok(&s, &["import", &pfile, "--id", "customer_id"]);
    let out = ok(&s, &["derive", src.to_str().unwrap()]);
    assert!(out.contains("23570 profiles") && out.contains("as of 1998-06-30"), "{out}");
    let store = audience::store::Store::open(&s).unwrap();
    let map = audience::idmap::IdMap::load(&store).unwrap();
    let traits = read_table(s.join("profiles/traits.parquet")).unwrap();
    assert_eq!(traits.rows, 23_570);
    let col = |n: &str| &traits.column(n).unwrap().data;
    let (pid, rec, freq, mon) = (
        col("_pid"),
        col("purchase.recency_days"),
        col("purchase.frequency"),
        col("purchase.monetary"),
    );
    let ColumnData::Float(mon) = mon else { panic!("monetary is a float trait") };
    #[allow(clippy::needless_range_loop)] // parallel columns, indexed by row
    for i in 0..traits.rows {
        let id = map.id(pid.number(i).unwrap() as u32).unwrap();
        let (last, count, spend) = brute[id];
        assert_eq!(rec.number(i), Some((latest - last) as f64), "recency of {id}");
        assert_eq!(freq.number(i), Some(count as f64), "frequency of {id}");
        assert_eq!(mon[i], Some(spend), "monetary of {id}");
    }
}

#[test]
fn shipped_views_build_on_a_derived_store_and_a_typo_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = world(dir.path());
    let s = store_with_crm(dir.path(), &src);
    ok(&s, &["derive", &src]);
    let root = env!("CARGO_MANIFEST_DIR");
    let saved = dir.path().join("view.json");
    let out = ok(
        &s,
        &["view", &format!("{root}/models/lookalike.toml"), "--save", saved.to_str().unwrap()],
    );
    assert!(
        out.contains("view `lookalike`: 2 rows")
            && out.contains("provider.acme_data.age_band=35-44"),
        "{out}"
    );
    let out = ok(&s, &["view", &format!("{root}/models/actalike.toml")]);
    assert!(out.contains("web.pageviews.shoes_decay"), "{out}");
    // Clusters over a spec's view: each of the 2 profiles is its own cluster.
    let out = ok(&s, &["cluster", "--view", &format!("{root}/models/actalike.toml"), "--k", "2"]);
    assert!(out.contains("view `actalike`") && out.contains("cluster.1.1: 1 profiles"), "{out}");
    let err = fails(&s, &["cluster", "--view", "nosuch", "--k", "2"]);
    assert!(err.contains("unknown view `nosuch`") && err.contains("actalike"), "{err}");
    // The saved parameters rebuild the same matrix.
    let store = audience::store::Store::open(&s).unwrap();
    let traits = audience::features::Traits::load(&store).unwrap();
    let spec = audience::features::ViewSpec::load(format!("{root}/models/lookalike.toml")).unwrap();
    let (m, _) = audience::features::build(&spec, &traits).unwrap();
    let params = audience::features::ViewParams::load(&saved).unwrap();
    assert_eq!(audience::features::apply(&params, &traits).unwrap(), m);
    let bad = write(
        dir.path(),
        "bad.toml",
        "[view]\n[[view.features]]\ntrait = \"purchase.recency_day\"\n",
    );
    let e = fails(&s, &["view", &bad]);
    assert!(
        e.contains("bad.toml: feature 1") && e.contains("nearest trait is `purchase.recency_days`"),
        "{e}"
    );
}
