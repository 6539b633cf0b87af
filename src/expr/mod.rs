//! The segment expression language: its grammar, its syntax tree, its errors.
//!
//! Owns the text → tree step ([`parse`], in `parse.rs`), the tree → text step ([`Expr`]'s
//! `Display`, which [`parse`] reads back to the same tree), the checks of names and types against
//! a store ([`check`], in `eval.rs`) and the evaluation of a checked tree over the bitmap index
//! ([`Evaluator`]). It does not own the index ([`crate::index`]) nor stored segments
//! ([`crate::segment`]): the caller loads what [`Needs`] lists and hands it in.
//!
//! # Grammar
//!
//! ```text
//! expr      = or
//! or        = and { "or" and }
//! and       = unary { "and" unary }
//! unary     = "not" unary | primary
//! primary   = "(" expr ")"
//!           | function
//!           | name op value                      country = "FR", age >= 18, vip = true
//!           | name "between" number "and" number  age between 18 and 34 (both ends included)
//!           | name "in" "[" value { "," value } [","] "]"
//!           | name                               a boolean trait that is true: vip
//! function  = "segment" "(" word ")"             a stored segment
//!           | "party" "(" ("first" | "second" | "third") ")"
//!           | "provider" "(" word ")"            profiles from this data provider
//!           | "consent" "(" word ")"             consent(ads): trait consent.ads is true
//!           | "exists" "(" name ")"              the trait has a value
//!           | "missing" "(" name ")"             the trait has no value
//!           | "all" "(" ")"                      every profile
//! op        = "=" | "!=" | "<" | "<=" | ">" | ">="
//! value     = string | number | "true" | "false"
//! word      = name | string
//! name      = letter_or_underscore { letter | digit | "_" | "." | "-" }  (not a keyword)
//!           | "`" any text, with \` and \\ escaped "`"
//! string    = '"' text, with \" and \\ escaped '"'   (or the same between single quotes)
//! number    = [ "-" ] digits [ "." digits ] [ ("e" | "E") [ "+" | "-" ] digits ]
//! ```
//!
//! Keywords (`and`, `or`, `not`, `between`, `in`, `true`, `false`) are case-insensitive; a trait
//! whose name is a keyword is written between backticks. A name followed by `(` is a function.
//! `and` binds tighter than `or`; `not` tighter than both. Nesting of parentheses and `not` is
//! limited to [`MAX_DEPTH`] levels.
//!
//! # Meaning
//! - A comparison matches only profiles that have a value: `age != 30` leaves out profiles without
//!   an age, while `not age = 30` keeps them.
//! - Text and boolean traits take `=`, `!=` and `in` with strings (booleans as `true`/`false`);
//!   numeric traits take every operator, `between` and `in` with numbers. Anything else is a type
//!   error naming the trait's kind.
//! - `not x` is every profile of the universe that `x` does not hold.

mod eval;
mod parse;

use std::fmt;

pub use eval::{check, check_loaded, needs, Evaluator, Needs};
pub use parse::{parse, MAX_DEPTH};

use crate::index::CmpOp;

/// A byte range of the input, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A name in the expression (trait, segment, provider, ...) and where it was written.
/// Two names are equal when their text is: the span only serves error messages.
#[derive(Debug, Clone, Eq)]
pub struct Name {
    /// The name, unquoted.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Name {
    /// A name without a place (for trees built in code).
    pub fn new(text: impl Into<String>) -> Name {
        Name { text: text.into(), span: Span::default() }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Str(String),
    /// A number (never NaN nor infinite).
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// A literal and where it was written. Equal when the literals are.
#[derive(Debug, Clone)]
pub struct Value {
    /// The literal.
    pub lit: Literal,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.lit == other.lit
    }
}

impl Value {
    /// A value without a place (for trees built in code).
    pub fn new(lit: Literal) -> Value {
        Value { lit, span: Span::default() }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All children hold (two or more).
    And(Vec<Expr>),
    /// Any child holds (two or more).
    Or(Vec<Expr>),
    /// The child does not hold.
    Not(Box<Expr>),
    /// `name op value`.
    Cmp {
        /// The trait.
        name: Name,
        /// The operator.
        op: CmpOp,
        /// The value.
        value: Value,
    },
    /// `name between lo and hi`, both ends included.
    Between {
        /// The trait.
        name: Name,
        /// Lower bound (a number).
        lo: Value,
        /// Upper bound (a number).
        hi: Value,
    },
    /// `name in [v, ...]`.
    In {
        /// The trait.
        name: Name,
        /// The values (at least one).
        values: Vec<Value>,
    },
    /// A bare boolean trait: it is true.
    IsTrue(Name),
    /// `exists(name)`.
    Exists(Name),
    /// `missing(name)`.
    Missing(Name),
    /// `segment(name)`.
    Segment(Name),
    /// `party(first|second|third)`.
    Party(Name),
    /// `provider(name)`.
    Provider(Name),
    /// `consent(purpose)`.
    Consent(Name),
    /// `all()`.
    All,
}

/// Keywords, which a bare name cannot be.
pub const KEYWORDS: [&str; 7] = ["and", "or", "not", "between", "in", "true", "false"];

/// True when `s` can be written without backticks.
pub fn is_bare_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    (first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

fn write_name(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if is_bare_name(s) {
        f.write_str(s)
    } else {
        write!(f, "`{}`", s.replace('\\', "\\\\").replace('`', "\\`"))
    }
}

fn write_str_lit(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_name(f, &self.text)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_str_lit(f, s),
            Literal::Num(x) => write!(f, "{x}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lit.fmt(f)
    }
}

/// The operator as written.
pub fn op_str(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

impl Expr {
    fn write_child(&self, f: &mut fmt::Formatter<'_>, child: &Expr) -> fmt::Result {
        // `and` binds tighter than `or`, so an `and` group inside an `or` needs no parentheses.
        let tighter = matches!((self, child), (Expr::Or(_), Expr::And(_)));
        if matches!(child, Expr::And(_) | Expr::Or(_)) && !tighter {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

/// Prints the expression so that [`parse`] reads it back to the same tree: nested `and`/`or`
/// groups are parenthesised, names are backtick-quoted when needed, strings escaped.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(cs) | Expr::Or(cs) => {
                let sep = if matches!(self, Expr::And(_)) { " and " } else { " or " };
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    self.write_child(f, c)?;
                }
                Ok(())
            }
            Expr::Not(x) => {
                f.write_str("not ")?;
                self.write_child(f, x)
            }
            Expr::Cmp { name, op, value } => write!(f, "{name} {} {value}", op_str(*op)),
            Expr::Between { name, lo, hi } => write!(f, "{name} between {lo} and {hi}"),
            Expr::In { name, values } => {
                write!(f, "{name} in [")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Expr::IsTrue(n) => write!(f, "{n}"),
            Expr::Exists(n) => write!(f, "exists({n})"),
            Expr::Missing(n) => write!(f, "missing({n})"),
            Expr::Segment(n) => {
                f.write_str("segment(")?;
                write_str_lit(f, &n.text)?;
                f.write_str(")")
            }
            Expr::Party(n) => write!(f, "party({n})"),
            Expr::Provider(n) => {
                f.write_str("provider(")?;
                write_str_lit(f, &n.text)?;
                f.write_str(")")
            }
            Expr::Consent(n) => write!(f, "consent({n})"),
            Expr::All => f.write_str("all()"),
        }
    }
}

/// A mistake in an expression: what is wrong and where. Its `Display` prints the message, then
/// the line of the input with the bad part marked:
///
/// ```text
/// segment expression, column 1: unknown trait `contry` (did you mean `country`?)
///   contry = "FR"
///   ^^^^^^
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// What is wrong and how to fix it.
    pub message: String,
    /// Where, in bytes of `input`.
    pub span: Span,
    /// The whole expression.
    pub input: String,
}

impl ExprError {
    /// An error at `span` of `input`.
    pub fn new(input: &str, span: Span, message: impl Into<String>) -> ExprError {
        ExprError { message: message.into(), span, input: input.to_string() }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.input;
        let start = floor_char_boundary(input, self.span.start.min(input.len()));
        let end = floor_char_boundary(input, self.span.end.clamp(start, input.len()));
        let line_start = input[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = input[start..].find('\n').map_or(input.len(), |i| start + i);
        let line = input[line_start..line_end].trim_end_matches('\r');
        let before = &input[line_start..start];
        let col = before.chars().count() + 1;
        let pad: String = before.chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let marked = input[start..end.min(line_end).max(start)].chars().count().max(1);
        let at = if input.contains('\n') {
            let line_no = input[..start].matches('\n').count() + 1;
            format!("line {line_no}, column {col}")
        } else {
            format!("column {col}")
        };
        write!(
            f,
            "segment expression, {at}: {}\n  {line}\n  {pad}{}",
            self.message,
            "^".repeat(marked)
        )
    }
}

impl std::error::Error for ExprError {}

impl From<ExprError> for crate::Error {
    fn from(e: ExprError) -> Self {
        crate::Error::user(e.to_string())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests;
