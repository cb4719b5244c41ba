//! The grammar of a check's expression (SUBMISSIONS.md, "Checks"), parsed
//! with winnow into a tree whose every node knows its place in the text
//! (byte offsets), so that a later mistake (an unknown indicator or
//! function, units that do not agree) is shown under the right characters:
//!
//! ```text
//! condition  = all ("or" all)*
//! all        = primary ("and" primary)*
//! primary    = "(" condition ")" | comparison
//! comparison = sum ("<=" | ">=" | "==" | "!=" | "<" | ">") sum
//! sum        = product (("+" | "-") product)*
//! product    = unary (("*" | "/") unary)*
//! unary      = "-" unary | atom
//! atom       = number | "{" CODE "}" | name "(" sum ("," sum)* ")" | "(" sum ")"
//! ```

use std::ops::Range;

use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{alt, cut_err, delimited, eof, not, opt, preceded, repeat, separated, terminated};
use winnow::error::{ContextError, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::stream::LocatingSlice;
use winnow::token::{one_of, take_while};

use crate::decimal::Decimal;

type In<'a> = LocatingSlice<&'a str>;

/// Byte offsets into the expression.
pub type Span = Range<usize>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    pub fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CmpOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
        }
    }
}

/// An arithmetic expression as written, names not yet looked up.
#[derive(Debug, Clone, PartialEq)]
pub enum Syntax {
    Number(Decimal, Span),
    /// `{CODE}`: the span is the code's, inside the braces.
    Code(String, Span),
    /// `name(args)`: the span is the name's.
    Call(String, Span, Vec<Syntax>),
    Neg(Box<Syntax>, Span),
    Bin(Arith, Box<Syntax>, Box<Syntax>, Span),
}

impl Syntax {
    /// Where the expression stands in the text.
    pub fn span(&self) -> Span {
        match self {
            Syntax::Number(_, s) | Syntax::Neg(_, s) | Syntax::Bin(_, _, _, s) => s.clone(),
            // With its braces.
            Syntax::Code(_, s) => s.start - 1..s.end + 1,
            Syntax::Call(_, name, args) => {
                let end = args.last().map_or(name.end, |a| a.span().end + 1);
                name.start..end
            }
        }
    }
}

/// A condition as written.
#[derive(Debug, Clone, PartialEq)]
pub enum CondSyntax {
    Cmp(Syntax, CmpOp, Syntax, Span),
    And(Box<CondSyntax>, Box<CondSyntax>),
    Or(Box<CondSyntax>, Box<CondSyntax>),
}

/// A syntax error: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: usize,
    pub expected: String,
}

/// Parses a whole expression.
pub fn parse(text: &str) -> Result<CondSyntax, SyntaxError> {
    terminated(delimited(multispace0, condition, multispace0), eof.context(expected("an operator or the end")))
        .parse(LocatingSlice::new(text))
        .map_err(|e| {
            let wanted: Vec<String> = e
                .inner()
                .context()
                .filter_map(|c| match c {
                    StrContext::Expected(v) => Some(v.to_string()),
                    _ => None,
                })
                .collect();
            let expected = if wanted.is_empty() { "something else".to_owned() } else { wanted.join(" or ") };
            SyntaxError { at: e.offset(), expected }
        })
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

/// `p` with the white space around it.
fn ws<'a, O, P>(p: P) -> impl Parser<In<'a>, O, winnow::error::ErrMode<ContextError>>
where
    P: Parser<In<'a>, O, winnow::error::ErrMode<ContextError>>,
{
    delimited(multispace0, p, multispace0)
}

/// A keyword (`and`, `or`) not followed by more of a name.
fn keyword<'a>(word: &'static str) -> impl Parser<In<'a>, &'a str, winnow::error::ErrMode<ContextError>> {
    ws(terminated(word, not(one_of(|c: char| c.is_alphanumeric() || c == '_'))))
}

fn condition(i: &mut In<'_>) -> ModalResult<CondSyntax> {
    let first = all(i)?;
    let rest: Vec<CondSyntax> = repeat(0.., preceded(keyword("or"), cut_err(all))).parse_next(i)?;
    Ok(rest.into_iter().fold(first, |a, b| CondSyntax::Or(Box::new(a), Box::new(b))))
}

fn all(i: &mut In<'_>) -> ModalResult<CondSyntax> {
    let first = primary(i)?;
    let rest: Vec<CondSyntax> = repeat(0.., preceded(keyword("and"), cut_err(primary))).parse_next(i)?;
    Ok(rest.into_iter().fold(first, |a, b| CondSyntax::And(Box::new(a), Box::new(b))))
}

fn primary(i: &mut In<'_>) -> ModalResult<CondSyntax> {
    alt((delimited(ws('('), condition, ws(')')), comparison)).parse_next(i)
}

fn comparison(i: &mut In<'_>) -> ModalResult<CondSyntax> {
    let ((left, op, right), span) = (
        sum,
        ws(alt((
            "<=".value(CmpOp::Le),
            ">=".value(CmpOp::Ge),
            "==".value(CmpOp::Eq),
            "!=".value(CmpOp::Ne),
            "<".value(CmpOp::Lt),
            ">".value(CmpOp::Gt),
        )))
        .context(expected("a comparison (< <= == != >= >)")),
        cut_err(sum),
    )
        .with_span()
        .parse_next(i)?;
    Ok(CondSyntax::Cmp(left, op, right, span))
}

/// Left-associative operators over `operand`.
fn chain(
    i: &mut In<'_>,
    operand: fn(&mut In<'_>) -> ModalResult<Syntax>,
    ops: [(char, Arith); 2],
) -> ModalResult<Syntax> {
    let first = operand(i)?;
    let [(a, op_a), (b, op_b)] = ops;
    let rest: Vec<(Arith, Syntax)> =
        repeat(0.., (ws(alt((a.value(op_a), b.value(op_b)))), cut_err(operand))).parse_next(i)?;
    Ok(rest.into_iter().fold(first, |left, (op, right)| {
        let span = left.span().start..right.span().end;
        Syntax::Bin(op, Box::new(left), Box::new(right), span)
    }))
}

fn sum(i: &mut In<'_>) -> ModalResult<Syntax> {
    chain(i, product, [('+', Arith::Add), ('-', Arith::Sub)])
}

fn product(i: &mut In<'_>) -> ModalResult<Syntax> {
    chain(i, unary, [('*', Arith::Mul), ('/', Arith::Div)])
}

fn unary(i: &mut In<'_>) -> ModalResult<Syntax> {
    let minus: Option<Range<usize>> = opt(ws('-'.span())).parse_next(i)?;
    match minus {
        Some(at) => {
            let inner = cut_err(unary).parse_next(i)?;
            let span = at.start..inner.span().end;
            Ok(Syntax::Neg(Box::new(inner), span))
        }
        None => atom(i),
    }
}

fn atom(i: &mut In<'_>) -> ModalResult<Syntax> {
    ws(alt((number, code, call, delimited('(', sum, cut_err(ws(')').context(expected("`)`")))))))
        .context(expected("a number, an indicator `{CODE}`, a function or `(`"))
        .parse_next(i)
}

fn number(i: &mut In<'_>) -> ModalResult<Syntax> {
    // Digits with at most one point: a decimal, unless it has more digits
    // than a decimal holds.
    let (d, span) = (digit1, opt(('.', digit1)))
        .take()
        .try_map(|t: &str| t.parse::<Decimal>())
        .context(expected("a number of at most 38 digits"))
        .with_span()
        .parse_next(i)?;
    Ok(Syntax::Number(d, span))
}

fn code(i: &mut In<'_>) -> ModalResult<Syntax> {
    let (text, span) = preceded(
        '{',
        cut_err(terminated(
            take_while(1.., |c: char| !matches!(c, '{' | '}' | '(' | ')') && !c.is_whitespace())
                .context(expected("an indicator code")),
            '}'.context(expected("`}`")),
        )),
    )
    .with_span()
    .parse_next(i)?;
    // The code's own place, inside the braces.
    Ok(Syntax::Code(text.to_owned(), span.start + 1..span.end - 1))
}

fn call(i: &mut In<'_>) -> ModalResult<Syntax> {
    let (name, span) = take_while(1.., |c: char| c.is_ascii_alphabetic() || c == '_').with_span().parse_next(i)?;
    let args: Vec<Syntax> =
        preceded(ws('('), cut_err(terminated(separated(1.., sum, ws(',')), ws(')').context(expected("`,` or `)`")))))
            .parse_next(i)?;
    Ok(Syntax::Call(name.to_owned(), span, args))
}
