//! Jinja templating of option values, the way mock does it: a string value is
//! rendered with every (unrendered) option as the context, again and again
//! until it no longer changes (at most `jinja_max_recursion` renders, 5 by
//! default), trailing newline kept. Non-string values print as Python prints
//! them (`True`, `None`, `['a']`), since that is what Jinja2 under mock writes.

use std::collections::BTreeMap;

use minijinja::value::ValueKind;
use minijinja::{Environment, UndefinedBehavior};

use super::value::{Value, str_repr};

pub(crate) struct Renderer {
    env: Environment<'static>,
    ctx: minijinja::Value,
    max_renders: usize,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("max_renders", &self.max_renders)
            .finish()
    }
}

impl Renderer {
    /// `opts`: the options as assigned; `vars`: extra variables (options win).
    pub(crate) fn new(opts: &BTreeMap<String, Value>, vars: &BTreeMap<String, serde_json::Value>) -> Self {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_formatter(|out, _state, value| {
            if value.is_undefined() {
                return Ok(());
            }
            if let Some(s) = value.as_str() {
                out.write_str(s).map_err(minijinja::Error::from)?;
                return Ok(());
            }
            out.write_str(&python_str(value)).map_err(minijinja::Error::from)
        });
        let mut map: BTreeMap<String, minijinja::Value> = vars
            .iter()
            .map(|(k, v)| (k.clone(), minijinja::Value::from_serialize(v)))
            .collect();
        for (k, v) in opts {
            map.insert(k.clone(), to_jinja(v));
        }
        let max_renders = match opts.get("jinja_max_recursion") {
            Some(Value::Int(n)) if *n > 0 => usize::try_from(*n).unwrap_or(5),
            _ => 5,
        };
        Renderer {
            env,
            ctx: minijinja::Value::from(map),
            max_renders,
        }
    }

    /// Render every string inside `v`.
    pub(crate) fn render(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::Str(s) => Value::Str(self.render_str(s)?),
            Value::List(items) => {
                Value::List(items.iter().map(|x| self.render(x)).collect::<Result<_, _>>()?)
            }
            Value::Tuple(items) => {
                Value::Tuple(items.iter().map(|x| self.render(x)).collect::<Result<_, _>>()?)
            }
            Value::Dict(entries) => Value::Dict(
                entries
                    .iter()
                    .map(|(k, x)| Ok((k.clone(), self.render(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    pub(crate) fn render_str(&self, s: &str) -> Result<String, String> {
        let mut last = s.to_owned();
        for _ in 0..self.max_renders {
            if !(last.contains("{{") || last.contains("{%") || last.contains("{#")) {
                return Ok(last);
            }
            let next = self
                .env
                .render_str(&last, &self.ctx)
                .map_err(|e| describe_error(&e))?;
            if next == last {
                return Ok(next);
            }
            last = next;
        }
        Err(format!(
            "the template does not settle after {} renders (templates referring to each other?): `{}`",
            self.max_renders,
            shorten(s)
        ))
    }
}

fn shorten(s: &str) -> String {
    let first = s.trim().lines().next().unwrap_or("");
    if first.chars().count() > 80 || s.trim().lines().nth(1).is_some() {
        format!("{}…", first.chars().take(80).collect::<String>())
    } else {
        first.to_owned()
    }
}

fn describe_error(e: &minijinja::Error) -> String {
    let mut msg = format!("template error: {}", e.kind());
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (line {line} of the value)"));
    }
    msg
}

fn to_jinja(v: &Value) -> minijinja::Value {
    match v {
        Value::None => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Int(i) => minijinja::Value::from(*i),
        Value::Float(f) => minijinja::Value::from(*f),
        Value::Str(s) => minijinja::Value::from(s.as_str()),
        Value::List(items) | Value::Tuple(items) => {
            minijinja::Value::from(items.iter().map(to_jinja).collect::<Vec<_>>())
        }
        Value::Dict(entries) => {
            let map: BTreeMap<String, minijinja::Value> =
                entries.iter().map(|(k, x)| (k.py_str(), to_jinja(x))).collect();
            minijinja::Value::from(map)
        }
    }
}

/// How Python's `str()` prints a value that reached the template.
fn python_str(v: &minijinja::Value) -> String {
    match v.kind() {
        ValueKind::None => "None".to_owned(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.to_owned(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|x| python_repr(&x)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let val = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&val))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => v.to_string(),
    }
}

fn python_repr(v: &minijinja::Value) -> String {
    match v.kind() {
        ValueKind::String => str_repr(v.as_str().unwrap_or_default()),
        _ => python_str(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn renders_until_stable_like_mock() {
        let o = opts(&[
            ("root", Value::Str("r-{{ target_arch }}".into())),
            ("target_arch", Value::Str("x86_64".into())),
            (
                "user_agent",
                Value::Str("Mock ({{ root }}; {{ target_arch }})".into()),
            ),
        ]);
        let r = Renderer::new(&o, &BTreeMap::new());
        assert_eq!(
            r.render_str("ua={{ user_agent }}\n").expect("ok"),
            "ua=Mock (r-x86_64; x86_64)\n"
        );
    }

    #[test]
    fn python_spellings_and_undefined() {
        let o = opts(&[
            ("flag", Value::Bool(false)),
            ("dirs", Value::List(vec![Value::Str("/run/lock".into())])),
            ("nothing", Value::None),
        ]);
        let r = Renderer::new(&o, &BTreeMap::new());
        assert_eq!(
            r.render_str("{{ not flag }} {{ not mirrored }} {{ dirs }} {{ nothing }} [{{ mirrored }}]")
                .expect("ok"),
            "True True ['/run/lock'] None []"
        );
        assert_eq!(r.render_str("{% if mirrored %}a{% endif %}b").expect("ok"), "b");
    }

    #[test]
    fn vars_are_visible_and_options_win() {
        let o = opts(&[("x", Value::Str("from-config".into()))]);
        let vars: BTreeMap<String, serde_json::Value> = [
            ("project_dir".to_owned(), serde_json::json!("/p")),
            ("x".to_owned(), serde_json::json!("from-azldev")),
        ]
        .into();
        let r = Renderer::new(&o, &vars);
        assert_eq!(
            r.render_str("{{ project_dir }} {{ x }}").expect("ok"),
            "/p from-config"
        );
    }

    #[test]
    fn self_reference_is_an_error_not_a_hang() {
        let o = opts(&[("a", Value::Str("x{{ a }}".into()))]);
        let r = Renderer::new(&o, &BTreeMap::new());
        let e = r.render_str("{{ a }}").expect_err("loops");
        assert!(e.contains("does not settle after 5 renders"), "{e}");
        assert!(
            r.render_str("{% if %}")
                .expect_err("syntax")
                .contains("template error")
        );
    }
}
