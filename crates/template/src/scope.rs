//! Go's parse-time check that every variable is declared before use.
//!
//! Go's parser rejects `{{ $label.foo }}` when no `$label` is in scope (`template: NAME:1:
//! undefined variable "$label"`), so `promtool check rules` refuses such a rule file. The
//! engine only notices at run time; this pass applies Go's scoping first: `$` is always
//! defined, `{{$x := …}}` declares until the end of the enclosing control structure (or of
//! the template), variables declared in an `if`/`with`/`range` pipeline are visible in its
//! body and `else` branch, and every `{{define}}` body starts afresh.

use gotmpl::parse::{Expr, ListNode, Node, PipeNode, Pos};

/// Checks `list` (a template body) for variables used or assigned before they are declared.
///
/// # Errors
/// Go's message, `template: NAME:LINE: undefined variable "$x"`.
pub fn check_variables(list: &ListNode, src: &str, parse_name: &str) -> Result<(), String> {
    let mut scope = vec!["$".to_owned()];
    Checker { src, parse_name }.list(list, &mut scope)
}

struct Checker<'a> {
    src: &'a str,
    parse_name: &'a str,
}

impl Checker<'_> {
    fn undefined(&self, pos: Pos, name: &str) -> String {
        let before = self.src.get(..pos.offset).unwrap_or(self.src);
        let line = 1 + before.matches('\n').count();
        format!(
            "template: {}:{line}: undefined variable {}",
            self.parse_name,
            crate::gofmt::quote(name, false)
        )
    }

    fn list(&self, list: &ListNode, scope: &mut Vec<String>) -> Result<(), String> {
        for node in &list.nodes {
            self.node(node, scope)?;
        }
        Ok(())
    }

    fn node(&self, node: &Node, scope: &mut Vec<String>) -> Result<(), String> {
        match node {
            Node::Action(a) => self.declaring_pipe(&a.pipe, scope),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                let outer = scope.len();
                self.declaring_pipe(&b.pipe, scope)?;
                self.list(&b.body, scope)?;
                if let Some(e) = &b.else_body {
                    self.list(e, scope)?;
                }
                scope.truncate(outer);
                Ok(())
            }
            Node::Template(t) => match &t.pipe {
                Some(p) => self.pipe(p, scope),
                None => Ok(()),
            },
            Node::Define(d) => {
                let mut fresh = vec!["$".to_owned()];
                self.list(&d.body, &mut fresh)
            }
            Node::List(l) => self.list(l, scope),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => Ok(()),
        }
    }

    /// A pipeline that may declare (`:=`) or assign (`=`) variables.
    fn declaring_pipe(&self, pipe: &PipeNode, scope: &mut Vec<String>) -> Result<(), String> {
        self.pipe(pipe, scope)?;
        for name in &pipe.decl {
            if pipe.is_assign {
                if !scope.iter().any(|v| v == name.as_str()) {
                    return Err(self.undefined(pipe.pos, name));
                }
            } else {
                scope.push(name.to_string());
            }
        }
        Ok(())
    }

    fn pipe(&self, pipe: &PipeNode, scope: &[String]) -> Result<(), String> {
        for cmd in &pipe.commands {
            for arg in &cmd.args {
                self.expr(arg, scope)?;
            }
        }
        Ok(())
    }

    fn expr(&self, e: &Expr, scope: &[String]) -> Result<(), String> {
        match e {
            Expr::Variable(pos, name, _) => {
                // `$x.field` is stored with the bare name; `$` alone is always defined.
                if scope.iter().any(|v| v == name.as_str()) {
                    Ok(())
                } else {
                    Err(self.undefined(*pos, name))
                }
            }
            Expr::Pipe(_, p) => {
                // A parenthesised pipeline cannot declare into the enclosing scope.
                let mut inner = scope.to_vec();
                self.declaring_pipe(p, &mut inner)
            }
            Expr::Chain(_, inner, _) => self.expr(inner, scope),
            Expr::Dot(_)
            | Expr::Field(..)
            | Expr::Identifier(..)
            | Expr::String(..)
            | Expr::Number(..)
            | Expr::Bool(..)
            | Expr::Nil(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotmpl::parse::Parser;

    fn check(src: &str) -> Result<(), String> {
        let (top, defines) = Parser::with_name(Some("t"), src, "{{", "}}")
            .and_then(Parser::parse)
            .map_err(|e| e.to_string())?;
        check_variables(&top, src, "t")?;
        for d in &defines {
            check_variables(&d.body, src, "t")?;
        }
        Ok(())
    }

    #[test]
    fn scopes_follow_go() {
        assert!(check("{{$x := 1}}{{$x}}").is_ok());
        assert!(check("{{$}}{{$.a}}").is_ok());
        assert_eq!(
            check("{{$label.foo}}"),
            Err("template: t:1: undefined variable \"$label\"".to_owned())
        );
        assert!(check("{{if true}}{{$x := 1}}{{end}}{{$x}}").is_err());
        assert!(check("{{with $x := 1}}{{$x}}{{else}}{{$x}}{{end}}").is_ok());
        assert!(check("{{range $i, $e := .}}{{$i}}{{$e}}{{end}}").is_ok());
        assert!(check("{{$y = 2}}").is_err());
        assert!(check("{{$x := 1}}{{$x = 2}}").is_ok());
        assert!(check("{{$x := 1}}{{define \"d\"}}{{$x}}{{end}}").is_err());
        assert!(check("{{printf \"%v\" ($z)}}").is_err());
    }
}
