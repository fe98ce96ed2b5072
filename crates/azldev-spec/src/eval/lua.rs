//! `%{lua:…}` in a real Lua 5.4 with the part of rpm's Lua API a spec's
//! macros use: `rpm.expand`, `rpm.define`, `rpm.undefine`,
//! `rpm.isdefined`, `rpm.vercmp`, the `macros` table, `print` (captured as
//! the expansion), and `arg`/`opt` inside a parametric macro. The state
//! lives for one evaluation, as rpm's does for one spec. No file system,
//! environment or process access: `io`, `os` and `posix` are absent, so a
//! chunk using them fails and is reported unresolved.

use std::cell::RefCell;

use mlua::{Lua, LuaOptions, StdLib, Value, Variadic};

use super::expand::Expander;
use super::macros::MacroDef;
use super::vercmp::rpmvercmp;

fn new_state() -> mlua::Result<Lua> {
    Lua::new_with(
        StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8,
        LuaOptions::default(),
    )
}

fn busy() -> mlua::Error {
    mlua::Error::runtime("rpm API called re-entrantly")
}

/// Run `code`, appending what it prints to `out`.
pub(crate) fn run(exp: &mut Expander<'_>, code: &str, out: &mut String) {
    if exp.lua_busy {
        exp.unresolved("nested %{lua:}");
        return;
    }
    let lua = match exp.lua.take() {
        Some(l) => l,
        None => match new_state() {
            Ok(l) => l,
            Err(e) => {
                exp.unresolved(format!("%{{lua:}} unavailable: {e}"));
                return;
            }
        },
    };
    let call = exp.call_args();
    let sources = exp.sources.clone();
    let patches = exp.patches.clone();
    exp.lua_busy = true;
    let printed = RefCell::new(String::new());
    let res = {
        let me = RefCell::new(&mut *exp);
        lua.scope(|scope| {
            let g = lua.globals();
            let rpm = lua.create_table()?;
            rpm.set(
                "expand",
                scope.create_function(|_, s: String| {
                    let mut e = me.try_borrow_mut().map_err(|_| busy())?;
                    Ok(e.expand_text(&s))
                })?,
            )?;
            rpm.set(
                "define",
                scope.create_function(|_, s: String| {
                    let mut e = me.try_borrow_mut().map_err(|_| busy())?;
                    match super::macros::parse_definition(&s) {
                        Ok((name, def)) => {
                            e.push_def(&name, def, true);
                            Ok(())
                        }
                        Err(err) => Err(mlua::Error::runtime(err)),
                    }
                })?,
            )?;
            rpm.set(
                "undefine",
                scope.create_function(|_, s: String| {
                    let mut e = me.try_borrow_mut().map_err(|_| busy())?;
                    e.undefine(s.trim());
                    Ok(())
                })?,
            )?;
            rpm.set(
                "isdefined",
                scope.create_function(|_, s: String| {
                    let e = me.try_borrow().map_err(|_| busy())?;
                    Ok(match e.lookup(&s) {
                        Some(d) => (true, d.opts.is_some()),
                        None => (false, false),
                    })
                })?,
            )?;
            rpm.set(
                "vercmp",
                scope.create_function(|_, (a, b): (String, String)| Ok(rpmvercmp(&a, &b) as i32))?,
            )?;
            g.set("rpm", rpm)?;
            g.set(
                "print",
                scope.create_function(|lua, args: Variadic<Value>| {
                    let tostring: mlua::Function = lua.globals().get("tostring")?;
                    let mut p = printed.borrow_mut();
                    for (k, v) in args.into_iter().enumerate() {
                        if k > 0 {
                            p.push('\t');
                        }
                        let s: mlua::String = tostring.call(v)?;
                        p.push_str(&s.to_string_lossy());
                    }
                    Ok(())
                })?,
            )?;
            let macros = lua.create_table()?;
            let meta = lua.create_table()?;
            meta.set(
                "__index",
                scope.create_function(|_, (_t, name): (Value, String)| {
                    let mut e = me.try_borrow_mut().map_err(|_| busy())?;
                    if e.is_defined(&name) {
                        Ok(Some(e.expand_text(&format!("%{{{name}}}"))))
                    } else {
                        Ok(None)
                    }
                })?,
            )?;
            meta.set(
                "__newindex",
                scope.create_function(|_, (_t, name, v): (Value, String, Option<String>)| {
                    let mut e = me.try_borrow_mut().map_err(|_| busy())?;
                    match v {
                        Some(body) => e.push_def(&name, MacroDef::plain(&body), true),
                        None => e.undefine(&name),
                    }
                    Ok(())
                })?,
            )?;
            macros.set_metatable(Some(meta))?;
            g.set("macros", macros)?;
            for (name, nums, list) in [
                ("sources", "source_nums", &sources),
                ("patches", "patch_nums", &patches),
            ] {
                g.set(
                    name,
                    lua.create_sequence_from(list.iter().map(|(_, p)| p.as_str()))?,
                )?;
                g.set(nums, lua.create_sequence_from(list.iter().map(|(n, _)| *n))?)?;
            }
            match &call {
                Some((argv, opts)) => {
                    let a = lua.create_sequence_from(argv.iter().map(String::as_str))?;
                    let o = lua.create_table()?;
                    for (k, v) in opts {
                        o.set(k.as_str(), v.as_str())?;
                    }
                    g.set("arg", a)?;
                    g.set("opt", o)?;
                }
                None => {
                    g.set("arg", Value::Nil)?;
                    g.set("opt", Value::Nil)?;
                }
            }
            lua.load(code).set_name("=<lua>").exec()
        })
    };
    exp.lua_busy = false;
    exp.lua = Some(lua);
    match res {
        Ok(()) => out.push_str(&printed.into_inner()),
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("").to_owned();
            exp.unresolved(format!("%{{lua:}} failed: {first}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::macros::MacroContext;
    use super::*;

    fn ev(s: &str) -> (String, Vec<String>) {
        let mut c = MacroContext::new();
        c.define("plain", "PLAIN");
        c.define_spec("lm(a:) %{lua: print(opt.a or '-', #arg, arg[1])}")
            .expect("valid");
        let mut e = Expander::new(&c);
        let out = e.expand_text(s);
        (out, e.unresolved)
    }

    #[test]
    fn lua_api() {
        assert_eq!(ev("%{lua: print(\"a\") print(\"b\")}").0, "ab");
        assert_eq!(ev("%{lua: print(1,2)}").0, "1\t2");
        assert_eq!(
            ev("%{lua: rpm.define(\"zz 1\") print(rpm.expand(\"%zz\"))}").0,
            "1"
        );
        assert_eq!(ev("%{lua: print(macros.plain)}").0, "PLAIN");
        assert_eq!(ev("%{lua: print(rpm.isdefined(\"plain\"))}").0, "true\tfalse");
        assert_eq!(ev("%{lua: print(rpm.vercmp(\"1.10\", \"1.9\"))}").0, "1");
        assert_eq!(ev("%{lua: x = 5}%{lua: print(x)}").0, "5");
        assert_eq!(ev("%lm -a 3 p q").0, "3\t2\tp");
        assert_eq!(ev("%{lua: macros.nn = 'v'}%nn").0, "v");
    }

    #[test]
    fn system_access_is_unresolved() {
        for code in [
            "%{lua: os.execute('ls')}",
            "%{lua: io.open('/etc/passwd')}",
            "%{lua: posix.getcwd()}",
        ] {
            let (_, unresolved) = ev(code);
            assert_eq!(unresolved.len(), 1, "{code}");
        }
    }
}
