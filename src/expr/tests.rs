//! Tests of the expression language: exact error messages, the parser's robustness (never
//! panics, round trip through `Display`), evaluation against a row-by-row brute force, and
//! set-algebra laws against a `BTreeSet` model.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use roaring::RoaringBitmap;

use super::*;
use crate::index::{BitmapIndex, CmpOp, Pid};
use crate::table::ColumnData;

// ---------------------------------------------------------------- a small fixed index

fn small_index() -> BitmapIndex {
    let s = |v: &[Option<&str>]| ColumnData::Str(v.iter().map(|x| x.map(String::from)).collect());
    let cols = [
        ("country".to_string(), s(&[Some("FR"), Some("DE"), None, Some("FR"), Some("ES")])),
        ("age".to_string(), ColumnData::Int(vec![Some(34), Some(51), None, Some(18), Some(29)])),
        (
            "affinity.shoes".to_string(),
            ColumnData::Float(vec![Some(0.5), Some(0.1), Some(0.9), None, Some(0.3)]),
        ),
        (
            "vip".to_string(),
            ColumnData::Bool(vec![Some(true), Some(false), Some(true), None, Some(false)]),
        ),
        ("party".to_string(), s(&[Some("first"), Some("first"), Some("third"), None, None])),
        ("provider".to_string(), s(&[None, None, Some("Acme"), None, None])),
        (
            "consent.ads".to_string(),
            ColumnData::Bool(vec![Some(true), Some(false), Some(true), Some(true), None]),
        ),
    ];
    let named: Vec<(String, &ColumnData)> = cols.iter().map(|(n, d)| (n.clone(), d)).collect();
    BitmapIndex::build(&named, &[0, 1, 2, 3, 4])
}

fn segs() -> HashMap<String, RoaringBitmap> {
    HashMap::from([
        ("newsletter".to_string(), [0u32, 2, 4].into_iter().collect()),
        ("churned".to_string(), [4u32].into_iter().collect()),
    ])
}

/// Parses, checks and evaluates against the small index.
fn run(input: &str) -> Result<Vec<Pid>, String> {
    let index = small_index();
    let segments = segs();
    let names: Vec<&str> = segments.keys().map(String::as_str).collect();
    let e = parse(input).map_err(|e| e.to_string())?;
    check(&e, input, &index.manifest, &names).map_err(|e| e.to_string())?;
    check_loaded(&e, input, &index).map_err(|e| e.to_string())?;
    let ev = Evaluator::new(&index, &segments);
    let r = ev.eval(&e);
    assert_eq!(ev.count(&e), r.len(), "count and eval disagree on {input}");
    Ok(r.iter().collect())
}

fn err(input: &str) -> String {
    run(input).expect_err(input)
}

#[test]
fn the_example_of_the_issue_evaluates() {
    let q = r#"country = "FR" and age >= 18 and (affinity.shoes > 0.3 or segment("newsletter")) and not segment("churned")"#;
    // Row 3 is French and 18, but has no shoe affinity and is not in `newsletter`.
    assert_eq!(run(q).unwrap(), [0]);
}

#[test]
fn every_operator_and_function() {
    assert_eq!(run(r#"country != "FR""#).unwrap(), [1, 4]);
    assert_eq!(run(r#"not country = "FR""#).unwrap(), [1, 2, 4]);
    assert_eq!(run("age < 29").unwrap(), [3]);
    assert_eq!(run("age <= 29").unwrap(), [3, 4]);
    assert_eq!(run("age > 34").unwrap(), [1]);
    assert_eq!(run("age == 34").unwrap(), [0]);
    assert_eq!(run("age between 20 and 40").unwrap(), [0, 4]);
    assert_eq!(run("age in [18, 51]").unwrap(), [1, 3]);
    assert_eq!(run(r#"country in ["FR", 'ES',]"#).unwrap(), [0, 3, 4]);
    assert_eq!(run("exists(age)").unwrap(), [0, 1, 3, 4]);
    assert_eq!(run("missing(country)").unwrap(), [2]);
    assert_eq!(run("exists(country)").unwrap(), [0, 1, 3, 4]);
    assert_eq!(run("vip").unwrap(), [0, 2]);
    assert_eq!(run("vip = false").unwrap(), [1, 4]);
    assert_eq!(run("party(first)").unwrap(), [0, 1]);
    assert_eq!(run("party(3rd)").unwrap(), [2]);
    assert_eq!(run("provider(Acme)").unwrap(), [2]);
    assert_eq!(run("consent(ads)").unwrap(), [0, 2, 3]);
    assert_eq!(run("all()").unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(run("not all()").unwrap(), Vec::<Pid>::new());
    assert!(run("`affinity.shoes` >= 0.5 OR Age < 0").unwrap_err().contains("`Age`"));
    assert_eq!(run("`affinity.shoes` >= 0.5 OR age < 0").unwrap(), [0, 2]);
    assert_eq!(run("age > 20.5 AND NOT vip").unwrap(), [1, 4]);
}

#[test]
fn unknown_names_suggest_the_nearest() {
    assert_eq!(
        err(r#"contry = "FR""#),
        "segment expression, column 1: unknown trait `contry` (did you mean `country`?); \
         `audience info` lists the traits of this store\n  contry = \"FR\"\n  ^^^^^^"
    );
    assert_eq!(
        err(r#"age > 3 and segment("newsleter")"#),
        "segment expression, column 21: unknown segment `newsleter` (did you mean `newsletter`?); \
         it may have been deleted: `audience segment list` lists the stored segments\n  \
         age > 3 and segment(\"newsleter\")\n                      ^^^^^^^^^^^"
    );
    assert_eq!(
        err("consent(email)"),
        "segment expression, column 9: unknown consent purpose `email`; this store records \
         consent for: ads\n  consent(email)\n          ^^^^^"
    );
    assert_eq!(
        err("provider(acme)"),
        "segment expression, column 10: unknown provider `acme` (did you mean `Acme`?); the \
         providers are: Acme\n  provider(acme)\n           ^^^^"
    );
}

#[test]
fn type_errors_name_the_kind() {
    assert_eq!(
        err("country > 3"),
        "segment expression, column 1: `country` is a text trait: it takes `=`, `!=` and `in`, \
         not `>`\n  country > 3\n  ^^^^^^^^^^^"
    );
    assert_eq!(
        err(r#"age = "30""#),
        "segment expression, column 7: `age` is a numeric trait (integers); compare it with a \
         number, not the string \"30\"\n  age = \"30\"\n        ^^^^"
    );
    assert_eq!(
        err("country = 3"),
        "segment expression, column 11: `country` is a text trait; compare it with a string: \
         \"3\"\n  country = 3\n            ^"
    );
    assert_eq!(
        err("country"),
        "segment expression, column 1: `country` is a text trait, not a boolean (it holds values \
         such as \"DE\"); compare it, as in `country = \"DE\"`\n  country\n  ^^^^^^^"
    );
    assert_eq!(
        err("age between 50 and 20"),
        "segment expression, column 13: the bounds are upside down, so nothing would match; \
         write `between 20 and 50`\n  age between 50 and 20\n              ^^^^^^^^^"
    );
    assert!(err("age").contains("`age` is a numeric trait (integers), not a boolean"));
    assert!(err("country between 1 and 2").contains("`between` needs a numeric trait"));
}

#[test]
fn syntax_errors_point_at_the_token() {
    assert_eq!(
        err(r#"country = "FR" and (age > 3"#),
        "segment expression, column 28: expected `)` to close the `(` at column 20, found the \
         end of the expression\n  country = \"FR\" and (age > 3\n                             ^"
    );
    assert_eq!(
        err(r#"country = FR"#),
        "segment expression, column 11: expected a value, found the name `FR`; quote text \
         values: \"FR\"\n  country = FR\n            ^^"
    );
    assert_eq!(
        err("age > 3 && vip"),
        "segment expression, column 9: unexpected character `&`; write `and`\n  age > 3 && vip\n          ^"
    );
    assert_eq!(
        err("segmnt(\"x\")"),
        "segment expression, column 1: unknown function `segmnt`; did you mean `segment`? the \
         functions are segment, party, provider, consent, exists, missing and all\n  \
         segmnt(\"x\")\n  ^^^^^^"
    );
    assert_eq!(
        err(""),
        "segment expression, column 1: the expression is empty; write a condition such as \
         `country = \"FR\"`, or `all()` for every profile\n  \n  ^"
    );
    assert_eq!(
        err("age >\n  and vip"),
        "segment expression, line 2, column 3: expected a value (a \"string\", a number, true or \
         false), found `and`\n    and vip\n    ^^^"
    );
    assert!(err("country = \"FR").contains("this string is not closed"));
    assert!(err("age > 3 vip").contains("join conditions with `and` or `or`"));
    assert!(err("age > 3)").contains("this `)` closes nothing"));
    assert!(err("party(fourth)").contains("write party(first), party(second) or party(third)"));
    assert!(err("age > 3x").contains("`3x` is not a number"));
    assert!(err("country in []").contains("the list is empty"));
    assert!(err("and").contains("found the keyword `and`"));
}

#[test]
fn depth_guard_refuses_deep_nesting_without_overflowing() {
    let ok = format!("{}vip{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(run(&ok).unwrap(), [0, 2]);
    let deep = format!("{}vip{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert!(err(&deep).contains("nests deeper than 64 levels"), "{}", err(&deep));
    let nots = format!("{}vip", "not ".repeat(100_000));
    assert!(err(&nots).contains("nests deeper than 64 levels"));
    let parens = "(".repeat(1_000_000);
    assert!(parse(&parens).is_err());
}

#[test]
fn display_quotes_what_needs_quoting() {
    let e = parse(r#"`and` = "a\"b" or `x y` in [1, -2.5] and segment(s) and party(1)"#).unwrap();
    assert_eq!(
        e.to_string(),
        r#"`and` = "a\"b" or `x y` in [1, -2.5] and segment("s") and party(first)"#
    );
    let nested = parse("(a or b) and not (c and d) and ((e))").unwrap();
    assert_eq!(nested.to_string(), "(a or b) and not (c and d) and e");
}

// ---------------------------------------------------------------- parser robustness

const SOUP: [&str; 34] = [
    "and", "or", "not", "between", "in", "true", "false", "(", ")", "[", "]", ",", "=", "!=", "<",
    "<=", ">", ">=", "\"FR\"", "'x", "`a b`", "`", "3", "-2.5", "1e400", "age", "segment", "party",
    "all", "exists", "\\", "!", "\n", "é",
];

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_.-]{0,6}",
        "[a-zA-Z ,()`\\\\\"é]{1,6}",
        Just("and".to_string()),
        Just("Between".to_string()),
    ]
}

fn literal_strategy() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "[a-zA-Z \"\\\\'`]{0,6}".prop_map(Literal::Str),
        (-1e9f64..1e9).prop_map(Literal::Num),
        any::<i32>().prop_map(|x| Literal::Num(f64::from(x))),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn num() -> impl Strategy<Value = Value> {
    (-1e6f64..1e6).prop_map(|x| Value::new(Literal::Num(x)))
}

fn op_strategy() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ]
}

fn tree_strategy() -> impl Strategy<Value = Expr> {
    let n = || name_strategy().prop_map(Name::new);
    let leaf = prop_oneof![
        (n(), op_strategy(), literal_strategy()).prop_map(|(name, op, l)| Expr::Cmp {
            name,
            op,
            value: Value::new(l)
        }),
        (n(), num(), num()).prop_map(|(name, lo, hi)| Expr::Between { name, lo, hi }),
        (n(), proptest::collection::vec(literal_strategy(), 1..4)).prop_map(|(name, v)| {
            Expr::In { name, values: v.into_iter().map(Value::new).collect() }
        }),
        n().prop_map(Expr::IsTrue),
        n().prop_map(Expr::Exists),
        n().prop_map(Expr::Missing),
        n().prop_map(Expr::Segment),
        n().prop_map(Expr::Provider),
        n().prop_map(Expr::Consent),
        prop_oneof![Just("first"), Just("second"), Just("third")]
            .prop_map(|p| Expr::Party(Name::new(p))),
        Just(Expr::All),
    ];
    leaf.prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|x| Expr::Not(Box::new(x))),
        ]
    })
}

proptest! {
    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,80}") {
        let _ = parse(&s).map_err(|e| e.to_string());
    }

    #[test]
    fn parser_never_panics_on_token_soup(
        toks in proptest::collection::vec(proptest::sample::select(SOUP.to_vec()), 0..30),
        glue in proptest::collection::vec(prop_oneof![Just(""), Just(" ")], 30),
    ) {
        let s: String = toks.iter().zip(&glue).map(|(t, g)| format!("{t}{g}")).collect();
        if let Err(e) = parse(&s) {
            let shown = e.to_string();
            prop_assert!(shown.starts_with("segment expression, "));
            prop_assert!(e.span.start <= s.len() && e.span.end <= s.len());
        }
        let index = small_index();
        if let Ok(e) = parse(&s) {
            // Checking and evaluating whatever parsed must not panic either.
            let segments = segs();
            let _ = check(&e, &s, &index.manifest, &["newsletter"]);
            let _ = check_loaded(&e, &s, &index);
            let ev = Evaluator::new(&index, &segments);
            prop_assert_eq!(ev.count(&e), ev.eval(&e).len());
        }
    }

    #[test]
    fn print_then_parse_gives_the_same_tree(tree in tree_strategy()) {
        let text = tree.to_string();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
        prop_assert_eq!(&back, &tree, "printed as {}", text);
        prop_assert_eq!(back.to_string(), text);
    }
}

// ---------------------------------------------------------------- evaluation vs brute force

/// One random row: country (text), vip (bool), n (int), x (float); `None` is missing.
type Row = (Option<&'static str>, Option<bool>, Option<i64>, Option<f64>);

const COUNTRIES: [&str; 3] = ["FR", "DE", "ES"];

fn row_strategy() -> impl Strategy<Value = Row> {
    (
        proptest::option::of(proptest::sample::select(COUNTRIES.to_vec())),
        proptest::option::of(any::<bool>()),
        proptest::option::of(-5i64..5),
        proptest::option::of(-2f64..2.0),
    )
}

fn random_index(rows: &[Row]) -> BitmapIndex {
    let cols = [
        ("country", ColumnData::Str(rows.iter().map(|r| r.0.map(String::from)).collect())),
        ("vip", ColumnData::Bool(rows.iter().map(|r| r.1).collect())),
        ("n", ColumnData::Int(rows.iter().map(|r| r.2).collect())),
        ("x", ColumnData::Float(rows.iter().map(|r| r.3).collect())),
    ];
    let named: Vec<(String, &ColumnData)> = cols.iter().map(|(n, d)| (n.to_string(), d)).collect();
    let pids: Vec<Pid> = (0..rows.len() as u32).collect();
    BitmapIndex::build(&named, &pids)
}

/// Well-typed trees over the random table's traits and segments `s0`, `s1`.
fn typed_tree() -> impl Strategy<Value = Expr> {
    let num_name = || prop_oneof![Just("n"), Just("x")].prop_map(Name::new);
    let small = || (-6i32..6).prop_map(|v| Value::new(Literal::Num(f64::from(v) / 2.0)));
    let country = || {
        prop_oneof![Just("FR"), Just("DE"), Just("ES"), Just("IT")]
            .prop_map(|c| Value::new(Literal::Str(c.into())))
    };
    let leaf = prop_oneof![
        (prop_oneof![Just(CmpOp::Eq), Just(CmpOp::Ne)], country())
            .prop_map(|(op, value)| { Expr::Cmp { name: Name::new("country"), op, value } }),
        (num_name(), op_strategy(), small()).prop_map(|(name, op, value)| Expr::Cmp {
            name,
            op,
            value
        }),
        (num_name(), small(), small()).prop_map(|(name, lo, hi)| Expr::Between { name, lo, hi }),
        proptest::collection::vec(country(), 1..3)
            .prop_map(|values| Expr::In { name: Name::new("country"), values }),
        (num_name(), proptest::collection::vec(small(), 1..3))
            .prop_map(|(name, values)| Expr::In { name, values }),
        Just(Expr::IsTrue(Name::new("vip"))),
        any::<bool>().prop_map(|b| Expr::Cmp {
            name: Name::new("vip"),
            op: CmpOp::Eq,
            value: Value::new(Literal::Bool(b))
        }),
        prop_oneof![Just("country"), Just("vip"), Just("n"), Just("x")]
            .prop_map(|n| Expr::Exists(Name::new(n))),
        prop_oneof![Just("country"), Just("vip"), Just("n"), Just("x")]
            .prop_map(|n| Expr::Missing(Name::new(n))),
        prop_oneof![Just("s0"), Just("s1")].prop_map(|s| Expr::Segment(Name::new(s))),
        Just(Expr::All),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|x| Expr::Not(Box::new(x))),
        ]
    })
}

fn num_of(l: &Literal) -> f64 {
    match l {
        Literal::Num(x) => *x,
        _ => f64::NAN,
    }
}

/// Row-by-row reference semantics.
fn holds(e: &Expr, row: &Row, pid: Pid, segments: &HashMap<String, RoaringBitmap>) -> bool {
    let number = |name: &str| match name {
        "n" => row.2.map(|v| v as f64),
        _ => row.3,
    };
    let text = |name: &str| match name {
        "country" => row.0.map(String::from),
        "vip" => row.1.map(|b| b.to_string()),
        _ => None,
    };
    match e {
        Expr::And(cs) => cs.iter().all(|c| holds(c, row, pid, segments)),
        Expr::Or(cs) => cs.iter().any(|c| holds(c, row, pid, segments)),
        Expr::Not(x) => !holds(x, row, pid, segments),
        Expr::Cmp { name, op, value } => match &value.lit {
            Literal::Num(c) => number(&name.text).is_some_and(|v| op.holds(v, *c)),
            lit => {
                let want = match lit {
                    Literal::Str(s) => s.clone(),
                    Literal::Bool(b) => b.to_string(),
                    Literal::Num(_) => unreachable!("numbers handled above"),
                };
                text(&name.text).is_some_and(|v| op.holds(v.as_str(), want.as_str()))
            }
        },
        Expr::Between { name, lo, hi } => {
            number(&name.text).is_some_and(|v| num_of(&lo.lit) <= v && v <= num_of(&hi.lit))
        }
        Expr::In { name, values } => values.iter().any(|v| match &v.lit {
            Literal::Num(c) => number(&name.text) == Some(*c),
            Literal::Str(s) => text(&name.text).as_deref() == Some(s.as_str()),
            Literal::Bool(b) => text(&name.text) == Some(b.to_string()),
        }),
        Expr::IsTrue(_) => row.1 == Some(true),
        Expr::Exists(n) | Expr::Missing(n) => {
            let present = match n.text.as_str() {
                "country" => row.0.is_some(),
                "vip" => row.1.is_some(),
                "n" => row.2.is_some(),
                _ => row.3.is_some(),
            };
            present == matches!(e, Expr::Exists(_))
        }
        Expr::Segment(s) => segments[&s.text].contains(pid),
        Expr::All => true,
        Expr::Party(_) | Expr::Provider(_) | Expr::Consent(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn evaluation_matches_a_row_by_row_brute_force(
        rows in proptest::collection::vec(row_strategy(), 0..80),
        s0 in proptest::collection::vec(0u32..90, 0..40),
        s1 in proptest::collection::vec(0u32..90, 0..40),
        tree in typed_tree(),
    ) {
        let index = random_index(&rows);
        // Segments may hold pids outside the universe: evaluation keeps to the universe.
        let segments = HashMap::from([
            ("s0".to_string(), s0.into_iter().collect::<RoaringBitmap>()),
            ("s1".to_string(), s1.into_iter().collect::<RoaringBitmap>()),
        ]);
        let text = tree.to_string();
        let e = parse(&text).unwrap();
        let checked = check(&e, &text, &index.manifest, &["s0", "s1"]);
        // Well-typed trees pass the checks (upside-down `between` bounds are refused).
        prop_assert!(checked.is_ok() || text.contains("between"), "{}: {:?}", text, checked);
        let ev = Evaluator::new(&index, &segments);
        let got = ev.eval(&e);
        let want: RoaringBitmap = rows.iter().enumerate()
            .filter(|(i, r)| holds(&e, r, *i as Pid, &segments))
            .map(|(i, _)| i as Pid)
            .collect();
        prop_assert_eq!(&got, &want, "{}", text);
        prop_assert_eq!(ev.count(&e), want.len());
    }
}

// ---------------------------------------------------------------- set-algebra laws

fn model_eval(e: &Expr, universe: &BTreeSet<u32>, sets: &[BTreeSet<u32>]) -> BTreeSet<u32> {
    match e {
        Expr::And(cs) => cs.iter().fold(universe.clone(), |acc, c| {
            acc.intersection(&model_eval(c, universe, sets)).copied().collect()
        }),
        Expr::Or(cs) => cs.iter().fold(BTreeSet::new(), |acc, c| {
            acc.union(&model_eval(c, universe, sets)).copied().collect()
        }),
        Expr::Not(x) => universe.difference(&model_eval(x, universe, sets)).copied().collect(),
        Expr::Segment(s) => {
            let k: usize = s.text[1..].parse().unwrap();
            sets[k].intersection(universe).copied().collect()
        }
        Expr::All => universe.clone(),
        _ => unreachable!("only segments and all() in these trees"),
    }
}

fn seg(k: usize) -> Expr {
    Expr::Segment(Name::new(format!("s{k}")))
}

fn set_tree() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![4 => (0usize..4).prop_map(seg), 1 => Just(Expr::All)];
    leaf.prop_recursive(5, 32, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|x| Expr::Not(Box::new(x))),
        ]
    })
}

fn not(x: Expr) -> Expr {
    Expr::Not(Box::new(x))
}

proptest! {
    #[test]
    fn set_algebra_laws_hold_against_a_btreeset_model(
        universe in proptest::collection::btree_set(0u32..200, 0..120),
        sets in proptest::collection::vec(proptest::collection::btree_set(0u32..220, 0..100), 4),
        a in set_tree(), b in set_tree(), c in set_tree(),
    ) {
        let index = BitmapIndex { universe: universe.iter().copied().collect(), ..Default::default() };
        let segments: HashMap<String, RoaringBitmap> = sets.iter().enumerate()
            .map(|(k, s)| (format!("s{k}"), s.iter().copied().collect()))
            .collect();
        let ev = Evaluator::new(&index, &segments);
        let eval = |e: &Expr| -> BTreeSet<u32> { ev.eval(e).iter().collect() };
        for e in [&a, &b, &c] {
            prop_assert_eq!(eval(e), model_eval(e, &universe, &sets), "{}", e);
        }
        // De Morgan
        prop_assert_eq!(eval(&not(Expr::And(vec![a.clone(), b.clone()]))),
            eval(&Expr::Or(vec![not(a.clone()), not(b.clone())])));
        prop_assert_eq!(eval(&not(Expr::Or(vec![a.clone(), b.clone()]))),
            eval(&Expr::And(vec![not(a.clone()), not(b.clone())])));
        // Double negation
        prop_assert_eq!(eval(&not(not(a.clone()))), eval(&a));
        // Distributivity, both ways
        prop_assert_eq!(eval(&Expr::And(vec![a.clone(), Expr::Or(vec![b.clone(), c.clone()])])),
            eval(&Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), Expr::And(vec![a.clone(), c.clone()])])));
        prop_assert_eq!(eval(&Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])),
            eval(&Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), Expr::Or(vec![a.clone(), c.clone()])])));
        // Complement
        prop_assert_eq!(eval(&Expr::And(vec![a.clone(), not(a.clone())])), BTreeSet::new());
        prop_assert_eq!(eval(&Expr::Or(vec![a.clone(), not(a.clone())])), universe.clone());
    }
}
