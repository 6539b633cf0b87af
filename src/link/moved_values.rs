//! Values moved into another column: files where a record's value of one column is often
//! written at the end of another one, the first column left empty (`title` holding `Clio: a
//! tool for schema mapping Laura Haas SIGMOD Conference 2001` with `authors`, `venue` and `year`
//! empty). Scrapers, free-form fields and exports split on the wrong separator leave files like
//! this; DeepMatcher's "dirty" benchmark sets are built that way. Compared column by column, such
//! a record's title no longer equals its twin's, and its other fields are missing.
//!
//! It owns the detection ([`moved_into`]), the columns it then adds, each joining a group of
//! columns the moves tie ([`join_moved`]; their words are the same however the values were
//! spread), which of the two a pair compares ([`Layout`]), and where one column's words meet
//! another's in such texts ([`Seams`]). Comparing values is [`super::compare`]'s.

use super::cluster::Clusters;
use super::compare::{PreparedField, MISSING, NONE};
use super::{compare, sampled_kind, Kind, Records};
use crate::hash::{FxHashMap, FxHashSet};

/// Records read per file (evenly spread): the test needs shares, not every record.
const SAMPLE: usize = 20_000;

/// Fewest records on each side of the test (column empty, column present).
const MIN_RECORDS: usize = 20;

/// How much longer, in words, a column must be where another column is empty than where it is
/// present, as a share of the other column's own length: a value moved in whole adds all its
/// words (1.0). Only the words the other column writes count (its vocabulary, over every record):
/// a column that merely tends to be longer where the other is empty (descriptions where a price
/// is missing, 3.2 times a price's length on Abt-Buy) grows by other words (0.22 of a price's
/// length in price words), while a moved venue, year or author list adds 0.90-0.96 of its
/// length in its column's words, and a moved restaurant address or phone 0.64-0.71.
const GROWTH: f64 = 0.5;

/// The compared columns as the test reads them: per sampled record, the words of each column.
struct Sample {
    /// Per column, per sampled record: its words (lowercased, accents and punctuation removed).
    words: Vec<Vec<String>>,
}

impl Sample {
    fn new(r: &Records, fields: &[String]) -> Sample {
        let step = r.len().div_ceil(SAMPLE).max(1);
        let words = fields
            .iter()
            .map(|name| {
                let column = r.column(name).expect("a field of every file");
                let words = |v: &Option<String>| v.as_deref().map(compare::words);
                column.iter().step_by(step).map(|v| words(v).unwrap_or_default()).collect()
            })
            .collect();
        Sample { words }
    }

    fn count(v: &str) -> usize {
        if v.is_empty() {
            0
        } else {
            v.bytes().filter(|&b| b == b' ').count() + 1
        }
    }

    /// Whether the values of column `x` are written into column `t` where `x` is empty: then
    /// how much longer `t` is there in `x`'s words, as a share of `x`'s length ([`GROWTH`]).
    fn moved(&self, x: usize, t: usize) -> Option<f64> {
        let (xs, ts) = (&self.words[x], &self.words[t]);
        let growth = |count: &dyn Fn(&str) -> usize| {
            let (mut empty, mut present) = ((0usize, 0usize), (0usize, 0usize));
            let mut x_words = 0usize;
            for (xv, tv) in xs.iter().zip(ts).filter(|(_, tv)| !tv.is_empty()) {
                let n = count(tv);
                if xv.is_empty() {
                    empty = (empty.0 + 1, empty.1 + n);
                } else {
                    present = (present.0 + 1, present.1 + n);
                    x_words += Sample::count(xv);
                }
            }
            let enough = empty.0 >= MIN_RECORDS && present.0 >= MIN_RECORDS;
            if !enough || empty.0 * 10 < empty.0 + present.0 {
                return 0.0;
            }
            let mean = |(k, n): (usize, usize)| n as f64 / k as f64;
            (mean(empty) - mean(present)) / mean((present.0, x_words))
        };
        // All words first (cheap), then only those of `x`'s vocabulary.
        if growth(&Sample::count) < GROWTH {
            return None;
        }
        let vocabulary: FxHashSet<&str> = xs.iter().flat_map(|v| v.split(' ')).collect();
        let g = growth(&|v: &str| v.split(' ').filter(|w| vocabulary.contains(w)).count());
        (g >= GROWTH).then_some(g)
    }
}

/// The columns whose values are found moved into another column, as (moved column, receiving
/// column), over the records of each file and of both together (the columns both have, except
/// those not compared): each moved column once, with the column it grows most. Empty when none.
pub fn moved_into(left: &Records, right: Option<&Records>) -> Vec<(String, String)> {
    moved_among(&compared_fields(left, right), left, right)
}

/// [`moved_into`] among `fields`.
fn moved_among(
    fields: &[String],
    left: &Records,
    right: Option<&Records>,
) -> Vec<(String, String)> {
    if fields.len() < 2 {
        return Vec::new();
    }
    // Both files together, and each on its own: a file moving values beside one that does not
    // (or whose columns are longer anyway) may not show it in the two together.
    let mut samples = vec![Sample::new(left, fields)];
    if let Some(right) = right {
        let right = Sample::new(right, fields);
        let both = samples[0].words.iter().zip(&right.words);
        let both = Sample { words: both.map(|(l, r)| [&l[..], r].concat()).collect() };
        samples.extend([right, both]);
    }
    (0..fields.len())
        .filter_map(|x| {
            (0..fields.len())
                .filter(|&t| t != x)
                .filter_map(|t| {
                    let growth = samples.iter().filter_map(|s| s.moved(x, t));
                    growth.max_by(f64::total_cmp).map(|g| (g, t))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, t)| (fields[x].clone(), fields[t].clone()))
        })
        .collect()
}

/// The fields of `left` that `right` has too, and that are compared (not [`Kind::Ignore`], as
/// read from [`SAMPLE`] of `left`'s values, evenly spread).
fn compared_fields(left: &Records, right: Option<&Records>) -> Vec<String> {
    let step = left.len().div_ceil(SAMPLE).max(1);
    (0..left.fields.len())
        .filter(|&f| right.is_none_or(|r| r.column(&left.fields[f]).is_some()))
        .filter(|&f| sampled_kind(left, f, step) != Kind::Ignore)
        .map(|f| left.fields[f].clone())
        .collect()
}

/// The columns tied by moved values (a column and those moved into it, and on through chains),
/// each group of two or more in the file's column order.
fn groups(fields: &[String], moved: &[(String, String)]) -> Vec<Vec<String>> {
    let pos = |n: &str| fields.iter().position(|f| f == n).expect("a compared field");
    // No cap: a group holds at most every field.
    let mut tied = Clusters::new(fields.len(), fields.len());
    for (x, t) in moved {
        tied.union(pos(x), pos(t));
    }
    let mut out: Vec<Vec<String>> = vec![Vec::new(); fields.len()];
    for (name, group) in fields.iter().zip(tied.labels()) {
        out[group].push(name.clone());
    }
    out.retain(|g| g.len() >= 2);
    out
}

/// Where values are moved between columns ([`moved_into`]), adds to each file, per group of
/// columns the moves tie ([`groups`]), a column named after them (`title+authors+venue+year`):
/// per record, the group's values joined with spaces, in the file's column order. The group is
/// recorded in [`Records::joined`], so that [`Layout`] compares it, besides its columns, only
/// where two records spread their values differently. Returns a note, or `None` when no column
/// moved.
///
/// ```
/// use audience::link::{moved_values, Records};
/// let n = 200;
/// let title = |i: usize| format!("paper number {i} on topic {}", i * 7);
/// let venues = ["vldb", "sigmod conference", "icde"];
/// let (mut titles, mut cols) = (Vec::new(), Vec::new());
/// for i in 0..n {
///     let venue = venues[i % 3].to_string();
///     // Every other record has its venue written at the end of its title.
///     if i % 2 == 0 {
///         titles.push(Some(format!("{} {venue}", title(i))));
///         cols.push(None);
///     } else {
///         titles.push(Some(title(i)));
///         cols.push(Some(venue));
///     }
/// }
/// let ids = (0..n).map(|i| i.to_string()).collect();
/// let fields = vec!["title".to_string(), "venue".to_string()];
/// let mut r = Records::new("papers.csv", ids, fields, vec![titles, cols]).unwrap();
/// let note = moved_values::join_moved(&mut r, None).unwrap();
/// assert!(note.contains("`venue` into `title`"));
/// let joined = r.column("title+venue").unwrap();
/// assert_eq!(joined[1].as_deref(), Some("paper number 1 on topic 7 sigmod conference"));
/// ```
pub fn join_moved(left: &mut Records, right: Option<&mut Records>) -> Option<String> {
    let fields = compared_fields(left, right.as_deref());
    let moved = moved_among(&fields, left, right.as_deref());
    if moved.is_empty() {
        return None;
    }
    let groups: Vec<(String, Vec<String>)> = groups(&fields, &moved)
        .into_iter()
        .map(|g| (g.join("+"), g))
        .filter(|(name, _)| {
            left.column(name).is_none() && right.as_ref().is_none_or(|r| r.column(name).is_none())
        })
        .collect();
    if groups.is_empty() {
        return None;
    }
    let join = |r: &mut Records| {
        for (name, members) in &groups {
            let columns: Vec<&[Option<String>]> =
                members.iter().map(|f| r.column(f).expect("a field of every file")).collect();
            let all: Vec<Option<String>> = (0..r.len())
                .map(|i| {
                    let parts: Vec<&str> = columns
                        .iter()
                        .filter_map(|c| c[i].as_deref().map(str::trim).filter(|v| !v.is_empty()))
                        .collect();
                    (!parts.is_empty()).then(|| parts.join(" "))
                })
                .collect();
            r.fields.push(name.clone());
            r.columns.push(all);
            r.joined.push((name.clone(), members.clone()));
        }
    };
    join(left);
    if let Some(right) = right {
        join(right);
    }
    let pairs: Vec<String> = moved.iter().map(|(x, t)| format!("`{x}` into `{t}`")).collect();
    let names: Vec<String> = groups.iter().map(|(n, _)| format!("`{n}`")).collect();
    Some(format!(
        "values moved between columns where they are missing ({}): where two records spread them \
         differently, {} also compared as one text",
        pairs.join(", "),
        if names.len() == 1 {
            format!("the columns of {} are", names[0])
        } else {
            format!("the columns of each of {} are", names.join(", "))
        }
    ))
}

/// Where one column's value ends and another's begins, in a text that runs a group's columns
/// together: two adjacent words, the first the last word of a value of one column, the second
/// the first word of a value of another (`diner atlanta`: a restaurant's name, then its city).
/// Such a pair is no rare word of the text ([`PreparedField::run_together`]): two restaurants'
/// texts sharing `blvd beverly` share a street type and a town.
#[derive(Debug, Default)]
pub struct Seams(FxHashMap<u64, [u64; 2]>);

impl Seams {
    /// The seams of the columns `members` (at most 64) of `left` and `right`, read as
    /// [`compare::words`].
    pub fn new(members: &[String], left: &Records, right: Option<&Records>) -> Seams {
        let mut ends: FxHashMap<u64, [u64; 2]> = FxHashMap::default();
        for r in std::iter::once(left).chain(right) {
            for (k, m) in members.iter().take(64).enumerate() {
                for v in r.column(m).into_iter().flatten().flatten() {
                    let w = compare::words(v);
                    if let (Some(first), Some(last)) = (w.split(' ').next(), w.rsplit(' ').next()) {
                        if !w.is_empty() {
                            ends.entry(compare::fnv(last.as_bytes())).or_default()[0] |= 1 << k;
                            ends.entry(compare::fnv(first.as_bytes())).or_default()[1] |= 1 << k;
                        }
                    }
                }
            }
        }
        Seams(ends)
    }

    /// Whether words `a` then `b` may be where one column's value ends and another's begins.
    pub fn contains(&self, a: &[u8], b: &[u8]) -> bool {
        let (Some(x), Some(y)) = (self.0.get(&compare::fnv(a)), self.0.get(&compare::fnv(b)))
        else {
            return false;
        };
        let (ends, begins) = (x[0], y[1]);
        // Some column ends with `a` and another begins with `b`.
        ends != 0 && begins != 0 && !(ends == begins && ends.is_power_of_two())
    }
}

/// One group of [`join_moved`] among the compared fields: the joined field and, per side, per
/// record, which of the group's columns are missing (one bit each).
struct Gate {
    whole: usize,
    members: Vec<usize>,
    missing: [Vec<u64>; 2],
    /// The members whose values mostly hold numbers ([`writes_numbers`]), one bit each.
    numeric: u64,
}

/// Whether most of a field's values hold a digit (a street number, a phone, a year).
fn writes_numbers(f: &PreparedField) -> bool {
    let ids = f.ids.iter().flatten().filter(|&&e| e != NONE);
    let (with, all) = ids.fold((0usize, 0usize), |(w, a), &e| {
        (w + usize::from(f.dict[e as usize].bytes().any(|b| b.is_ascii_digit())), a + 1)
    });
    2 * with >= all && all > 0
}

/// Where two records spread a group's values over its columns alike (the same columns empty),
/// the columns are compared one by one and the joined text is left out: it would count their
/// evidence twice. Where they spread them differently, the joined text is compared as well, as
/// the columns one by one miss what moved (a title against a title with its authors appended,
/// authors against nothing).
///
/// Comparing the joined text in place of the columns there was tried: where every compared
/// column is in one group (a bibliography's title, authors, venue and year), most pairs are then
/// left one field, from which the model learns nothing (DeepMatcher-style dirty DBLP-ACM: F1
/// 0.174, against 0.970 with both).
pub struct Layout(Vec<Gate>);

impl Layout {
    /// The layout of the groups `joined` (from [`Records::joined`]) among `fields`; `None` when
    /// no group is compared.
    pub fn new(fields: &[PreparedField], joined: &[(String, Vec<String>)]) -> Option<Layout> {
        let pos = |n: &str| fields.iter().position(|f| f.name == n);
        let gates: Vec<Gate> = joined
            .iter()
            .filter_map(|(whole, members)| {
                let whole = pos(whole)?;
                let members: Vec<usize> = members.iter().filter_map(|m| pos(m)).take(64).collect();
                let missing = [0, 1].map(|side| {
                    let n = fields[whole].ids[side].len();
                    (0..n)
                        .map(|i| {
                            members.iter().enumerate().fold(0u64, |m, (k, &f)| {
                                m | (u64::from(fields[f].ids[side][i] == NONE) << k)
                            })
                        })
                        .collect()
                });
                let numeric = members
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (k, &f)| m | (u64::from(writes_numbers(&fields[f])) << k));
                (!members.is_empty()).then_some(Gate { whole, members, missing, numeric })
            })
            .collect();
        (!gates.is_empty()).then_some(Layout(gates))
    }

    /// Applies the gates to rows of levels (`out`, one per field of `fields` per pair) of
    /// `pairs`, the second record on side `sj`. Where two records spread a group's values
    /// differently, the group's text columns are compared by spelling alone
    /// ([`PreparedField::compare_spelling`]) in two cases:
    /// - where they share a rare word or code: the joined text, compared too, holds it as well,
    ///   and would count it a second time (dirty DBLP-ACM: F1 0.968 -> 0.979, mean of three
    ///   draws against the clean link's pairs; Fodors-Zagat 0.919 -> 0.920, mean of five);
    /// - where their numbers differ and one of the records left empty a column of numbers that
    ///   the other fills: a name holding a moved street number and one holding a moved phone
    ///   are not two places for it (dirty Fodors-Zagat: 0.843 -> 0.894). Where both moved the
    ///   same (a title with its year on both sides), the numbers still tell (`... report 2001`
    ///   against `... report 2002`).
    pub fn apply(&self, fields: &[PreparedField], pairs: &[(u32, u32)], sj: usize, out: &mut [u8]) {
        use compare::{TEXT_CODE, TEXT_DIFFERENT, TEXT_WORD};
        for g in &self.0 {
            for (row, &(i, j)) in out.chunks_exact_mut(fields.len()).zip(pairs) {
                let (a, b) = (g.missing[0][i as usize], g.missing[sj][j as usize]);
                if a == b {
                    row[g.whole] = MISSING;
                    continue;
                }
                let numbers_moved = (a ^ b) & g.numeric != 0;
                for &f in &g.members {
                    let level = row[f];
                    let counted_twice = level == TEXT_CODE || level == TEXT_WORD;
                    if fields[f].kind == Kind::Text
                        && (counted_twice || (numbers_moved && level == TEXT_DIFFERENT))
                    {
                        row[f] = fields[f].compare_spelling(0, i as usize, sj, j as usize);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(columns: Vec<(&str, Vec<Option<String>>)>) -> Records {
        let n = columns[0].1.len();
        let ids = (0..n).map(|i| i.to_string()).collect();
        let (fields, columns) = columns.into_iter().map(|(f, c)| (f.to_string(), c)).unzip();
        Records::new("t.csv", ids, fields, columns).unwrap()
    }

    #[test]
    fn a_column_merely_longer_where_another_is_empty_is_not_a_move() {
        // Descriptions are longer where the price is missing, by words no price writes.
        let n = 400;
        let description = |i: usize, long: bool| {
            let extra = if long { " with a carrying case and a cable" } else { "" };
            Some(format!("camera model {i}{extra}"))
        };
        let amount = |i: usize| format!("{}.99", i / 2 % 20);
        let price = |i: usize| i.is_multiple_of(2).then(|| amount(i));
        let r = records(vec![
            ("description", (0..n).map(|i| description(i, i % 2 == 1)).collect()),
            ("price", (0..n).map(price).collect()),
        ]);
        assert!(moved_into(&r, None).is_empty());
        // The same prices written at the end of the descriptions are a move.
        let moved = |i: usize| {
            if i % 2 == 1 {
                Some(format!("camera model {i} {}", amount(i)))
            } else {
                description(i, false)
            }
        };
        let r = records(vec![
            ("description", (0..n).map(moved).collect()),
            ("price", (0..n).map(price).collect()),
        ]);
        assert_eq!(moved_into(&r, None), vec![("price".to_string(), "description".to_string())]);
    }

    #[test]
    fn moves_chain_into_one_group_in_column_order() {
        let fields: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let moved = [("c".to_string(), "b".to_string()), ("b".to_string(), "a".to_string())];
        assert_eq!(groups(&fields, &moved), vec![vec!["a", "b", "c"]]);
    }

    #[test]
    fn the_joined_text_is_compared_only_where_records_spread_values_differently() {
        let v = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let title = vec![
            v("clio schema mapping vldb"),
            v("clio schema mapping"),
            v("clio schema mapping vldb"),
        ];
        let venue = vec![v(""), v("vldb"), v("")];
        let whole: Vec<Option<String>> = vec![v("clio schema mapping vldb"); 3];
        let fields = [
            PreparedField::new("title", Kind::Text, &title, None),
            PreparedField::new("venue", Kind::Exact, &venue, None),
            PreparedField::new("title+venue", Kind::Text, &whole, None),
        ];
        let joined = [("title+venue".to_string(), vec!["title".to_string(), "venue".to_string()])];
        let layout = Layout::new(&fields, &joined).unwrap();
        let comparer = compare::Comparer::new(&fields, None).with_layout(Some(&layout));
        let mut row = [0u8; 3];
        // Records 0 and 2 both wrote the venue into the title: compared column by column.
        comparer.row(0, 0, 2, &mut row);
        assert_eq!(row, [compare::EXACT, MISSING, MISSING]);
        // Record 1 has its own venue: the joined text is compared as well.
        comparer.row(0, 0, 1, &mut row);
        assert_eq!(row[2], compare::EXACT);
        assert_eq!(row[1], MISSING);
    }

    #[test]
    fn words_where_two_columns_meet_are_no_rare_words() {
        let v = |s: &str| Some(s.to_string());
        let r = records(vec![
            ("name", vec![v("Joe's Diner"), v("Moe's Diner"), v("Cafe Lalo")]),
            ("city", vec![v("Atlanta"), v("Atlanta"), v("New York")]),
        ]);
        let seams = Seams::new(&["name".into(), "city".into()], &r, None);
        assert!(seams.contains(b"diner", b"atlanta") && seams.contains(b"lalo", b"new"));
        assert!(!seams.contains(b"cafe", b"lalo") && !seams.contains(b"atlanta", b"diner"));
        // Two restaurants' names with their city appended share `diner atlanta`, whose words
        // many other records hold.
        let mut texts = vec![v("joes diner atlanta")];
        texts.extend((0..3).map(|i| v(&format!("diner {i}"))));
        texts.extend((0..3).map(|i| v(&format!("atlanta {i}"))));
        let mut other = texts.clone();
        other[0] = v("moes diner atlanta");
        let rare =
            PreparedField::run_together("t", Kind::Text, &texts, Some(&other), &Seams::default());
        let seamed = PreparedField::run_together("t", Kind::Text, &texts, Some(&other), &seams);
        assert_eq!(rare.compare(0, 0, 1, 0), compare::TEXT_WORD);
        assert!(seamed.compare(0, 0, 1, 0) > compare::TEXT_WORD);
    }

    #[test]
    fn a_group_spread_differently_is_compared_by_spelling_and_the_joined_text() {
        let v = |s: &str| (!s.is_empty()).then(|| s.to_string());
        // Record 0 moved its street number into the name, record 1 its phone; records 2 and 3
        // moved their street numbers, which differ: two places. Record 4 moved its address,
        // record 5 nothing.
        let name = [
            "buckhead diner 3073 piedmont rd",
            "buckhead diner 404 262 3336",
            "cafe lalo 201 amsterdam ave",
            "cafe lalo 19 amsterdam ave",
            "nikolais roof 255 courtland st",
            "nikolais roof",
        ];
        let addr = ["", "3073 piedmont rd", "", "", "", "255 courtland st"];
        let phone =
            ["404 262 3336", "", "212 496 6031", "212 496 6031", "404 221 6362", "404 221 6362"];
        let column = |c: [&str; 6]| c.iter().map(|s| v(s)).collect::<Vec<_>>();
        let (name, addr, phone) = (column(name), column(addr), column(phone));
        let whole: Vec<Option<String>> = (0..6)
            .map(|i| {
                let parts = [&name[i], &addr[i], &phone[i]];
                v(&parts.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>().join(" "))
            })
            .collect();
        let seams = Seams::default();
        let fields = [
            PreparedField::run_together("name", Kind::Text, &name, None, &seams),
            PreparedField::run_together("addr", Kind::Text, &addr, None, &seams),
            PreparedField::new("phone", Kind::Code, &phone, None),
            PreparedField::run_together("name+addr+phone", Kind::Text, &whole, None, &seams),
        ];
        let members = ["name", "addr", "phone"].map(String::from).to_vec();
        let joined = [("name+addr+phone".to_string(), members)];
        let layout = Layout::new(&fields, &joined).unwrap();
        let comparer = compare::Comparer::new(&fields, None).with_layout(Some(&layout));
        let plain = compare::Comparer::new(&fields, None);
        let mut row = [0u8; 4];
        comparer.row(0, 0, 1, &mut row);
        assert_ne!(row[0], compare::TEXT_DIFFERENT, "{row:?}");
        // Without the layout, the names' numbers differ.
        plain.row(0, 0, 1, &mut row);
        assert_eq!(row[0], compare::TEXT_DIFFERENT);
        // Spread alike, other numbers still tell.
        comparer.row(2, 0, 3, &mut row);
        assert_eq!(row[0], compare::TEXT_DIFFERENT);
        // The rare word `nikolais` counts once, in the joined text.
        comparer.row(4, 0, 5, &mut row);
        assert_eq!(row[3], compare::EXACT);
        assert!(row[0] > compare::TEXT_WORD, "{row:?}");
        plain.row(4, 0, 5, &mut row);
        assert_eq!(row[0], compare::TEXT_WORD);
    }
}
