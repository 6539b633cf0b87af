//! Drawing one household: its people (latent persona, demographics, identifiers, PII) and every
//! row they leave in the sources, the profile table and the truth.
//!
//! Everything a household draws comes from one RNG seeded by (seed, index of its first person), so
//! a household's rows do not depend on chunking or threads. Identifiers are unique by
//! construction: they are bijective scrambles of (person index, slot), never plain random draws.
//!
//! Owns the behaviour model. It does not own the schemas ([`super::tables`]), the constant
//! vocabularies ([`super::vocab`]) nor the files ([`super::sink`]).

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::sink::{Buf, V};
use super::tables::ix;
use super::vocab::{
    age_band, Country, Postcode, AD_CAMPAIGNS, AGENTS, AGE_BANDS, CATEGORIES, COUNTRIES,
    EMAIL_CAMPAIGNS, INCOME_BANDS, PARTNERS, PERSONAS, PROVIDERS, VENUES,
};
use crate::store::{civil_from_days, days_from_civil};

/// First second of the generated span: 2025-12-01T00:00:00Z.
pub fn span_start() -> i64 {
    days_from_civil(2025, 12, 1) * 86_400
}

/// Days in the span (2025-12-01 ..= 2026-11-30).
pub const SPAN_DAYS: i64 = 365;

/// First second after the span: 2026-12-01T00:00:00Z.
pub fn span_end() -> i64 {
    span_start() + SPAN_DAYS * 86_400
}

/// The most people a world may hold (identifier scrambles have room for this many).
pub const MAX_PEOPLE: u64 = 30_000_000;

/// The splitmix64 finaliser: a bijection on u64 that mixes well.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection on `0 .. 2^bits` keyed by `key`: distinct inputs give distinct outputs.
pub fn scramble(x: u64, bits: u32, key: u64) -> u64 {
    let mask = (1u64 << bits) - 1;
    let mut x = x & mask;
    for round in 0..3u64 {
        x = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15 | 1)) & mask;
        x ^= x >> (bits / 2);
        x = (x + (mix(key ^ round) & mask)) & mask;
    }
    x
}

/// Keys for each identifier kind, derived from the seed.
#[derive(Debug, Clone)]
pub struct Keys {
    seed: u64,
    cookie: u64,
    maid: (u64, u64),
    partner_cookie: u64,
    session: u64,
    receipt: u64,
    customer: u64,
    loyalty: u64,
    phone: u64,
    email: u64,
    ip: u64,
}

impl Keys {
    /// The keys of world `seed`.
    pub fn new(seed: u64) -> Keys {
        let k = |i: u64| mix(seed ^ mix(0xA5A5_0000 + i));
        Keys {
            seed,
            cookie: k(1),
            maid: (k(2), k(3)),
            partner_cookie: k(4),
            session: k(5),
            receipt: k(6),
            customer: k(7),
            loyalty: k(8),
            phone: k(9),
            email: k(10),
            ip: k(11),
        }
    }

    /// The RNG of a stream (`what`) and index, independent of every other.
    pub fn rng(&self, what: u64, index: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(mix(
            self.seed ^ mix(what.wrapping_mul(0x1_0000_0001) ^ mix(index))
        ))
    }
}

/// What the whole world shares: the keys, the number of people and the public IPs.
#[derive(Debug, Clone)]
pub struct World {
    /// Identifier keys.
    pub keys: Keys,
    /// Number of people.
    pub people: u64,
    /// Number of public IPs (cafes, offices, ...).
    pub public_ips: u64,
}

impl World {
    /// The world of `people` people drawn with `seed`.
    pub fn new(seed: u64, people: u64) -> World {
        World { keys: Keys::new(seed), people, public_ips: (people / 2000).max(16) }
    }

    /// The IP and venue of public IP number `j`.
    pub fn public_ip(&self, j: u64) -> (String, &'static str) {
        let s = scramble(j, 24, self.keys.ip ^ 0x5055_424c);
        (format!("185.{}.{}.{}", s >> 16, (s >> 8) & 255, s & 255), VENUES[(j % 4) as usize])
    }
}

/// Lower-case hex SHA-256 of `s`.
pub fn hex_sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The email as matched by everyone: trimmed and lower-cased.
pub fn normalise_email(s: &str) -> String {
    s.trim().to_lowercase()
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(1e-12..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 40.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Hours of the day weighted by activity (night low, evening high).
const HOUR_WEIGHTS: [f64; 24] = [
    0.3, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.4, 1.5, 1.6, 1.7, 2.0, 1.9, 1.7, 1.6, 1.7, 1.9, 2.2,
    2.5, 2.6, 2.2, 1.4, 0.7,
];

fn ts_in(rng: &mut ChaCha8Rng, from: i64, to: i64) -> i64 {
    let start = span_start();
    let (d0, d1) =
        ((from - start).max(0) / 86_400, ((to - start).min(SPAN_DAYS * 86_400) - 1) / 86_400);
    let day = if d1 > d0 { rng.gen_range(d0..=d1) } else { d0 };
    let hour = pick(rng, &HOUR_WEIGHTS) as i64;
    let t = start + day * 86_400 + hour * 3600 + rng.gen_range(0..3600);
    t.clamp(from, to - 1)
}

fn date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn age_at(birth: i64, at: i64) -> u32 {
    let (by, bm, bd) = civil_from_days(birth);
    let (y, m, d) = civil_from_days(at);
    let mut age = y - by;
    if (m, d) < (bm, bd) {
        age -= 1;
    }
    age.max(0) as u32
}

/// Removes accents for email local parts: `José` → `jose`, `Müller` → `muller`, `ß` → `ss`.
pub fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.nfd() {
        match ch {
            'ß' => out.push_str("ss"),
            'ø' | 'Ø' => out.push('o'),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            c if c.is_ascii() => out.push(c),
            _ => {}
        }
    }
    out
}

fn german_fold(s: &str) -> String {
    s.replace('ü', "ue").replace('ö', "oe").replace('ä', "ae").replace('Ü', "Ue").replace('ß', "ss")
}

fn typo(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let i = rng.gen_range(1..chars.len() - 1);
    match rng.gen_range(0..4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ => chars[i] = (b'a' + rng.gen_range(0..26u8)) as char,
    }
    chars.into_iter().collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DeviceKind {
    Desktop,
    Mobile,
    Tablet,
    App,
}

impl DeviceKind {
    fn name(self) -> &'static str {
        match self {
            DeviceKind::Desktop => "desktop",
            DeviceKind::Mobile => "mobile",
            DeviceKind::Tablet => "tablet",
            DeviceKind::App => "app",
        }
    }
}

struct Device {
    kind: DeviceKind,
    /// Web cookies, one after the other over the span (cookie churn); empty for the app.
    cookies: Vec<String>,
    /// The mobile advertising id of the app; empty for web devices.
    maid: String,
    /// Its browser or app: an index into [`AGENTS`].
    agent: usize,
    /// How many versions it lags behind the newest (late updaters).
    lag: u32,
}

impl Device {
    fn cookie_at(&self, ts: i64) -> &str {
        if self.cookies.is_empty() {
            return "";
        }
        let n = self.cookies.len() as i64;
        let i = ((ts - span_start()).clamp(0, SPAN_DAYS * 86_400 - 1) * n) / (SPAN_DAYS * 86_400);
        &self.cookies[i as usize]
    }

    /// Its user agent string at `ts`.
    fn user_agent(&self, ts: i64) -> String {
        let a = &AGENTS[self.agent];
        let day = ((ts - span_start()) / 86_400).clamp(0, SPAN_DAYS - 1) as u32;
        let v = (a.base + day / a.every_days).saturating_sub(self.lag).max(1);
        a.template.replace("{v}", &v.to_string())
    }
}

/// The agent and lag of device `slot` of person `index`, of `kind`, from a hash of the two (no
/// draw from the household's RNG, so the other columns do not depend on it); an app's agent
/// follows its MAID's platform.
fn device_agent(keys: &Keys, index: u64, slot: u64, kind: DeviceKind, maid: &str) -> (usize, u32) {
    let h = mix(keys.cookie ^ 0x5541_0000 ^ (index << 8 | slot));
    let code = match kind {
        DeviceKind::Desktop => 0,
        DeviceKind::Mobile => 1,
        DeviceKind::Tablet => 2,
        DeviceKind::App => 3,
    };
    let lag = [0, 0, 0, 1, 1, 2][(h % 6) as usize];
    let ios = maid.chars().any(|c| c.is_ascii_uppercase());
    if kind == DeviceKind::App {
        // AGENTS lists the iOS app, then the Android one.
        let i = AGENTS.iter().position(|a| a.kind == 3).unwrap_or(0);
        return (if ios { i } else { i + 1 }, lag);
    }
    let total: f64 = AGENTS.iter().filter(|a| a.kind == code).map(|a| a.weight).sum();
    let mut x = (h >> 11) as f64 / (1u64 << 53) as f64 * total;
    for (i, a) in AGENTS.iter().enumerate().filter(|(_, a)| a.kind == code) {
        if x < a.weight {
            return (i, lag);
        }
        x -= a.weight;
    }
    (AGENTS.iter().rposition(|a| a.kind == code).unwrap_or(0), lag)
}

struct Address {
    street: String,
    city: usize,
    postcode: String,
}

struct Household {
    index: u64,
    country: usize,
    address: Address,
    ip: String,
    last_name: &'static str,
    head_age: u32,
    head_persona: usize,
    income: usize,
}

struct Person {
    index: u64,
    id: String,
    persona: usize,
    female: bool,
    birth_day: i64,
    age: u32,
    income: usize,
    engagement: f64,
    affinity: [f64; 14],
    first_name: &'static str,
    last_name: &'static str,
    is_digital: bool,
    visits_site: bool,
    has_app: bool,
    is_customer: bool,
    store_shopper: bool,
    loyalty_member: bool,
    partner_visitor: bool,
    ad_consent: bool,
    public_ip: Option<u64>,
    email: String,
    email_hash: String,
    devices: Vec<Device>,
}

/// Behaviour summaries of one person, for the profile table.
#[derive(Default)]
struct Summary {
    purchases: i64,
    spend: f64,
    sessions_90d: i64,
    opens_90d: i64,
    ad_clicks: i64,
}

/// Draws household sizes for a chunk of `len` people with `rng`: the sizes sum to `len`.
pub fn household_sizes(rng: &mut ChaCha8Rng, len: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let s = [1u64, 2, 3, 4][pick(rng, &[0.36, 0.34, 0.16, 0.14])].min(left);
        sizes.push(s);
        left -= s;
    }
    sizes
}

/// Writes every row of the household whose first person is `first` and which has `size` people
/// into `out` (indexed by [`ix`]).
pub fn household(world: &World, first: u64, size: u64, out: &mut [Buf]) {
    let keys = &world.keys;
    let mut rng = keys.rng(1, first);
    let country = pick(&mut rng, &COUNTRIES.map(|c| c.weight));
    let c = &COUNTRIES[country];
    let head_persona = pick(&mut rng, &PERSONAS.map(|p| p.weight));
    let hp = &PERSONAS[head_persona];
    let head_age = (hp.age.0 + hp.age.1 * normal(&mut rng)).clamp(18.0, 95.0) as u32;
    let income = pick(&mut rng, &hp.income);
    let address = draw_address(&mut rng, c, None);
    let s = scramble(first, 25, keys.ip);
    let ip = format!(
        "{}.{}.{}.{}",
        c.ip_octets[(s >> 24) as usize & 1],
        (s >> 16) & 255,
        (s >> 8) & 255,
        s & 255
    );
    let last_name = c.last[rng.gen_range(0..c.last.len())];
    let hh =
        Household { index: first, country, address, ip, last_name, head_age, head_persona, income };
    for m in 0..size {
        let p = draw_person(world, &mut rng, &hh, m, first + m);
        emit_person(world, &mut rng, &hh, &p, out);
    }
}

fn draw_address(rng: &mut ChaCha8Rng, c: &Country, city: Option<usize>) -> Address {
    let city =
        city.unwrap_or_else(|| pick(rng, &c.cities.iter().map(|x| x.weight).collect::<Vec<_>>()));
    let street = c.streets[rng.gen_range(0..c.streets.len())]
        .replace('#', &rng.gen_range(1..180).to_string());
    let postcode = match c.cities[city].postcode {
        Postcode::Digits(lo, hi) => format!("{:05}", rng.gen_range(lo..=hi)),
        Postcode::Uk(outs) => format!(
            "{} {}{}{}",
            outs[rng.gen_range(0..outs.len())],
            rng.gen_range(1..10),
            (b'A' + rng.gen_range(0..26u8)) as char,
            (b'A' + rng.gen_range(0..26u8)) as char
        ),
    };
    Address { street, city, postcode }
}

fn draw_person(
    world: &World,
    rng: &mut ChaCha8Rng,
    hh: &Household,
    member: u64,
    index: u64,
) -> Person {
    let keys = &world.keys;
    let c = &COUNTRIES[hh.country];
    let (persona, age) = match member {
        0 => (hh.head_persona, hh.head_age),
        1 => {
            let persona = if rng.gen_bool(0.4) {
                hh.head_persona
            } else {
                pick(rng, &PERSONAS.map(|p| p.weight))
            };
            (persona, (hh.head_age as f64 + 4.0 * normal(rng)).clamp(18.0, 95.0) as u32)
        }
        _ => {
            // Grown children living at home, or flatmates of a young head.
            let mut w = PERSONAS.map(|p| p.weight);
            w[7] = 0.0;
            let persona = pick(rng, &w);
            let age = if hh.head_age >= 42 {
                rng.gen_range(18..26)
            } else {
                (hh.head_age as f64 + 4.0 * normal(rng)).clamp(18.0, 60.0) as u32
            };
            (persona, age)
        }
    };
    let pe = &PERSONAS[persona];
    let female = rng.gen_bool(pe.female);
    let refday = span_end() / 86_400;
    let birth_day = refday - age as i64 * 365 - age as i64 / 4 - rng.gen_range(1..365);
    let age = age_at(birth_day, refday);
    let income = if member < 2 && rng.gen_bool(0.7) { hh.income } else { pick(rng, &pe.income) };
    let engagement = (pe.engagement + 0.18 * normal(rng)).clamp(0.01, 0.99);
    let mut affinity = pe.affinity;
    for a in &mut affinity {
        *a *= (0.4 * normal(rng)).exp();
    }
    let first_name = if female {
        c.female[rng.gen_range(0..c.female.len())]
    } else {
        c.male[rng.gen_range(0..c.male.len())]
    };
    let last_name = if member == 1 && rng.gen_bool(0.2) {
        c.last[rng.gen_range(0..c.last.len())]
    } else {
        hh.last_name
    };
    let digital_p = if age > 70 { pe.digital * 0.6 } else { pe.digital };
    let is_digital = rng.gen_bool(digital_p);
    let visits_site = is_digital && rng.gen_bool(0.7);
    let has_app = visits_site && rng.gen_bool(if persona == 2 { 0.5 } else { 0.3 });
    let is_customer = rng.gen_bool(if visits_site {
        0.55
    } else if is_digital {
        0.25
    } else {
        0.55
    });
    let store_shopper = rng.gen_bool(if is_digital { 0.75 } else { 0.92 });
    let loyalty_member = is_customer && store_shopper && rng.gen_bool(0.65);
    let partner_visitor = is_digital && rng.gen_bool(0.4);
    let ad_consent = rng.gen_bool(0.65);
    let public_ip = (is_digital && rng.gen_bool(0.2)).then(|| rng.gen_range(0..world.public_ips));

    // A unique email: name-based local part with a number that is a bijection of the index.
    let style = rng.gen_range(0..5);
    let domain = if rng.gen_bool(0.45) {
        c.domains[0]
    } else {
        c.domains[rng.gen_range(0..c.domains.len())]
    };
    let email =
        email_address(first_name, last_name, style, scramble(index * 2, 26, keys.email), domain);
    let email_hash = hex_sha256(&email);

    let mut devices = Vec::new();
    if is_digital {
        let kinds = [
            (DeviceKind::Desktop, 0.6, 0.8),
            (DeviceKind::Mobile, 0.85, 2.0),
            (DeviceKind::Tablet, 0.2, 0.5),
        ];
        for (slot, (kind, p, churn)) in kinds.iter().enumerate() {
            if rng.gen_bool(*p) || (slot == 1 && devices.is_empty()) {
                let n = (1 + poisson(rng, *churn)).min(31) as u64;
                let cookies = (0..n)
                    .map(|k| {
                        format!("{:016x}", mix(keys.cookie ^ (index << 8 | (slot as u64) << 5 | k)))
                    })
                    .collect();
                let (agent, lag) = device_agent(keys, index, slot as u64, *kind, "");
                devices.push(Device { kind: *kind, cookies, maid: String::new(), agent, lag });
            }
        }
        if has_app {
            let (a, b) = (mix(keys.maid.0 ^ index), mix(keys.maid.1 ^ index));
            let mut maid = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                (b >> 48) & 0x3fff | 0x8000,
                b & 0xffff_ffff_ffff
            );
            if rng.gen_bool(0.5) {
                maid = maid.to_uppercase(); // iOS IDFA style
            }
            let (agent, lag) = device_agent(keys, index, 7, DeviceKind::App, &maid);
            devices.push(Device { kind: DeviceKind::App, cookies: Vec::new(), maid, agent, lag });
        }
    }
    Person {
        index,
        id: format!("P{index:08}"),
        persona,
        female,
        birth_day,
        age,
        income,
        engagement,
        affinity,
        first_name,
        last_name,
        is_digital,
        visits_site,
        has_app,
        is_customer,
        store_shopper,
        loyalty_member,
        partner_visitor,
        ad_consent,
        public_ip,
        email,
        email_hash,
        devices,
    }
}

/// `first.last123@domain` and other styles; `n` makes the address unique.
fn email_address(first: &str, last: &str, style: u32, n: u64, domain: &str) -> String {
    let f = ascii_fold(first).to_lowercase().replace([' ', '\''], "");
    let l = ascii_fold(last).to_lowercase().replace([' ', '\''], "");
    match style {
        0 => format!("{f}.{l}{n}@{domain}"),
        1 => format!("{f}{l}{n}@{domain}"),
        2 => format!("{}{l}{n}@{domain}", &f[..1]),
        3 => format!("{l}.{f}{n}@{domain}"),
        _ => format!("{f}_{l}{n}@{domain}"),
    }
}

fn top_interests(aff: &[f64; 14]) -> [usize; 3] {
    let mut order: Vec<usize> = (0..14).collect();
    order.sort_by(|a, b| aff[*b].total_cmp(&aff[*a]).then(a.cmp(b)));
    [order[0], order[1], order[2]]
}

fn e164(c: &Country, index: u64, which: u64, keys: &Keys) -> (String, String) {
    let s = scramble(index * 2 + which, 26, keys.phone);
    let (prefix, digits) = if c.phone.cc == "1" {
        (c.phone.prefixes[(s / 10_000_000) as usize], format!("{:07}", s % 10_000_000))
    } else {
        (c.phone.prefixes[(s % c.phone.prefixes.len() as u64) as usize], format!("{s:08}"))
    };
    (format!("+{}{prefix}{digits}", c.phone.cc), format!("{prefix}{digits}"))
}

/// A phone as people write it: spaced international, national, `00` prefix or plain E.164.
fn phone_variant(rng: &mut ChaCha8Rng, c: &Country, sig: &str) -> String {
    let cc = c.phone.cc;
    let grouped = match c.code {
        "FR" => {
            let (a, rest) = sig.split_at(1);
            let pairs: Vec<&str> = (0..4).map(|i| &rest[i * 2..i * 2 + 2]).collect();
            format!("{a} {}", pairs.join(" "))
        }
        "US" => format!("({}) {}-{}", &sig[..3], &sig[3..6], &sig[6..]),
        "ES" => format!("{} {} {}", &sig[..3], &sig[3..6], &sig[6..]),
        "GB" => format!("{} {}", &sig[..4], &sig[4..]),
        _ => {
            let cut = sig.len() - 7;
            format!("{} {}", &sig[..cut.max(3)], &sig[cut.max(3)..])
        }
    };
    match rng.gen_range(0..4) {
        0 => {
            if cc == "1" {
                format!("+1 {grouped}")
            } else {
                format!("+{cc} {grouped}")
            }
        }
        1 => {
            if c.phone.trunk_zero {
                format!("0{grouped}")
            } else if cc == "1" {
                grouped
            } else {
                grouped.replace(' ', "")
            }
        }
        2 => format!("00{cc}{sig}"),
        _ => format!("+{cc}{sig}"),
    }
}

fn email_variant(rng: &mut ChaCha8Rng, email: &str, truth: &mut Vec<String>) -> String {
    let mut e = email.to_string();
    if e.ends_with("@gmail.com") && rng.gen_bool(0.15) {
        let (local, domain) = e.split_once('@').expect("an email has an @");
        let local =
            if rng.gen_bool(0.5) { local.replace('.', "") } else { format!("{local}+shop") };
        e = format!("{local}@{domain}");
        // A different mailbox spelling: its own hash, which identity resolution may link.
        truth.push(hex_sha256(&normalise_email(&e)));
    }
    let r: f64 = rng.gen();
    if r < 0.05 {
        e.to_uppercase()
    } else if r < 0.08 {
        format!(" {e} ")
    } else if r < 0.12 {
        let mut cs = e.chars();
        cs.next().map(|f| f.to_uppercase().collect::<String>() + cs.as_str()).unwrap_or_default()
    } else {
        e
    }
}

fn name_variant(rng: &mut ChaCha8Rng, name: &str, country: &str) -> String {
    let r: f64 = rng.gen();
    if r < 0.03 {
        typo(rng, name)
    } else if r < 0.10 {
        if country == "DE" && rng.gen_bool(0.5) {
            german_fold(name)
        } else {
            ascii_fold(name)
        }
    } else if r < 0.13 {
        name.to_uppercase()
    } else if r < 0.15 {
        name.to_lowercase()
    } else {
        name.to_string()
    }
}

fn street_variant(rng: &mut ChaCha8Rng, c: &Country, street: &str) -> String {
    let r: f64 = rng.gen();
    if r < 0.02 {
        String::new()
    } else if r < 0.25 {
        let mut s = street.to_string();
        for (long, short) in c.street_abbrev {
            s = s.replace(long, short);
        }
        s
    } else if r < 0.30 {
        street.to_lowercase()
    } else {
        street.to_string()
    }
}

#[allow(clippy::too_many_arguments)]
fn crm_row(
    rng: &mut ChaCha8Rng,
    c: &Country,
    p: &Person,
    customer_id: &str,
    email: Option<&str>,
    sig: &str,
    address: &Address,
    loyalty: &str,
    signup_day: i64,
    truth_emails: &mut Vec<String>,
    out: &mut Buf,
) {
    let first = name_variant(rng, p.first_name, c.code);
    let last = name_variant(rng, p.last_name, c.code);
    let email = match email {
        Some(e) if !rng.gen_bool(0.1) => email_variant(rng, e, truth_emails),
        _ => String::new(),
    };
    let phone = if rng.gen_bool(0.25) { String::new() } else { phone_variant(rng, c, sig) };
    let street = street_variant(rng, c, &address.street);
    let city = &c.cities[address.city];
    let city = match rng.gen_range(0..20) {
        0 if !city.variant.is_empty() => city.variant.to_string(),
        1 => city.name.to_uppercase(),
        _ => city.name.to_string(),
    };
    let postcode = if rng.gen_bool(0.02) { "" } else { address.postcode.as_str() };
    let country = if rng.gen_bool(0.01) { c.code.to_lowercase() } else { c.code.to_string() };
    let birth = match rng.gen_range(0..100) {
        0..=11 => String::new(),
        12 => date(p.birth_day + rng.gen_range(1..40)),
        _ => date(p.birth_day),
    };
    let gender = match rng.gen_range(0..10) {
        0 => "",
        1 => {
            if p.female {
                c.gender_variants.1
            } else {
                c.gender_variants.0
            }
        }
        _ => {
            if p.female {
                "F"
            } else {
                "M"
            }
        }
    };
    let consent = if rng.gen_bool(0.05) { !p.ad_consent } else { p.ad_consent };
    out.row(&[
        V::S(customer_id),
        V::S(&first),
        V::S(&last),
        V::S(&email),
        V::S(&phone),
        V::S(&street),
        V::S(&city),
        V::S(postcode),
        V::S(&country),
        V::S(&birth),
        V::S(gender),
        V::S(loyalty),
        V::B(consent),
        V::S(&date(signup_day)),
    ]);
}

struct Ids<'a> {
    person: &'a str,
    rows: Vec<(&'static str, String)>,
}

impl Ids<'_> {
    fn add(&mut self, kind: &'static str, value: String) {
        self.rows.push((kind, value));
    }
}

fn emit_person(world: &World, rng: &mut ChaCha8Rng, hh: &Household, p: &Person, out: &mut [Buf]) {
    let keys = &world.keys;
    let c = &COUNTRIES[hh.country];
    let pe = &PERSONAS[p.persona];
    let start = span_start();
    let end = span_end();
    let recent = end - 90 * 86_400;
    let mut ids = Ids { person: &p.id, rows: Vec::new() };
    let mut sum = Summary::default();
    let aff_max = p.affinity.iter().cloned().fold(0.0, f64::max);

    // ---- identity: CRM records, loyalty card, phone ----
    let loyalty = if p.loyalty_member {
        format!("LC{:010}", scramble(p.index, 26, keys.loyalty) * 97 % 10_000_000_000)
    } else {
        String::new()
    };
    let mut customer_id = String::new();
    let mut known_email = false;
    if p.is_customer {
        let (phone_e164, sig) = e164(c, p.index, 0, keys);
        let mut truth_emails = Vec::new();
        let mover = rng.gen_bool(0.08);
        let duplicate = rng.gen_bool(0.02);
        let new_customer = rng.gen_bool(0.15);
        let signup0 = if new_customer {
            start / 86_400 + rng.gen_range(0..SPAN_DAYS - 1)
        } else {
            days_from_civil(2012, 1, 1)
                + rng.gen_range(0..(start / 86_400 - days_from_civil(2012, 1, 1)))
        };
        let cid = |r: u64| format!("C{:09}", scramble(p.index * 4 + r, 27, keys.customer));
        // Movers: the first record holds the old address, the second the current one.
        let old = if mover {
            let same_city = rng.gen_bool(0.5).then_some(hh.address.city);
            Some(draw_address(rng, c, same_city))
        } else {
            None
        };
        let first_addr = old.as_ref().unwrap_or(&hh.address);
        customer_id = cid(0);
        crm_row(
            rng,
            c,
            p,
            &customer_id,
            Some(&p.email),
            &sig,
            first_addr,
            &loyalty,
            signup0,
            &mut truth_emails,
            &mut out[ix::CRM],
        );
        ids.add("customer_id", customer_id.clone());
        if mover {
            let id1 = cid(1);
            let signup1 = (signup0 + rng.gen_range(30..900)).min(end / 86_400 - 1);
            let email1 = if rng.gen_bool(0.4) {
                let n = scramble(p.index * 2 + 1, 26, keys.email);
                let domain = c.domains[rng.gen_range(0..c.domains.len())];
                let e = email_address(p.first_name, p.last_name, rng.gen_range(0..5), n, domain);
                ids.add("email", hex_sha256(&e));
                e
            } else {
                p.email.clone()
            };
            let (phone1, sig1) = if rng.gen_bool(0.3) {
                e164(c, p.index, 1, keys)
            } else {
                (phone_e164.clone(), sig.clone())
            };
            if phone1 != phone_e164 {
                ids.add("phone", hex_sha256(&phone1));
            }
            let card = if rng.gen_bool(0.8) { loyalty.as_str() } else { "" };
            crm_row(
                rng,
                c,
                p,
                &id1,
                Some(&email1),
                &sig1,
                &hh.address,
                card,
                signup1,
                &mut truth_emails,
                &mut out[ix::CRM],
            );
            ids.add("customer_id", id1.clone());
            customer_id = id1; // online orders use the current account
        }
        if duplicate {
            let id2 = cid(2);
            let signup2 = (signup0 + rng.gen_range(1..400)).min(end / 86_400 - 1);
            let card = if rng.gen_bool(0.5) { loyalty.as_str() } else { "" };
            crm_row(
                rng,
                c,
                p,
                &id2,
                Some(&p.email),
                &sig,
                &hh.address,
                card,
                signup2,
                &mut truth_emails,
                &mut out[ix::CRM],
            );
            ids.add("customer_id", id2);
        }
        ids.add("phone", hex_sha256(&phone_e164));
        truth_emails.sort();
        truth_emails.dedup();
        for h in truth_emails {
            if h != p.email_hash {
                ids.add("email", h);
            }
        }
        known_email = true;
    }
    if p.loyalty_member {
        ids.add("loyalty_card", loyalty.clone());
    }
    for d in &p.devices {
        for ck in &d.cookies {
            ids.add("cookie", ck.clone());
        }
        if !d.maid.is_empty() {
            ids.add("device", d.maid.clone());
        }
    }

    let public_ip = p.public_ip.map(|j| world.public_ip(j).0).unwrap_or_default();
    let session_ip = |rng: &mut ChaCha8Rng, kind: DeviceKind| -> String {
        match kind {
            DeviceKind::Mobile | DeviceKind::App if rng.gen_bool(0.45) => format!(
                "{}.{}.{}.{}",
                c.mobile_octet,
                rng.gen_range(0..256),
                rng.gen_range(0..256),
                rng.gen_range(1..255)
            ),
            DeviceKind::Desktop | DeviceKind::Mobile
                if !public_ip.is_empty() && rng.gen_bool(0.3) =>
            {
                public_ip.clone()
            }
            _ => hh.ip.clone(),
        }
    };
    let web_devices: Vec<usize> = p
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind != DeviceKind::App)
        .map(|(i, _)| i)
        .collect();
    let device_weights: Vec<f64> = p
        .devices
        .iter()
        .map(|d| match d.kind {
            DeviceKind::Desktop => 1.0,
            DeviceKind::Mobile => 1.5,
            DeviceKind::Tablet => 0.4,
            DeviceKind::App => 1.2,
        })
        .collect();

    // ---- purchases: store receipts and online orders ----
    let mut session_no: u64 = 0;
    let mut receipt_no: u64 = 0;
    let mut newsletter_ts: Option<i64> = None;
    let can_online = p.is_customer && p.visits_site;
    let income_factor = [0.8, 1.0, 1.35][p.income];
    let n_purchases = poisson(rng, pe.purchases * income_factor * (0.6 + 0.8 * p.engagement));
    let home_store = rng.gen_range(1..4);
    for _ in 0..n_purchases.min(4000) {
        let online = can_online && (!p.store_shopper || rng.gen_bool(pe.online));
        if !online && !p.store_shopper {
            continue;
        }
        let ts = ts_in(rng, start, end);
        let cat = pick(rng, &p.affinity);
        let amount = cents((pe.basket * income_factor * (0.5 * normal(rng)).exp()).max(1.0));
        let lines = 1 + poisson(rng, amount / 30.0).min(60) as i64;
        let rid = format!("R{:016x}", mix(keys.receipt ^ (p.index << 12 | receipt_no)));
        receipt_no += 1;
        sum.purchases += 1;
        sum.spend += amount;
        if online {
            let card = if p.loyalty_member && rng.gen_bool(0.5) { loyalty.as_str() } else { "" };
            out[ix::RECEIPTS].row(&[
                V::S(&rid),
                V::I(ts),
                V::A(format_args!("WEB-{}", c.code)),
                V::S("online"),
                V::S(card),
                V::S(&customer_id),
                V::S(CATEGORIES[cat]),
                V::F(amount),
                V::I(lines),
            ]);
            // The order's web session: login, a few pages, the cart, the purchase.
            let d = pick(rng, &device_weights);
            let ts0 = ts - rng.gen_range(120..1800);
            let n_pages = 1 + poisson(rng, 1.5);
            let mut events: Vec<(&str, usize)> = vec![("login", usize::MAX)];
            events.extend((0..n_pages).map(|_| ("page_view", cat)));
            events.push(("add_to_cart", cat));
            events.push(("purchase", cat));
            web_session(
                rng,
                keys,
                p,
                d,
                ts0,
                ts,
                &events,
                true,
                &session_ip,
                &mut session_no,
                &mut sum,
                recent,
                &mut out[ix::WEB],
            );
        } else {
            let card = if p.loyalty_member && rng.gen_bool(0.85) { loyalty.as_str() } else { "" };
            let store = if rng.gen_bool(0.85) {
                format!("{}-{:02}{}", c.code, hh.address.city, home_store)
            } else {
                format!("{}-{:02}{}", c.code, rng.gen_range(0..c.cities.len()), rng.gen_range(1..4))
            };
            out[ix::RECEIPTS].row(&[
                V::S(&rid),
                V::I(ts),
                V::S(&store),
                V::S("store"),
                V::S(card),
                V::S(""),
                V::S(CATEGORIES[cat]),
                V::F(amount),
                V::I(lines),
            ]);
        }
    }

    // ---- browsing sessions on our site and app ----
    if p.visits_site {
        let n = poisson(
            rng,
            pe.sessions * (0.5 + p.engagement) * if p.is_customer { 1.2 } else { 1.0 },
        );
        for _ in 0..n.min(5000) {
            let d = pick(rng, &device_weights);
            let ts0 = ts_in(rng, start, end);
            let logged_in = p.is_customer
                && rng.gen_bool(if p.devices[d].kind == DeviceKind::App { 0.7 } else { 0.25 });
            let mut events: Vec<(&str, usize)> = Vec::new();
            if logged_in {
                events.push(("login", usize::MAX));
            }
            let n_pages = 1 + poisson(rng, 1.6);
            for _ in 0..n_pages {
                let cat = pick(rng, &p.affinity);
                events.push(("page_view", cat));
                if rng.gen_bool(0.06) {
                    events.push(("add_to_cart", cat));
                }
            }
            if !p.is_customer && newsletter_ts.is_none() && rng.gen_bool(0.05 + 0.1 * p.engagement)
            {
                events.push(("newsletter_signup", usize::MAX));
                newsletter_ts = Some(ts0);
            }
            let ts1 = ts0 + 60 * events.len() as i64;
            web_session(
                rng,
                keys,
                p,
                d,
                ts0,
                ts1.min(end - 1),
                &events,
                logged_in,
                &session_ip,
                &mut session_no,
                &mut sum,
                recent,
                &mut out[ix::WEB],
            );
        }
    }
    if newsletter_ts.is_some() {
        known_email = true;
    }
    if known_email {
        ids.add("email", p.email_hash.clone());
    }

    // ---- email campaigns: customers who consented, and newsletter subscribers ----
    let subscribed_from = if p.is_customer && p.ad_consent { Some(start) } else { newsletter_ts };
    if let Some(from) = subscribed_from {
        for (name, day, theme) in EMAIL_CAMPAIGNS {
            let sent = start + day as i64 * 86_400 + 9 * 3600;
            if sent < from {
                continue;
            }
            let a = p.affinity[theme] / aff_max;
            let p_open = (0.03 + p.engagement * 0.55 * (0.6 + 0.8 * a)).min(0.95);
            if !rng.gen_bool(p_open) {
                continue;
            }
            let open =
                (sent + (-(rng.gen_range(1e-9..1.0f64)).ln() * 6.0 * 3600.0) as i64).min(end - 120);
            out[ix::EMAIL].row(&[V::I(open), V::S(&p.email_hash), V::S(name), V::S("open")]);
            if open >= recent {
                sum.opens_90d += 1;
            }
            if rng.gen_bool((0.08 + 0.3 * a).min(0.9)) {
                let click = open + rng.gen_range(5..110);
                out[ix::EMAIL].row(&[V::I(click), V::S(&p.email_hash), V::S(name), V::S("click")]);
            }
        }
    }

    // ---- ad exposures on the open web and in apps ----
    if p.is_digital {
        // The ad server logs the IP and user agent of each request; they are drawn from a
        // stream of their own so the other columns stay as they were.
        let mut ad_rng = keys.rng(21, p.index);
        let n = poisson(rng, 6.0 * (0.6 + 0.8 * p.engagement));
        let weights: Vec<f64> =
            AD_CAMPAIGNS.iter().map(|(_, t)| 0.5 + p.affinity[*t] / aff_max).collect();
        for _ in 0..n.min(5000) {
            let k = pick(rng, &weights);
            let (name, theme) = AD_CAMPAIGNS[k];
            let d = &p.devices[rng.gen_range(0..p.devices.len())];
            let ts = ts_in(rng, start, end - 60);
            let cookie = d.cookie_at(ts);
            let ip = session_ip(&mut ad_rng, d.kind);
            let ua = d.user_agent(ts);
            out[ix::ADS].row(&[
                V::I(ts),
                V::S(cookie),
                V::S(&d.maid),
                V::S(&ip),
                V::S(&ua),
                V::S(name),
                V::S("impression"),
            ]);
            if rng.gen_bool(0.005 + 0.03 * p.affinity[theme] / aff_max) {
                sum.ad_clicks += 1;
                out[ix::ADS].row(&[
                    V::I(ts + rng.gen_range(2..30)),
                    V::S(cookie),
                    V::S(&d.maid),
                    V::S(&ip),
                    V::S(&ua),
                    V::S(name),
                    V::S("click"),
                ]);
            }
        }
    }

    // ---- 2nd party: partner sites, their cookies, syncs with ours ----
    let mut second_party = false;
    if p.partner_visitor && !web_devices.is_empty() {
        let norm = p.affinity.iter().map(|a| a * a).sum::<f64>().sqrt();
        for (pi, partner) in PARTNERS.iter().enumerate() {
            let tn = partner.theme.iter().map(|a| a * a).sum::<f64>().sqrt();
            let cos = p.affinity.iter().zip(&partner.theme).map(|(a, b)| a * b).sum::<f64>()
                / (norm * tn);
            if !rng.gen_bool((0.08 + 0.75 * cos).min(0.95)) {
                continue;
            }
            for (wi, &di) in web_devices.iter().enumerate() {
                if wi > 0 && !rng.gen_bool(0.6) {
                    continue;
                }
                let d = &p.devices[di];
                let pc = format!(
                    "{:016x}",
                    mix(keys.partner_cookie ^ (p.index << 8 | (pi as u64) << 3 | di as u64))
                );
                second_party = true;
                ids.add("partner_cookie", pc.clone());
                if rng.gen_bool(0.75) {
                    for _ in 0..1 + poisson(rng, 0.8) {
                        let ts = ts_in(rng, start, end);
                        out[ix::SYNCS].row(&[
                            V::S(partner.name),
                            V::S(&pc),
                            V::S(d.cookie_at(ts)),
                            V::I(ts),
                        ]);
                    }
                }
                let mix_w: Vec<f64> = (0..14)
                    .map(|i| partner.theme[i] / 5.0 + 0.4 * p.affinity[i] / aff_max)
                    .collect();
                for _ in 0..poisson(rng, 5.0).min(500) {
                    let ts = ts_in(rng, start, end);
                    let et = ["page_view", "search", "add_to_cart"][pick(rng, &[0.8, 0.12, 0.08])];
                    let cat = pick(rng, &mix_w);
                    out[ix::PARTNER_EVENTS].row(&[
                        V::S(partner.name),
                        V::S(&pc),
                        V::I(ts),
                        V::S(et),
                        V::S(CATEGORIES[cat]),
                    ]);
                }
            }
        }
    }

    // ---- 3rd party: provider files ----
    let truth_top = top_interests(&p.affinity);
    let truth_band = age_band(p.age);
    let mut third: Option<(usize, usize, usize)> = None; // (provider, age band, income)
    if p.is_digital {
        for (k, pv) in PROVIDERS.iter().enumerate() {
            if !rng.gen_bool(pv.coverage) {
                continue;
            }
            let acc = pv.accuracy;
            let band =
                if rng.gen_bool(acc) { truth_band } else { rng.gen_range(0..AGE_BANDS.len()) };
            let inc = if rng.gen_bool(acc) { p.income } else { rng.gen_range(0..3) };
            let mut interests: Vec<usize> = truth_top
                .iter()
                .map(|t| if rng.gen_bool(acc) { *t } else { rng.gen_range(0..CATEGORIES.len()) })
                .collect();
            interests.dedup();
            let interests: Vec<&str> = interests.iter().map(|i| CATEGORIES[*i]).collect();
            let interests = interests.join(";");
            let city = if rng.gen_bool(acc) {
                c.cities[hh.address.city].name
            } else {
                let oc = &COUNTRIES[rng.gen_range(0..COUNTRIES.len())];
                oc.cities[rng.gen_range(0..oc.cities.len())].name
            };
            let n_ids = 1 + rng.gen_bool(0.3) as usize;
            for _ in 0..n_ids {
                let d = &p.devices[rng.gen_range(0..p.devices.len())];
                let (kind, id) = if d.kind == DeviceKind::App {
                    ("maid", d.maid.as_str())
                } else {
                    ("cookie", d.cookies[rng.gen_range(0..d.cookies.len())].as_str())
                };
                out[ix::PROVIDER0 + k].row(&[
                    V::S(kind),
                    V::S(id),
                    V::S(AGE_BANDS[band].0),
                    V::S(INCOME_BANDS[inc]),
                    V::S(&interests),
                    V::S(city),
                ]);
            }
            if rng.gen_bool(pv.junk) {
                // An id the provider sells but that belongs to nobody we can ever see.
                let junk =
                    format!("{:016x}", mix(keys.cookie ^ (1 << 62 | p.index << 2 | k as u64)));
                let oc = &COUNTRIES[rng.gen_range(0..COUNTRIES.len())];
                out[ix::PROVIDER0 + k].row(&[
                    V::S("cookie"),
                    V::S(&junk),
                    V::S(AGE_BANDS[rng.gen_range(0..AGE_BANDS.len())].0),
                    V::S(INCOME_BANDS[rng.gen_range(0..3)]),
                    V::S(CATEGORIES[rng.gen_range(0..CATEGORIES.len())]),
                    V::S(oc.cities[rng.gen_range(0..oc.cities.len())].name),
                ]);
            }
            if third.is_none() {
                third = Some((k, band, inc));
            }
        }
    }

    // ---- the future-conversion label ----
    let logit = pe.conversion
        + 3.0 * (p.engagement - pe.engagement)
        + 0.4 * p.is_customer as u8 as f64
        + 0.3 * p.visits_site as u8 as f64
        - 0.45;
    let converts = rng.gen_bool(sigmoid(logit));

    // ---- profile (no raw PII) ----
    let party = if p.is_customer || p.visits_site {
        Some("first")
    } else if second_party {
        Some("second")
    } else if third.is_some() {
        Some("third")
    } else {
        None
    };
    if let Some(party) = party {
        let city = c.cities[hh.address.city].name;
        let (provider, age, gender, income) = match (party, third) {
            ("first", t) if p.is_customer => (
                "",
                Some(p.age as i64),
                if p.female { "F" } else { "M" },
                t.map_or("", |t| INCOME_BANDS[t.2]),
            ),
            ("third", Some((k, band, inc))) => {
                (PROVIDERS[k].name, Some(AGE_BANDS[band].3), "", INCOME_BANDS[inc])
            }
            (_, t) => ("", t.map(|t| AGE_BANDS[t.1].3), "", t.map_or("", |t| INCOME_BANDS[t.2])),
        };
        let observed = party == "first";
        out[ix::PROFILES].row(&[
            V::S(&p.id),
            V::S(party),
            V::S(provider),
            V::B(p.ad_consent),
            V::S(c.code),
            V::S(city),
            V::OI(age),
            V::S(gender),
            V::S(income),
            V::B(p.loyalty_member),
            V::I(if observed { sum.purchases } else { 0 }),
            V::F(if observed { cents(sum.spend) } else { 0.0 }),
            V::I(sum.sessions_90d),
            V::I(sum.opens_90d),
            V::I(sum.ad_clicks),
        ]);
    }

    // ---- truth ----
    for (kind, value) in &ids.rows {
        out[ix::TRUTH_IDS].row(&[V::S(kind), V::S(value), V::S(ids.person)]);
    }
    let mut interests = String::new();
    for (i, t) in truth_top.iter().enumerate() {
        if i > 0 {
            interests.push(';');
        }
        let _ = write!(interests, "{}", CATEGORIES[*t]);
    }
    out[ix::TRUTH_PERSONS].row(&[
        V::S(&p.id),
        V::A(format_args!("H{:08}", hh.index)),
        V::S(pe.name),
        V::B(converts),
        V::B(p.is_customer),
        V::B(p.is_digital),
        V::B(p.visits_site),
        V::B(p.partner_visitor),
        V::B(p.has_app),
        V::B(p.loyalty_member),
        V::B(p.ad_consent),
        V::S(&date(p.birth_day)),
        V::I(p.age as i64),
        V::S(c.cities[hh.address.city].name),
        V::S(c.code),
        V::S(if p.female { "F" } else { "M" }),
        V::S(INCOME_BANDS[p.income]),
        V::F(cents(p.engagement)),
        V::S(&interests),
        V::S(&hh.ip),
        V::S(&public_ip),
    ]);
}

/// Writes one web session: `events` are (event type, category index or `usize::MAX` for none),
/// spread between `ts0` and `ts1`.
#[allow(clippy::too_many_arguments)]
fn web_session(
    rng: &mut ChaCha8Rng,
    keys: &Keys,
    p: &Person,
    d: usize,
    ts0: i64,
    ts1: i64,
    events: &[(&str, usize)],
    logged_in: bool,
    session_ip: &dyn Fn(&mut ChaCha8Rng, DeviceKind) -> String,
    session_no: &mut u64,
    sum: &mut Summary,
    recent: i64,
    out: &mut Buf,
) {
    let dev = &p.devices[d];
    let ip = session_ip(rng, dev.kind);
    let sid = format!("{:016x}", mix(keys.session ^ (p.index << 16 | *session_no)));
    *session_no += 1;
    if ts0 >= recent {
        sum.sessions_90d += 1;
    }
    let cookie = dev.cookie_at(ts0);
    let ua = dev.user_agent(ts0);
    let n = events.len() as i64;
    let step = ((ts1 - ts0) / n.max(1)).max(1);
    let mut url = String::with_capacity(32);
    for (i, (et, cat)) in events.iter().enumerate() {
        let ts = ts0 + i as i64 * step + rng.gen_range(0..step.min(30));
        let category = if *cat == usize::MAX { "" } else { CATEGORIES[*cat] };
        let email =
            if logged_in || *et == "newsletter_signup" { p.email_hash.as_str() } else { "" };
        let item = rng.gen_range(1000..9999);
        url.clear();
        let _ = match *et {
            "login" => write!(url, "/account/login"),
            "newsletter_signup" => write!(url, "/newsletter"),
            "purchase" => write!(url, "/checkout/confirm"),
            "add_to_cart" => write!(url, "/cart/add/p{item}"),
            _ => write!(url, "/{category}/p{item}"),
        };
        out.row(&[
            V::I(ts),
            V::S(cookie),
            V::S(&dev.maid),
            V::S(dev.kind.name()),
            V::S(&ip),
            V::S(&ua),
            V::S(et),
            V::S(category),
            V::S(&url),
            V::S(&sid),
            V::S(email),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scramble_is_a_bijection() {
        let mut seen = vec![false; 1 << 12];
        for x in 0..(1u64 << 12) {
            let y = scramble(x, 12, 42) as usize;
            assert!(!seen[y], "collision at {x}");
            seen[y] = true;
        }
    }

    #[test]
    fn folding_and_ages() {
        assert_eq!(ascii_fold("José Müller ß"), "Jose Muller ss");
        assert_eq!(german_fold("Müller"), "Mueller");
        let b = days_from_civil(1990, 6, 15);
        assert_eq!(age_at(b, days_from_civil(2026, 6, 14)), 35);
        assert_eq!(age_at(b, days_from_civil(2026, 6, 15)), 36);
    }

    #[test]
    fn phones_have_their_country_formats() {
        let keys = Keys::new(1);
        let fr = &COUNTRIES[0];
        let (e, sig) = e164(fr, 5, 0, &keys);
        assert!(e.starts_with("+33") && e.len() == 12, "{e}");
        let mut rng = keys.rng(0, 0);
        let forms: Vec<String> = (0..40).map(|_| phone_variant(&mut rng, fr, &sig)).collect();
        assert!(
            forms.iter().any(|f| f.starts_with("+33 ") && f.split(' ').count() == 6),
            "{forms:?}"
        );
        assert!(forms.iter().any(|f| f.starts_with('0') && !f.starts_with("00")), "{forms:?}");
        assert!(forms.iter().any(|f| f.starts_with("0033")), "{forms:?}");
        let digits = |s: &str| s.chars().filter(|c| c.is_ascii_digit()).collect::<String>();
        assert!(forms.iter().all(|f| digits(f).ends_with(&sig[1..])));
    }
}
