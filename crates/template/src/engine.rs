//! A set of named, lowered template trees with Go's definition rules, and their execution on
//! the `gotmpl` engine with our hidden functions installed.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::parse::{ListNode, Parser};
use gotmpl::{FuncMap, Value};

use crate::access::{self, Flavor, CALL, FIELD, PRINT, RANGE};
use crate::error::TemplateError;
use crate::funcs::FuncTable;
use crate::gofmt::quote;
use crate::lower::{Lowerer, Site, TemplateRef};

/// The name under which the text being executed is stored (Go's is `""` for Alertmanager,
/// which we keep for messages; this key only has to differ from user template names).
pub const ENTRY: &str = "\u{0}entry";

/// Guard against `{{range}}` bombs; Go has no such cap, but a notification template has no
/// business looping ten million times.
const MAX_RANGE_ITERS: u64 = 1_000_000;

#[derive(Clone, Default)]
pub struct Library {
    trees: BTreeMap<String, ListNode>,
    /// Whether any tree calls `query`.
    pub uses_query: bool,
    template_refs: Vec<TemplateRef>,
}

fn parse_error(parse_name: &str, e: &gotmpl::TemplateError) -> String {
    match e {
        gotmpl::TemplateError::Parse { line, message, .. }
        | gotmpl::TemplateError::Lex { line, message, .. } => {
            format!("template: {parse_name}:{line}: {message}")
        }
        other => format!("template: {parse_name}: {other}"),
    }
}

impl Library {
    /// Go's `Template.Parse` of `src` on a template called `top_name`: the top-level text
    /// becomes `top_name`, each `{{define}}`/`{{block}}` its own template; a definition with an
    /// empty body does not replace an existing one. `top_display` is the top-level template's
    /// name in messages (Go's), `top_name` the key it is stored under.
    ///
    /// # Errors
    /// Go's parse errors, an unknown function, or two non-empty definitions of one name.
    pub fn parse(
        &mut self,
        src: &str,
        parse_name: &str,
        top_name: &str,
        top_display: &str,
        table: &FuncTable,
    ) -> Result<(), TemplateError> {
        let err = |message: String| TemplateError::Parse {
            template: parse_name.to_owned(),
            message,
        };
        let name_opt = (!parse_name.is_empty()).then_some(parse_name);
        let (mut top, defines) = Parser::with_name(name_opt, src, "{{", "}}")
            .and_then(Parser::parse)
            .map_err(|e| err(parse_error(parse_name, &e)))?;
        let mut seen: BTreeMap<String, bool> = BTreeMap::new();
        let mut new_trees: Vec<(String, ListNode)> = Vec::new();
        let mut entries: Vec<(String, ListNode, usize)> = defines
            .into_iter()
            .map(|d| (d.name.to_string(), d.body, d.pos.line))
            .collect();
        crate::scope::check_variables(&top, src, parse_name).map_err(&err)?;
        for (_, body, _) in &entries {
            crate::scope::check_variables(body, src, parse_name).map_err(&err)?;
        }
        let top_empty = top.is_empty_tree();
        let mut lowerer = Lowerer::new(
            Site {
                src,
                parse_name,
                exec_name: top_display,
            },
            table,
        );
        lowerer.list(&mut top).map_err(&err)?;
        self.uses_query |= lowerer.uses_query;
        self.template_refs.append(&mut lowerer.template_refs);
        if !top_empty {
            seen.insert(top_name.to_owned(), true);
        }
        new_trees.push((top_name.to_owned(), top));
        for (name, mut body, line) in entries.drain(..) {
            let empty = body.is_empty_tree();
            if seen.get(&name) == Some(&true) && !empty {
                return Err(err(format!(
                    "template: {parse_name}:{line}: template: multiple definition of template {}",
                    quote(&name, false)
                )));
            }
            seen.insert(name.clone(), seen.get(&name) == Some(&true) || !empty);
            let mut lowerer = Lowerer::new(
                Site {
                    src,
                    parse_name,
                    exec_name: &name,
                },
                table,
            );
            lowerer.list(&mut body).map_err(&err)?;
            self.uses_query |= lowerer.uses_query;
            self.template_refs.append(&mut lowerer.template_refs);
            new_trees.push((name, body));
        }
        for (name, tree) in new_trees {
            let keep_old = tree.is_empty_tree() && self.trees.contains_key(&name);
            if !keep_old {
                self.trees.insert(name, tree);
            }
        }
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Names of the defined templates (without the internal entry).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.trees
            .keys()
            .map(String::as_str)
            .filter(|n| *n != ENTRY)
    }

    fn func_map(table: &Arc<FuncTable>, flavor: Flavor) -> FuncMap {
        let mut fm = FuncMap::new();
        let t = Arc::clone(table);
        fm.insert(
            CALL.to_owned(),
            Arc::new(move |a: &[Value]| access::call(&t, a)),
        );
        fm.insert(
            FIELD.to_owned(),
            Arc::new(move |a: &[Value]| access::field(flavor, a)),
        );
        fm.insert(
            PRINT.to_owned(),
            Arc::new(|a: &[Value]| Ok(access::print(a))),
        );
        fm.insert(RANGE.to_owned(), Arc::new(access::range));
        fm
    }

    /// Executes template `name` with `data` as dot. `exec_name` is the name Go would report
    /// for errors the engine raises without a position.
    ///
    /// # Errors
    /// Go's execution errors.
    pub fn execute(
        &self,
        name: &str,
        exec_name: &str,
        data: &Value,
        table: &Arc<FuncTable>,
        flavor: Flavor,
        html: bool,
    ) -> Result<String, TemplateError> {
        let fm = Self::func_map(table, flavor);
        let result = if html {
            let mut t = gotmpl::html::Template::new(name)
                .max_range_iters(MAX_RANGE_ITERS)
                .funcs(fm)
                .parse("")
                .map_err(|e| self.exec_error(exec_name, &e))?;
            for (n, tree) in &self.trees {
                t = t
                    .add_parse_tree(n, tree.clone())
                    .map_err(|e| self.exec_error(exec_name, &e))?;
            }
            t.execute_template_to_string(name, data)
        } else {
            let mut t = gotmpl::Template::new(name)
                .max_range_iters(MAX_RANGE_ITERS)
                .funcs(fm);
            for (n, tree) in &self.trees {
                t = t.add_parse_tree(n, tree.clone());
            }
            t.execute_template_to_string(name, data)
        };
        result.map_err(|e| self.exec_error(exec_name, &e))
    }

    fn exec_error(&self, exec_name: &str, e: &gotmpl::TemplateError) -> TemplateError {
        let message = match e {
            // Already in Go's shape, built by our hidden functions.
            gotmpl::TemplateError::Exec(m) if m.starts_with("template: ") => m.clone(),
            gotmpl::TemplateError::Exec(m) => format!("template: {exec_name}: {m}"),
            gotmpl::TemplateError::UndefinedTemplate(n) => {
                let missing = format!("template {} not defined", quote(n, false));
                match self.template_refs.iter().find(|r| &r.name == n) {
                    Some(r) => format!("{}{missing}", r.exec_prefix),
                    None => format!("template: {exec_name}: {missing}"),
                }
            }
            gotmpl::TemplateError::Escape {
                code,
                name,
                line,
                description,
            } => {
                let name = name
                    .as_deref()
                    .map_or("", |n| if n == ENTRY { "" } else { n });
                let reference = description.strip_prefix("no such template ").and_then(|q| {
                    self.template_refs
                        .iter()
                        .find(|r| quote(&r.name, false) == q)
                });
                match (code, reference) {
                    (gotmpl::EscapeErrorCode::NoSuchTemplate, Some(r)) => {
                        format!("html/template:{}: {description}", r.location)
                    }
                    _ if *line > 0 => format!("html/template:{name}:{line}: {description}"),
                    _ => format!("html/template:{name}: {description}"),
                }
            }
            other => format!("template: {exec_name}: {other}"),
        };
        TemplateError::Execute {
            template: exec_name.to_owned(),
            message,
        }
    }
}
