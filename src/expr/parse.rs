//! Text → [`Expr`]: a lexer and a recursive-descent parser for the grammar in the module docs.
//!
//! Every error carries the span of the bad token. The parser never panics, whatever the input,
//! and refuses nesting deeper than [`MAX_DEPTH`] instead of overflowing the stack.

use super::{Expr, ExprError, Literal, Name, Span, Value};
use crate::index::CmpOp;

/// The deepest nesting of parentheses and `not` that [`parse`] accepts.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word: a name, a keyword or a function name.
    Word(String),
    /// A backtick-quoted name (never a keyword).
    Quoted(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Op(CmpOp),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted(w) => format!("the name `{w}`"),
        Tok::Str(_) => "a string".into(),
        Tok::Num(_) => "a number".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Op(op) => format!("`{}`", super::op_str(*op)),
        Tok::End => "the end of the expression".into(),
    }
}

fn lex(input: &str) -> Result<Vec<(Tok, Span)>, ExprError> {
    let err =
        |start: usize, end: usize, msg: String| ExprError::new(input, Span::new(start, end), msg);
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Op(CmpOp::Eq)),
            _ => None,
        };
        if let Some(t) = single {
            chars.next();
            // `==` is accepted as `=`.
            let end = if c == '=' && bytes.get(i + 1) == Some(&b'=') {
                chars.next();
                i + 2
            } else {
                i + 1
            };
            out.push((t, Span::new(i, end)));
            continue;
        }
        match c {
            '<' | '>' | '!' => {
                chars.next();
                let eq = bytes.get(i + 1) == Some(&b'=');
                if eq {
                    chars.next();
                }
                let op =
                    match (c, eq) {
                        ('<', false) => CmpOp::Lt,
                        ('<', true) => CmpOp::Le,
                        ('>', false) => CmpOp::Gt,
                        ('>', true) => CmpOp::Ge,
                        ('!', true) => CmpOp::Ne,
                        _ => return Err(err(
                            i,
                            i + 1,
                            "`!` on its own is not an operator; write `!=` to compare, or `not` \
                             to negate"
                                .into(),
                        )),
                    };
                out.push((Tok::Op(op), Span::new(i, i + 1 + usize::from(eq))));
            }
            '"' | '\'' | '`' => {
                chars.next();
                let mut text = String::new();
                let mut closed = None;
                while let Some((j, d)) = chars.next() {
                    if d == '\\' {
                        match chars.next() {
                            Some((_, e)) if e == '\\' || e == c => text.push(e),
                            Some((k, e)) => {
                                return Err(err(
                                    j,
                                    k + e.len_utf8(),
                                    format!(
                                        "unknown escape `\\{e}`; inside {} only `\\{c}` and `\\\\` \
                                         are escapes",
                                        if c == '`' { "backticks" } else { "a string" }
                                    ),
                                ))
                            }
                            None => break,
                        }
                    } else if d == c {
                        closed = Some(j + 1);
                        break;
                    } else {
                        text.push(d);
                    }
                }
                let Some(end) = closed else {
                    let what = if c == '`' { "name" } else { "string" };
                    return Err(err(
                        i,
                        input.len(),
                        format!("this {what} is not closed; add the closing {c}"),
                    ));
                };
                let tok = if c == '`' { Tok::Quoted(text) } else { Tok::Str(text) };
                out.push((tok, Span::new(i, end)));
            }
            _ if c.is_ascii_digit()
                || (c == '-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let end = number_end(bytes, i);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
                let text = &input[i..end];
                // `party(1st)`, `party(3rd)`: an ordinal is the party's name, not a number.
                let in_party = out.len() >= 2
                    && out[out.len() - 1].0 == Tok::LParen
                    && matches!(&out[out.len() - 2].0, Tok::Word(w) if w.eq_ignore_ascii_case("party"));
                if in_party {
                    let stop = word_end(input, i);
                    if stop > end {
                        while chars.peek().is_some_and(|&(j, _)| j < stop) {
                            chars.next();
                        }
                        out.push((Tok::Word(input[i..stop].to_string()), Span::new(i, stop)));
                        continue;
                    }
                }
                // A number glued to letters (`3x`, `1.5.2`) is a typo, not two tokens.
                if let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '.' {
                        let stop = word_end(input, j);
                        return Err(err(
                            i,
                            stop,
                            format!(
                                "`{}` is not a number; quote it if it is text: \"{}\"",
                                &input[i..stop],
                                &input[i..stop]
                            ),
                        ));
                    }
                }
                let x: f64 = text.parse().map_err(|_| {
                    err(i, end, format!("`{text}` is not a number; write digits like 42 or 0.5"))
                })?;
                if !x.is_finite() {
                    return Err(err(i, end, format!("the number `{text}` is too large")));
                }
                out.push((Tok::Num(x), Span::new(i, end)));
            }
            _ if c.is_alphabetic() || c == '_' => {
                let end = word_end(input, i);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
                out.push((Tok::Word(input[i..end].to_string()), Span::new(i, end)));
            }
            _ => {
                let hint = match c {
                    '&' => "; write `and`",
                    '|' => "; write `or`",
                    _ => "; names with other characters go between backticks: `my name`",
                };
                return Err(err(i, i + c.len_utf8(), format!("unexpected character `{c}`{hint}")));
            }
        }
    }
    out.push((Tok::End, Span::new(input.len(), input.len())));
    Ok(out)
}

/// End of a name starting at `i`: letters, digits, `_`, `.`, `-`.
fn word_end(input: &str, i: usize) -> usize {
    input[i..]
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map_or(input.len(), |(k, _)| i + k)
}

/// End of a number starting at `i`: `-? digits (. digits)? ([eE] [+-]? digits)?`.
fn number_end(b: &[u8], i: usize) -> usize {
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = if b[i] == b'-' { i + 1 } else { i };
    j = digits(j);
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j = digits(j + 1);
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let k = if matches!(b.get(j + 1), Some(b'+' | b'-')) { j + 2 } else { j + 1 };
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            j = digits(k);
        }
    }
    j
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<(Tok, Span)>,
    pos: usize,
}

/// Parses an expression; see the grammar in the module docs.
pub fn parse(input: &str) -> Result<Expr, ExprError> {
    let toks = lex(input)?;
    let mut p = Parser { input, toks, pos: 0 };
    if p.peek() == &Tok::End {
        return Err(p.err(
            p.span(),
            "the expression is empty; write a condition such as `country = \"FR\"`, or `all()` \
             for every profile",
        ));
    }
    let e = p.or(0)?;
    if p.peek() != &Tok::End {
        let hint = match p.peek() {
            Tok::RParen => " (this `)` closes nothing)".to_string(),
            Tok::Word(_) | Tok::Quoted(_) | Tok::Str(_) | Tok::Num(_) | Tok::LParen => {
                "; join conditions with `and` or `or`".to_string()
            }
            _ => String::new(),
        };
        return Err(p.err(p.span(), format!("unexpected {}{hint}", describe(p.peek()))));
    }
    Ok(e)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn span(&self) -> Span {
        self.toks[self.pos].1
    }

    fn next(&mut self) -> (Tok, Span) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn err(&self, span: Span, msg: impl Into<String>) -> ExprError {
        ExprError::new(self.input, span, msg)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].0
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<Span, ExprError> {
        if self.peek() == &want {
            Ok(self.next().1)
        } else {
            Err(self.err(self.span(), format!("expected {what}, found {}", describe(self.peek()))))
        }
    }

    fn deeper(&self, depth: usize) -> Result<usize, ExprError> {
        if depth >= MAX_DEPTH {
            return Err(self.err(
                self.span(),
                format!(
                    "the expression nests deeper than {MAX_DEPTH} levels of parentheses and \
                     `not`; simplify it"
                ),
            ));
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.and(depth)?];
        while self.is_kw("or") {
            self.next();
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one item") } else { Expr::Or(items) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary(depth)?];
        while self.is_kw("and") {
            self.next();
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one item") } else { Expr::And(items) })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.is_kw("not") {
            let depth = self.deeper(depth)?;
            self.next();
            return Ok(Expr::Not(Box::new(self.unary(depth)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let span = self.span();
        match self.peek().clone() {
            Tok::LParen => {
                let depth = self.deeper(depth)?;
                self.next();
                if self.peek() == &Tok::RParen {
                    return Err(
                        self.err(span.to(self.span()), "empty parentheses; put a condition inside")
                    );
                }
                let e = self.or(depth)?;
                if self.peek() != &Tok::RParen {
                    return Err(self.err(
                        self.span(),
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            self.input[..span.start].chars().count() + 1,
                            describe(self.peek())
                        ),
                    ));
                }
                self.next();
                Ok(e)
            }
            Tok::Word(w) if self.peek_at(1) == &Tok::LParen => {
                self.next();
                self.function(&w, span)
            }
            Tok::Word(w) if super::KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&w)) => Err(self
                .err(
                    span,
                    format!(
                        "expected a condition, found the keyword `{w}`; a trait with this name \
                         goes between backticks: `{w}`"
                    ),
                )),
            Tok::Word(w) | Tok::Quoted(w) => {
                self.next();
                let name = Name { text: w, span };
                self.condition(name)
            }
            t => Err(self.err(
                span,
                format!(
                    "expected a condition (a trait, `not`, `(` or a function such as \
                     segment(\"name\")), found {}",
                    describe(&t)
                ),
            )),
        }
    }

    /// After a trait name: an operator, `between`, `in`, or nothing (a boolean trait).
    fn condition(&mut self, name: Name) -> Result<Expr, ExprError> {
        match self.peek().clone() {
            Tok::Op(op) => {
                self.next();
                let value = self.value()?;
                Ok(Expr::Cmp { name, op, value })
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("between") => {
                self.next();
                let lo = self.number("between")?;
                if !self.is_kw("and") {
                    return Err(self.err(
                        self.span(),
                        format!(
                            "expected `and` after `between {lo}`, found {}; write `{} between {lo} \
                             and HIGH`",
                            describe(self.peek()),
                            name
                        ),
                    ));
                }
                self.next();
                let hi = self.number("between ... and")?;
                Ok(Expr::Between { name, lo, hi })
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => {
                self.next();
                let open = self
                    .expect(Tok::LBracket, "`[` after `in`, as in `country in [\"FR\", \"DE\"]`")?;
                let mut values = Vec::new();
                loop {
                    if self.peek() == &Tok::RBracket {
                        if values.is_empty() {
                            return Err(self.err(
                                open.to(self.span()),
                                "the list is empty; put at least one value between the brackets",
                            ));
                        }
                        self.next();
                        break;
                    }
                    values.push(self.value()?);
                    match self.peek() {
                        Tok::Comma => {
                            self.next();
                        }
                        Tok::RBracket => {}
                        t => {
                            return Err(self.err(
                                self.span(),
                                format!("expected `,` or `]` in the list, found {}", describe(t)),
                            ))
                        }
                    }
                }
                Ok(Expr::In { name, values })
            }
            _ => Ok(Expr::IsTrue(name)),
        }
    }

    fn value(&mut self) -> Result<Value, ExprError> {
        let (t, span) = (self.peek().clone(), self.span());
        let lit = match t {
            Tok::Str(s) => Literal::Str(s),
            Tok::Num(x) => Literal::Num(x),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Word(w) if super::KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&w)) => {
                return Err(self.err(
                    span,
                    format!(
                        "expected a value (a \"string\", a number, true or false), found `{w}`"
                    ),
                ))
            }
            Tok::Word(w) | Tok::Quoted(w) => {
                return Err(self.err(
                    span,
                    format!("expected a value, found the name `{w}`; quote text values: \"{w}\""),
                ))
            }
            t => {
                return Err(self.err(
                    span,
                    format!(
                        "expected a value (a \"string\", a number, true or false), found {}",
                        describe(&t)
                    ),
                ))
            }
        };
        self.next();
        Ok(Value { lit, span })
    }

    fn number(&mut self, after: &str) -> Result<Value, ExprError> {
        let v = self.value()?;
        if matches!(v.lit, Literal::Num(_)) {
            Ok(v)
        } else {
            Err(self.err(v.span, format!("`{after}` takes numbers, found {}", v.lit)))
        }
    }

    /// `NAME(` was read: the arguments and `)`.
    fn function(&mut self, f: &str, span: Span) -> Result<Expr, ExprError> {
        let fl = f.to_ascii_lowercase();
        self.next(); // `(`
        if fl == "all" {
            self.expect(Tok::RParen, "`)`: all() takes no argument")?;
            return Ok(Expr::All);
        }
        let known = ["segment", "party", "provider", "consent", "exists", "missing", "all"];
        if !known.contains(&fl.as_str()) {
            let hint = crate::table::nearest(f, &known)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            return Err(self.err(
                span,
                format!(
                    "unknown function `{f}`; {hint}the functions are segment, party, provider, \
                     consent, exists, missing and all"
                ),
            ));
        }
        let (t, aspan) = (self.peek().clone(), self.span());
        let arg = match t {
            Tok::Word(w) | Tok::Quoted(w) | Tok::Str(w) => w,
            // party(1), party(2), party(3): the numeric aliases that import also accepts.
            Tok::Num(_) if fl == "party" => self.input[aspan.start..aspan.end].to_string(),
            t => {
                return Err(self.err(
                    aspan,
                    format!("{fl}() takes a name, found {}; write {fl}(NAME)", describe(&t)),
                ))
            }
        };
        if arg.is_empty() {
            return Err(self.err(aspan, format!("{fl}() needs a name, not an empty string")));
        }
        self.next();
        self.expect(Tok::RParen, &format!("`)` to close {fl}(...); it takes one argument"))?;
        let name = Name { text: arg, span: aspan };
        Ok(match fl.as_str() {
            "segment" => Expr::Segment(name),
            "party" => {
                let lower = name.text.to_lowercase();
                match crate::import::parse_party(&lower) {
                    Some(p) => Expr::Party(Name { text: p, span: aspan }),
                    None => {
                        return Err(self.err(
                            aspan,
                            format!(
                                "unknown party `{}`; write party(first), party(second) or \
                                 party(third)",
                                name.text
                            ),
                        ))
                    }
                }
            }
            "provider" => Expr::Provider(name),
            "consent" => Expr::Consent(name),
            "exists" => Expr::Exists(name),
            _ => Expr::Missing(name),
        })
    }
}
