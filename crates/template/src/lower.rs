//! The lowering pass: rewrites a parsed template so that the engine evaluates Go's semantics
//! through our hidden functions (see `access.rs`):
//!
//! - every call of a Prometheus/Alertmanager function `f args…` becomes
//!   `__call HEAD CTX "f" args…`, where HEAD/CTX carry the call site as Go prints it
//!   (`template: NAME:LINE:COL: executing "NAME" at <`, and the command's text);
//! - every field chain (`.A.B`, `$x.A`, `(pipe).A`) becomes `__field HEAD CTX N recv "A" "B"
//!   args…`, so that methods, `missingkey=zero` and Go's errors apply;
//! - every printing action gets a final `| __print` stage, so values print as Go prints them.
//!
//! It also reports an unknown function as Go's parser does (`function "x" not defined`), which
//! the engine would only notice at run time. Context strings are built from the tree before it
//! is rewritten, with literals taken verbatim from the source, as Go's `Node.String` does.

use std::sync::Arc;

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, Number, PipeNode, Pos, SmolStr};

use crate::access::{CALL, FIELD, PRINT, RANGE};
use crate::funcs::{FuncTable, ENGINE_BUILTINS};

/// Where a tree came from, for Go's error locations.
pub struct Site<'a> {
    /// The text the tree was parsed from (positions are byte offsets into it).
    pub src: &'a str,
    /// The name the text was parsed under (Go's `ParseName`).
    pub parse_name: &'a str,
    /// The template the tree defines (Go's `executing "…"`).
    pub exec_name: &'a str,
}

pub struct Lowerer<'a> {
    site: Site<'a>,
    table: &'a FuncTable,
    /// Whether the tree calls `query` (which needs a query service while it runs).
    pub uses_query: bool,
    /// Every `{{template "name"}}` call, for Go's message when the name is not defined.
    pub template_refs: Vec<TemplateRef>,
}

/// A `{{template}}` call site.
#[derive(Clone, Debug)]
pub struct TemplateRef {
    pub name: String,
    /// `template: P:L:C: executing "E" at <{{template "name" .}}>: `
    pub exec_prefix: String,
    /// `P:L:C`, for html/template's escaping errors.
    pub location: String,
}

impl<'a> Lowerer<'a> {
    pub fn new(site: Site<'a>, table: &'a FuncTable) -> Self {
        Lowerer {
            site,
            table,
            uses_query: false,
            template_refs: Vec::new(),
        }
    }

    /// Line (1-based) and Go's byte column of `offset`.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.site.src.get(..offset).unwrap_or(self.site.src);
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => offset - (nl + 1),
            None => offset,
        };
        (line, col)
    }

    fn head(&self, pos: Pos) -> String {
        self.head_at(pos.offset)
    }

    fn head_at(&self, offset: usize) -> String {
        let (line, col) = self.line_col(offset);
        format!(
            "template: {}:{line}:{col}: executing {} at <",
            self.site.parse_name,
            crate::gofmt::quote(self.site.exec_name, false)
        )
    }

    fn undefined(&self, pos: Pos, name: &str) -> String {
        let (line, _) = self.line_col(pos.offset);
        format!(
            "template: {}:{line}: function {} not defined",
            self.site.parse_name,
            crate::gofmt::quote(name, false)
        )
    }

    /// Lowers a whole tree in place.
    ///
    /// # Errors
    /// Go's parse error for a call of an unknown function.
    pub fn list(&mut self, list: &mut ListNode) -> Result<(), String> {
        for node in &mut list.nodes {
            self.node(node)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &mut Node) -> Result<(), String> {
        match node {
            Node::Action(action) => {
                // html/template allows its predefined escapers only as a pipeline's last
                // command, and they already return strings.
                let ends_in_escaper = action.pipe.commands.last().is_some_and(|c| {
                    matches!(c.args.first(), Some(Expr::Identifier(_, n))
                        if matches!(n.as_str(), "html" | "urlquery" | "js"))
                });
                self.pipe(&mut action.pipe)?;
                if action.pipe.decl.is_empty() && !ends_in_escaper {
                    let pos = action.pipe.pos;
                    action.pipe.commands.push(CommandNode {
                        pos,
                        args: vec![Expr::Identifier(pos, SmolStr::new(PRINT))],
                    });
                }
                Ok(())
            }
            Node::Range(b) => {
                let (offset, ctx) = self.last_node(&b.pipe);
                self.pipe(&mut b.pipe)?;
                let pos = b.pipe.pos;
                b.pipe.commands.push(CommandNode {
                    pos,
                    args: vec![
                        Expr::Identifier(pos, SmolStr::new(RANGE)),
                        string(pos, &self.head_at(offset)),
                        string(pos, &ctx),
                    ],
                });
                self.list(&mut b.body)?;
                if let Some(e) = &mut b.else_body {
                    self.list(e)?;
                }
                Ok(())
            }
            Node::If(b) | Node::With(b) => {
                self.pipe(&mut b.pipe)?;
                self.list(&mut b.body)?;
                if let Some(e) = &mut b.else_body {
                    self.list(e)?;
                }
                Ok(())
            }
            Node::Template(t) => {
                let mut ctx = format!("{{{{template {}", crate::gofmt::quote(&t.name, false));
                if let Some(p) = &t.pipe {
                    ctx.push(' ');
                    ctx.push_str(&pipe_string(p, self.site.src));
                }
                ctx.push_str("}}");
                // Go positions the node at the name's token.
                let offset = self
                    .site
                    .src
                    .get(t.pos.offset..)
                    .and_then(|r| r.find(['"', '`']))
                    .map_or(t.pos.offset, |i| t.pos.offset + i);
                let (line, col) = self.line_col(offset);
                self.template_refs.push(TemplateRef {
                    name: t.name.to_string(),
                    exec_prefix: format!("{}{ctx}>: ", self.head_at(offset)),
                    location: format!("{}:{line}:{col}", self.site.parse_name),
                });
                match &mut t.pipe {
                    Some(p) => self.pipe(p),
                    None => Ok(()),
                }
            }
            Node::Define(d) => self.list(&mut d.body),
            Node::List(l) => self.list(l),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => Ok(()),
        }
    }

    fn pipe(&mut self, pipe: &mut PipeNode) -> Result<(), String> {
        for cmd in &mut pipe.commands {
            self.command(cmd)?;
        }
        Ok(())
    }

    fn command(&mut self, cmd: &mut CommandNode) -> Result<(), String> {
        let ctx = command_string(cmd, self.site.src);
        let mut args = std::mem::take(&mut cmd.args).into_iter();
        let Some(head) = args.next() else {
            return Ok(());
        };
        let rest = args.map(|a| self.value(a)).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(rest.len() + 5);
        match head {
            Expr::Identifier(pos, name) => {
                if ENGINE_BUILTINS.contains(&name.as_str()) {
                    out.push(Expr::Identifier(pos, name));
                } else if self.table.get(&name).is_some() {
                    self.uses_query |= name == "query";
                    out.push(Expr::Identifier(pos, SmolStr::new(CALL)));
                    out.push(string(pos, &self.head(cmd.pos)));
                    out.push(string(pos, &ctx));
                    out.push(string(pos, &name));
                } else {
                    return Err(self.undefined(pos, &name));
                }
            }
            Expr::Field(..) | Expr::Chain(..) => {
                out.extend(self.field_call(head)?);
            }
            Expr::Variable(_, _, ref fields) if !fields.is_empty() => {
                out.extend(self.field_call(head)?);
            }
            other => out.push(self.value(other)?),
        }
        out.extend(rest);
        cmd.args = out;
        Ok(())
    }

    /// `__field HEAD CTX N recv names…` for a field chain (arguments are appended by the caller).
    fn field_call(&mut self, e: Expr) -> Result<Vec<Expr>, String> {
        let (offset, ctx) = self.node_site(&e);
        let (pos, recv, fields) = match e {
            Expr::Field(pos, fields) => (pos, Expr::Dot(pos), fields),
            Expr::Variable(pos, name, fields) => {
                (pos, Expr::Variable(pos, name, Vec::new()), fields)
            }
            Expr::Chain(pos, inner, fields) => (pos, self.value(*inner)?, fields),
            other => return Ok(vec![self.value(other)?]),
        };
        let n = i64::try_from(fields.len()).unwrap_or(0);
        let mut out = vec![
            Expr::Identifier(pos, SmolStr::new(FIELD)),
            string(pos, &self.head_at(offset)),
            string(pos, &ctx),
            Expr::Number(pos, Number::Int(n)),
            recv,
        ];
        out.extend(fields.iter().map(|f| string(pos, f)));
        Ok(out)
    }

    /// Where Go reports an error about `e`, and its text: a field chain sits at its second
    /// field (Go's chain position), and a chain on a parenthesized pipeline is reported at
    /// the last node Go evaluated in it.
    fn node_site(&self, e: &Expr) -> (usize, String) {
        let src = self.site.src;
        match e {
            Expr::Field(pos, fields) if fields.len() >= 2 => {
                let second = src
                    .get(pos.offset + 1..)
                    .and_then(|r| r.find('.'))
                    .map_or(pos.offset, |i| pos.offset + 1 + i);
                (second, expr_string(e, src))
            }
            Expr::Variable(pos, name, fields) if !fields.is_empty() => {
                (pos.offset + name.len(), expr_string(e, src))
            }
            Expr::Chain(_, inner, _) => match inner.as_ref() {
                Expr::Pipe(_, p) => self.last_node(p),
                other => self.node_site(other),
            },
            other => (other.pos().offset, expr_string(other, src)),
        }
    }

    /// The last node Go evaluates in `p` (its last command's last argument).
    fn last_node(&self, p: &PipeNode) -> (usize, String) {
        match p.commands.last().and_then(|c| c.args.last()) {
            Some(Expr::Pipe(_, inner)) => self.last_node(inner),
            Some(e) => self.node_site(e),
            None => (p.pos.offset, pipe_string(p, self.site.src)),
        }
    }

    /// Lowers an expression in argument position.
    fn value(&mut self, e: Expr) -> Result<Expr, String> {
        match e {
            Expr::Field(pos, _) | Expr::Chain(pos, _, _) => {
                let args = self.field_call(e)?;
                Ok(pipe_of(pos, args))
            }
            Expr::Variable(pos, _, ref fields) if !fields.is_empty() => {
                let args = self.field_call(e)?;
                Ok(pipe_of(pos, args))
            }
            Expr::Identifier(pos, name) => {
                if ENGINE_BUILTINS.contains(&name.as_str()) {
                    Ok(Expr::Identifier(pos, name))
                } else if self.table.get(&name).is_some() {
                    self.uses_query |= name == "query";
                    Ok(pipe_of(
                        pos,
                        vec![
                            Expr::Identifier(pos, SmolStr::new(CALL)),
                            string(pos, &self.head(pos)),
                            string(pos, &name),
                            string(pos, &name),
                        ],
                    ))
                } else {
                    Err(self.undefined(pos, &name))
                }
            }
            Expr::Pipe(pos, mut p) => {
                self.pipe(&mut p)?;
                Ok(Expr::Pipe(pos, p))
            }
            other => Ok(other),
        }
    }
}

fn string(pos: Pos, s: &str) -> Expr {
    Expr::String(pos, Arc::from(s))
}

fn pipe_of(pos: Pos, args: Vec<Expr>) -> Expr {
    Expr::Pipe(
        pos,
        PipeNode {
            pos,
            decl: Vec::new(),
            commands: vec![CommandNode { pos, args }],
            is_assign: false,
        },
    )
}

/// Go's `CommandNode.String()`.
pub fn command_string(cmd: &CommandNode, src: &str) -> String {
    let parts: Vec<String> = cmd
        .args
        .iter()
        .map(|a| match a {
            Expr::Pipe(_, p) => format!("({})", pipe_string(p, src)),
            other => expr_string(other, src),
        })
        .collect();
    parts.join(" ")
}

/// Go's `PipeNode.String()`.
pub fn pipe_string(p: &PipeNode, src: &str) -> String {
    let mut s = String::new();
    if !p.decl.is_empty() {
        let decl: Vec<&str> = p.decl.iter().map(SmolStr::as_str).collect();
        s.push_str(&decl.join(", "));
        s.push_str(" := ");
    }
    let cmds: Vec<String> = p.commands.iter().map(|c| command_string(c, src)).collect();
    s.push_str(&cmds.join(" | "));
    s
}

/// Go's `Node.String()` for an expression.
pub fn expr_string(e: &Expr, src: &str) -> String {
    match e {
        Expr::Dot(_) => ".".to_owned(),
        Expr::Field(_, fields) => fields.iter().map(|f| format!(".{f}")).collect(),
        Expr::Variable(_, name, fields) => {
            let mut s = name.to_string();
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
        Expr::Identifier(_, name) => name.to_string(),
        Expr::String(pos, v) => {
            literal_text(src, pos.offset).unwrap_or_else(|| crate::gofmt::quote(v, false))
        }
        Expr::Number(pos, n) => literal_text(src, pos.offset).unwrap_or_else(|| match n {
            Number::Int(i) => i.to_string(),
            Number::Uint(u) => u.to_string(),
            Number::Float(f) => vigil_model::go_format_g(*f),
        }),
        Expr::Bool(_, b) => b.to_string(),
        Expr::Nil(_) => "nil".to_owned(),
        Expr::Pipe(_, p) => pipe_string(p, src),
        Expr::Chain(_, inner, fields) => {
            let mut s = match inner.as_ref() {
                Expr::Pipe(_, p) => format!("({})", pipe_string(p, src)),
                other => expr_string(other, src),
            };
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
    }
}

/// The source text of the string, character or number literal starting at `offset`.
fn literal_text(src: &str, offset: usize) -> Option<String> {
    let rest = src.get(offset..)?;
    let first = rest.chars().next()?;
    let end = match first {
        '"' | '\'' => {
            let mut escaped = false;
            let mut end = None;
            for (i, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == first {
                    end = Some(i + 1);
                    break;
                } else if c == '\n' {
                    break;
                }
            }
            end?
        }
        '`' => rest.get(1..)?.find('`')? + 2,
        c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
            let mut prev = ' ';
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                let ok = c.is_ascii_alphanumeric()
                    || c == '.'
                    || c == '_'
                    || ((c == '+' || c == '-')
                        && (i == 0 || matches!(prev, 'e' | 'E' | 'p' | 'P')));
                if !ok {
                    end = i;
                    break;
                }
                prev = c;
            }
            end
        }
        _ => return None,
    };
    rest.get(..end).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_taken_verbatim() {
        assert_eq!(literal_text(r#""a\"b" x"#, 0).as_deref(), Some(r#""a\"b""#));
        assert_eq!(literal_text("1.50}}", 0).as_deref(), Some("1.50"));
        assert_eq!(literal_text("-1e+5 ", 0).as_deref(), Some("-1e+5"));
        assert_eq!(literal_text("`raw` ", 0).as_deref(), Some("`raw`"));
        assert_eq!(literal_text("'a' ", 0).as_deref(), Some("'a'"));
    }

    #[test]
    fn context_strings_match_go() {
        let src = r#"{{ humanize (index .A 1.0) | printf "%s" }}{{ (.X).Y }}{{ $a.b }}"#;
        let parser = gotmpl::parse::Parser::new(src, "{{", "}}");
        let (tree, _) = match parser.and_then(gotmpl::parse::Parser::parse) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let strings: Vec<String> = tree
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Action(a) => Some(pipe_string(&a.pipe, src)),
                _ => None,
            })
            .collect();
        assert_eq!(
            strings,
            vec![
                r#"humanize (index .A 1.0) | printf "%s""#.to_owned(),
                "(.X).Y".to_owned(),
                "$a.b".to_owned()
            ]
        );
    }
}
