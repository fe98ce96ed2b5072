//! Statements and expressions of mock configuration files.
//!
//! Supported: `config_opts[k]…[k] = expr`, `config_opts[k]…[k] += expr`,
//! `include(expr)`, and expressions made of literals (str, int, float, bool,
//! None, list, tuple, dict), reads of `config_opts[…]`, `+`, `==`, `!=`,
//! `not`, `and`, `or` and parentheses. Everything else is reported with its
//! position; the parser then skips to the next statement (and over the
//! indented body of a reported block statement), so every problem of a file
//! is reported in one pass.

use std::ops::Range;

use super::lexer::{Tok, Token};
use super::value::Value;

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Lit(Value),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `config_opts[k]…`
    Read(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>, bool),
    Add(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssignOp {
    Set,
    Append,
}

#[derive(Debug, Clone)]
pub(crate) enum Stmt {
    Assign {
        /// Span of the `config_opts` name: the assignment's position.
        at: Range<usize>,
        keys: Vec<Expr>,
        op: AssignOp,
        value: Expr,
    },
    Include {
        at: Range<usize>,
        arg: Expr,
    },
}

/// A parse problem: byte range, message and an optional hint.
#[derive(Debug, Clone)]
pub(crate) struct ParseError {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

fn err(span: Range<usize>, message: impl Into<String>) -> ParseError {
    ParseError {
        span,
        message: message.into(),
        help: None,
    }
}

fn err_help(span: Range<usize>, message: impl Into<String>, help: impl Into<String>) -> ParseError {
    ParseError {
        span,
        message: message.into(),
        help: Some(help.into()),
    }
}

pub(crate) fn parse(tokens: &[Token]) -> (Vec<Stmt>, Vec<ParseError>) {
    let mut p = Parser { toks: tokens, pos: 0 };
    let mut stmts = Vec::new();
    let mut errors = Vec::new();
    let mut skip_block = false;
    // After a reported `if`/`try`/`for`/`while` block, its `elif`, `else`,
    // `except` and `finally` parts belong to the same report.
    let mut in_compound = false;
    loop {
        match p.tok() {
            Tok::Eof => break,
            Tok::Newline => {
                p.pos += 1;
                continue;
            }
            Tok::Indent if skip_block => {
                p.skip_line();
                continue;
            }
            Tok::Indent => {
                let span = p.span();
                errors.push(err(span, "unexpected indentation"));
                p.skip_line();
                skip_block = p.prev_is(":");
                continue;
            }
            _ => {}
        }
        skip_block = false;
        if in_compound
            && matches!(p.tok(), Tok::Name(n) if matches!(n.as_str(), "elif" | "else" | "except" | "finally"))
        {
            p.skip_line();
            skip_block = p.prev_is(":");
            continue;
        }
        in_compound = matches!(p.tok(), Tok::Name(n) if matches!(n.as_str(), "if" | "try" | "for" | "while"));
        match p.statement() {
            Ok(s) => {
                in_compound = false;
                stmts.push(s);
                // `a; b` on one line.
                match p.tok() {
                    Tok::Op(";") => p.pos += 1,
                    Tok::Newline => p.pos += 1,
                    Tok::Eof => {}
                    _ => {
                        let span = p.span();
                        errors.push(err(
                            span,
                            format!("unexpected {} after the statement", describe(p.tok())),
                        ));
                        p.skip_line();
                    }
                }
            }
            Err(e) => {
                errors.push(e);
                p.skip_line();
                skip_block = p.prev_is(":");
                in_compound &= skip_block;
            }
        }
    }
    (stmts, errors)
}

pub(crate) fn describe(t: &Tok) -> String {
    match t {
        Tok::Name(n) => format!("`{n}`"),
        Tok::Str { .. } => "a string".to_owned(),
        Tok::Int(_) | Tok::Float(_) => "a number".to_owned(),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Newline => "end of line".to_owned(),
        Tok::Indent => "indentation".to_owned(),
        Tok::Eof => "end of file".to_owned(),
    }
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
}

const STATEMENT_KEYWORDS: &[(&str, &str)] = &[
    (
        "import",
        "mock configs are read without Python here; `import` cannot be supported",
    ),
    (
        "from",
        "mock configs are read without Python here; `import` cannot be supported",
    ),
    (
        "if",
        "use Jinja (`{% if … %}`) inside a string value instead of a Python `if`",
    ),
    (
        "elif",
        "use Jinja (`{% if … %}`) inside a string value instead of a Python `if`",
    ),
    (
        "else",
        "use Jinja (`{% if … %}`) inside a string value instead of a Python `if`",
    ),
    ("for", "write the values out; loops are not supported"),
    ("while", "write the values out; loops are not supported"),
    ("def", "functions are not supported"),
    ("class", "classes are not supported"),
    ("with", "`with` blocks are not supported"),
    ("try", "`try` blocks are not supported"),
    ("except", "`try` blocks are not supported"),
    ("finally", "`try` blocks are not supported"),
    ("del", "remove the assignment instead of deleting the option"),
    ("global", "only `config_opts[...]` can be assigned"),
    ("nonlocal", "only `config_opts[...]` can be assigned"),
    (
        "return",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
    (
        "pass",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
    (
        "assert",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
    (
        "raise",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
    (
        "lambda",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
    (
        "async",
        "only `config_opts[...]` assignments and `include()` are supported",
    ),
];

impl Parser<'_> {
    fn tok(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek(&self, off: usize) -> &Tok {
        &self.toks[(self.pos + off).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Range<usize> {
        self.toks[self.pos.min(self.toks.len() - 1)].span.clone()
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[(self.pos - 1).min(self.toks.len() - 1)].span.end
        }
    }

    fn prev_is(&self, op: &str) -> bool {
        // After skip_line, pos is past the Newline; look at the token before it.
        self.pos >= 2 && matches!(&self.toks[self.pos - 2].tok, Tok::Op(o) if *o == op)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.tok(), Tok::Op(o) if *o == op)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), ParseError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err(
                self.span(),
                format!("expected `{op}`, found {}", describe(self.tok())),
            ))
        }
    }

    /// Skip to just after the next Newline.
    fn skip_line(&mut self) {
        loop {
            match self.tok() {
                Tok::Eof => return,
                Tok::Newline => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    fn statement(&mut self) -> Result<Stmt, ParseError> {
        let at = self.span();
        let Tok::Name(name) = self.tok().clone() else {
            return Err(err_help(
                at,
                format!("unsupported statement starting with {}", describe(self.tok())),
                "a mock config holds `config_opts[...] = value` assignments and `include('file')`",
            ));
        };
        if let Some((_, help)) = STATEMENT_KEYWORDS.iter().find(|(k, _)| *k == name) {
            return Err(err_help(
                at,
                format!("`{name}` statements are not supported"),
                *help,
            ));
        }
        match name.as_str() {
            "config_opts" => self.assignment(at),
            "include" if matches!(self.peek(1), Tok::Op("(")) => {
                self.pos += 2;
                let arg = self.expr()?;
                if self.is_op(",") {
                    return Err(err(self.span(), "`include()` takes one argument"));
                }
                self.expect_op(")")?;
                Ok(Stmt::Include { at, arg })
            }
            _ if matches!(self.peek(1), Tok::Op("(")) => Err(err_help(
                at,
                format!("function call `{name}()` is not supported"),
                "only `include('file')` can be called",
            )),
            _ if matches!(self.peek(1), Tok::Op("=" | "+=" | ":=")) => Err(err_help(
                at,
                format!("assignment to `{name}` is not supported"),
                "only `config_opts[...]` can be assigned",
            )),
            _ => Err(err_help(
                at,
                format!("unsupported statement starting with `{name}`"),
                "a mock config holds `config_opts[...] = value` assignments and `include('file')`",
            )),
        }
    }

    fn assignment(&mut self, at: Range<usize>) -> Result<Stmt, ParseError> {
        self.pos += 1;
        let keys = self.subscripts()?;
        if self.is_op(".") {
            let span = self.span().start..self.toks[(self.pos + 1).min(self.toks.len() - 1)].span.end;
            let attr = match self.peek(1) {
                Tok::Name(n) => n.clone(),
                _ => String::new(),
            };
            return Err(err_help(
                span,
                format!("`config_opts.{attr}` is not supported"),
                "set each option with `config_opts['key'] = value`",
            ));
        }
        let op = match self.tok() {
            Tok::Op("=") => AssignOp::Set,
            Tok::Op("+=") => AssignOp::Append,
            Tok::Op(o) if o.ends_with('=') && *o != "==" && *o != "!=" && *o != "<=" && *o != ">=" => {
                return Err(err(
                    self.span(),
                    format!("operator `{o}` is not supported (only `=` and `+=`)"),
                ));
            }
            Tok::Newline | Tok::Eof | Tok::Op(";") => {
                return Err(err_help(
                    at.start..self.prev_end(),
                    "an expression on its own is not supported",
                    "assign it: `config_opts['key'] = value`",
                ));
            }
            other => {
                return Err(err(
                    self.span(),
                    format!("expected `=` or `+=`, found {}", describe(other)),
                ));
            }
        };
        if keys.is_empty() {
            return Err(err(
                at,
                "assigning to `config_opts` itself is not supported; assign `config_opts['key']`",
            ));
        }
        self.pos += 1;
        let value = self.expr()?;
        Ok(Stmt::Assign { at, keys, op, value })
    }

    fn subscripts(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut keys = Vec::new();
        while self.is_op("[") {
            self.pos += 1;
            let k = self.expr()?;
            if self.is_op(":") {
                return Err(err(self.span(), "slices are not supported"));
            }
            self.expect_op("]")?;
            keys.push(k);
        }
        Ok(keys)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let e = self.or_expr()?;
        if matches!(self.tok(), Tok::Name(n) if n == "if") {
            return Err(err_help(
                self.span(),
                "conditional expressions (`a if c else b`) are not supported",
                "use Jinja (`{% if … %}`) inside a string value",
            ));
        }
        if let Tok::Op(o) = self.tok()
            && matches!(
                *o,
                "-" | "*"
                    | "/"
                    | "%"
                    | "**"
                    | "//"
                    | "<"
                    | ">"
                    | "<="
                    | ">="
                    | "<<"
                    | ">>"
                    | "&"
                    | "|"
                    | "^"
                    | "@"
            )
        {
            return Err(err(self.span(), format!("operator `{o}` is not supported")));
        }
        if let Tok::Name(n) = self.tok()
            && matches!(n.as_str(), "in" | "is")
        {
            return Err(err(self.span(), format!("operator `{n}` is not supported")));
        }
        Ok(e)
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and_expr()?;
        while matches!(self.tok(), Tok::Name(n) if n == "or") {
            self.pos += 1;
            let right = self.and_expr()?;
            let span = left.span.start..right.span.end;
            left = Expr {
                kind: ExprKind::Or(Box::new(left), Box::new(right)),
                span,
            };
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not_expr()?;
        while matches!(self.tok(), Tok::Name(n) if n == "and") {
            self.pos += 1;
            let right = self.not_expr()?;
            let span = left.span.start..right.span.end;
            left = Expr {
                kind: ExprKind::And(Box::new(left), Box::new(right)),
                span,
            };
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        if matches!(self.tok(), Tok::Name(n) if n == "not") {
            let start = self.span().start;
            self.pos += 1;
            let inner = self.not_expr()?;
            let span = start..inner.span.end;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let eq = match self.tok() {
            Tok::Op("==") => true,
            Tok::Op("!=") => false,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        if matches!(self.tok(), Tok::Op("==" | "!=")) {
            return Err(err(self.span(), "chained comparisons are not supported"));
        }
        let span = left.span.start..right.span.end;
        Ok(Expr {
            kind: ExprKind::Eq(Box::new(left), Box::new(right), eq),
            span,
        })
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.is_op("+") {
            self.pos += 1;
            let right = self.unary()?;
            let span = left.span.start..right.span.end;
            left = Expr {
                kind: ExprKind::Add(Box::new(left), Box::new(right)),
                span,
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is_op("-") {
            let start = self.span().start;
            self.pos += 1;
            let inner = self.unary()?;
            let span = start..inner.span.end;
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(inner)),
                span,
            });
        }
        let e = self.primary()?;
        match self.tok() {
            Tok::Op("(") => Err(err_help(
                self.span(),
                "function calls are not supported",
                "only `include('file')` can be called, as a statement",
            )),
            Tok::Op(".") => {
                let span = self.span().start..self.toks[(self.pos + 1).min(self.toks.len() - 1)].span.end;
                Err(err(span, "attribute access and method calls are not supported"))
            }
            Tok::Op("[") => Err(err(self.span(), "indexing is only supported on `config_opts`")),
            _ => Ok(e),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let span = self.span();
        let tok = self.tok().clone();
        match tok {
            Tok::Str { .. } => self.strings(),
            Tok::Int(i) => {
                self.pos += 1;
                Ok(lit(Value::Int(i), span))
            }
            Tok::Float(f) => {
                self.pos += 1;
                Ok(lit(Value::Float(f), span))
            }
            Tok::Name(n) => match n.as_str() {
                "True" => {
                    self.pos += 1;
                    Ok(lit(Value::Bool(true), span))
                }
                "False" => {
                    self.pos += 1;
                    Ok(lit(Value::Bool(false), span))
                }
                "None" => {
                    self.pos += 1;
                    Ok(lit(Value::None, span))
                }
                "config_opts" => {
                    self.pos += 1;
                    let keys = self.subscripts()?;
                    if keys.is_empty() {
                        return Err(err(span, "`config_opts` can only be read as `config_opts[...]`"));
                    }
                    let end = self.prev_end();
                    Ok(Expr {
                        kind: ExprKind::Read(keys),
                        span: span.start..end,
                    })
                }
                "lambda" => Err(err(span, "`lambda` is not supported")),
                _ => Err(err_help(
                    span,
                    format!("name `{n}` is not supported"),
                    "values are literals (strings, numbers, True/False/None, lists, tuples, dicts) or `config_opts[...]`",
                )),
            },
            Tok::Op("(") => {
                self.pos += 1;
                if self.is_op(")") {
                    self.pos += 1;
                    return Ok(Expr {
                        kind: ExprKind::Tuple(Vec::new()),
                        span: span.start..self.prev_end(),
                    });
                }
                let first = self.expr()?;
                if self.is_op(")") {
                    self.pos += 1;
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.is_op(",") {
                    self.pos += 1;
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                self.close(")", "a tuple")?;
                Ok(Expr {
                    kind: ExprKind::Tuple(items),
                    span: span.start..self.prev_end(),
                })
            }
            Tok::Op("[") => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expr()?);
                    if matches!(self.tok(), Tok::Name(n) if n == "for") {
                        return Err(err(self.span(), "comprehensions are not supported"));
                    }
                    if !self.is_op(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.close("]", "a list")?;
                Ok(Expr {
                    kind: ExprKind::List(items),
                    span: span.start..self.prev_end(),
                })
            }
            Tok::Op("{") => {
                self.pos += 1;
                let mut entries = Vec::new();
                while !self.is_op("}") {
                    let k = self.expr()?;
                    if !self.is_op(":") {
                        return Err(err(
                            self.span(),
                            "sets are not supported; expected `:` of a dict entry",
                        ));
                    }
                    self.pos += 1;
                    let v = self.expr()?;
                    entries.push((k, v));
                    if matches!(self.tok(), Tok::Name(n) if n == "for") {
                        return Err(err(self.span(), "comprehensions are not supported"));
                    }
                    if !self.is_op(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.close("}", "a dict")?;
                Ok(Expr {
                    kind: ExprKind::Dict(entries),
                    span: span.start..self.prev_end(),
                })
            }
            other => Err(err(span, format!("expected a value, found {}", describe(&other)))),
        }
    }

    fn close(&mut self, op: &str, what: &str) -> Result<(), ParseError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err(
                self.span(),
                format!("expected `,` or `{op}` in {what}, found {}", describe(self.tok())),
            ))
        }
    }

    /// One or more adjacent string literals (concatenated, as Python does).
    fn strings(&mut self) -> Result<Expr, ParseError> {
        let start = self.span().start;
        let mut out = String::new();
        while let Tok::Str { value, prefix } = self.tok().clone() {
            if prefix.contains('f') {
                return Err(err_help(
                    self.span(),
                    "f-strings are not supported",
                    "use Jinja (`{{ name }}`) inside a plain string",
                ));
            }
            if prefix.contains('b') {
                return Err(err(self.span(), "bytes literals are not supported"));
            }
            out.push_str(&value);
            self.pos += 1;
        }
        Ok(lit(Value::Str(out), start..self.prev_end()))
    }
}

fn lit(v: Value, span: Range<usize>) -> Expr {
    Expr {
        kind: ExprKind::Lit(v),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse_ok(src: &str) -> Vec<Stmt> {
        let (t, e) = tokenize(src);
        assert!(e.is_empty(), "{e:?}");
        let (s, e) = parse(&t);
        assert!(e.is_empty(), "{e:?}");
        s
    }

    fn parse_errs(src: &str) -> Vec<(usize, String)> {
        let (t, _) = tokenize(src);
        parse(&t)
            .1
            .into_iter()
            .map(|e| (e.span.start, e.message))
            .collect()
    }

    #[test]
    fn assignments_and_includes() {
        let s = parse_ok(
            "config_opts['a']['b'] = {'x': [1, (2,)], 'y': None}\nconfig_opts['c'] += 'd' 'e'; include('f.tpl')\n",
        );
        assert_eq!(s.len(), 3);
        assert!(matches!(&s[0], Stmt::Assign { keys, op: AssignOp::Set, .. } if keys.len() == 2));
        assert!(
            matches!(&s[1], Stmt::Assign { op: AssignOp::Append, value: Expr { kind: ExprKind::Lit(Value::Str(v)), .. }, .. } if v == "de")
        );
        assert!(matches!(&s[2], Stmt::Include { .. }));
    }

    #[test]
    fn every_unsupported_statement_is_reported() {
        let src = "import os\nif x:\n    config_opts['a'] = 1\n    y = 2\nelif y:\n  pass\nelse:\n  z = 1\nconfig_opts.update({})\nfoo(1)\nconfig_opts['b'] = os.path\nconfig_opts['c'] = 1 * 2\n";
        let e = parse_errs(src);
        let msgs: Vec<&str> = e.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "`import` statements are not supported",
                "`if` statements are not supported",
                "`config_opts.update` is not supported",
                "function call `foo()` is not supported",
                "name `os` is not supported",
                "operator `*` is not supported",
            ]
        );
        assert_eq!(e[2].0, src.find(".update").expect("at"));
    }
}
