//! What a rename rewrites in the rendered template: every `Ref`,
//! `Fn::GetAtt`, `${Name}` inside `Fn::Sub` and `DependsOn` naming the
//! old logical ID, so a rename leaves no dangling reference behind.

use serde_json::Value as Json;

/// Rewrites every reference to `old` (Ref, GetAtt, Fn::Sub names,
/// DependsOn) to `new`.
pub(super) fn rewrite_references(v: &mut Json, old: &str, new: &str) {
    match v {
        Json::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m.iter_mut().next().unwrap();
                match (k.as_str(), arg) {
                    ("Ref", Json::String(s)) if s == old => *s = new.to_string(),
                    ("Fn::GetAtt", Json::Array(a))
                        if a.first().and_then(Json::as_str) == Some(old) =>
                    {
                        a[0] = Json::String(new.to_string());
                    }
                    ("Fn::GetAtt", Json::String(s)) if s.starts_with(&format!("{old}.")) => {
                        *s = format!("{new}{}", &s[old.len()..]);
                    }
                    ("Fn::Sub", arg) => {
                        let t = match arg {
                            Json::String(s) => Some(s),
                            Json::Array(a) => a.get_mut(0).and_then(|x| match x {
                                Json::String(s) => Some(s),
                                _ => None,
                            }),
                            _ => None,
                        };
                        if let Some(t) = t {
                            *t = t
                                .replace(&format!("${{{old}}}"), &format!("${{{new}}}"))
                                .replace(&format!("${{{old}."), &format!("${{{new}."));
                        }
                    }
                    _ => {}
                }
            }
            for (k, child) in m.iter_mut() {
                if k == "DependsOn" {
                    match child {
                        Json::String(s) if s == old => *s = new.to_string(),
                        Json::Array(a) => {
                            for d in a {
                                if d.as_str() == Some(old) {
                                    *d = Json::String(new.to_string());
                                }
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                if k != "Definition" {
                    rewrite_references(child, old, new);
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(|c| rewrite_references(c, old, new)),
        _ => {}
    }
}
