//! The previous backend's wire contract (`tests/fixtures/legacy_contract.json`) and the machinery
//! that holds edu to it: requests built from a route's recorded request, as the old frontend sends
//! them, and a checker that walks a recorded shape over a JSON answer.
//!
//! Every failure names the route and the JSON path, so a failing run reads as a list of broken
//! routes. Keys an answer has beyond the recorded ones are allowed (additive fields are fine).

use std::collections::HashMap;
use std::sync::OnceLock;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Map, Value};

use edu_core::Store;
use edu_tests::{Actor, PDF, PNG, Reply, TestApp, send};

/// The fixture, parsed once.
pub fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/legacy_contract.json")).expect("the contract fixture is JSON")
    })
}

/// One route of the fixture.
#[track_caller]
pub fn route(id: &str) -> &'static Value {
    let r = &fixture()["routes"][id];
    assert!(r.is_object(), "no route {id} in the contract fixture");
    r
}

/// Every route id of the fixture.
pub fn route_ids() -> Vec<&'static str> {
    fixture()["routes"]
        .as_object()
        .expect("routes is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Values that fill a recorded request

/// The values a recorded request refers to: `"$name"` (a whole JSON value) and `{name}` (text in a
/// path, a query or a string), and the files a multipart request names by `bytes`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: Map<String, Value>,
    files: HashMap<String, Vec<u8>>,
}

impl Vars {
    pub fn new() -> Self {
        let mut v = Vars::default();
        v.files.insert("pdf".into(), PDF.to_vec());
        v.files.insert("png".into(), PNG.to_vec());
        v
    }

    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.values.insert(name.to_owned(), value.into());
        self
    }

    pub fn file(mut self, name: &str, bytes: Vec<u8>) -> Self {
        self.files.insert(name.to_owned(), bytes);
        self
    }

    fn text(&self, name: &str) -> String {
        match self.values.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => panic!("the contract request needs a value for {name}"),
        }
    }

    /// Replaces every `{name}` in `s`.
    fn fill_text(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            out.push_str(&rest[..open]);
            out.push_str(&self.text(&rest[open + 1..open + close]));
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn fill(&self, template: &Value) -> Value {
        match template {
            Value::String(s) => match s.strip_prefix('$') {
                Some(name) => self
                    .values
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| panic!("the contract request needs a value for ${name}")),
                None => Value::String(self.fill_text(s)),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.fill(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect()),
            other => other.clone(),
        }
    }
}

/// The path of a route with its `{name}`s filled.
pub fn path_of(route_id: &str, vars: &Vars) -> String {
    let r = route(route_id);
    vars.fill_text(r["path"].as_str().expect("a path"))
}

/// The request of `route_id` (variant `variant`) as the frontend sends it, as `who`.
pub fn request<S: Store>(
    app: &TestApp<S>,
    who: Option<&Actor>,
    route_id: &str,
    variant: &str,
    vars: &Vars,
) -> reqwest::RequestBuilder {
    let r = route(route_id);
    let method = Method::from_bytes(r["method"].as_str().expect("a method").as_bytes()).expect("an HTTP method");
    let spec = &r["requests"][variant];
    assert!(spec.is_object(), "route {route_id} has no request {variant}");
    let mut path = path_of(route_id, vars);
    if let Some(q) = spec["query"].as_str() {
        path = format!("{path}?{}", vars.fill_text(q));
    }
    let mut req = app.request(method, &path, who);
    if let Some(body) = spec.get("json") {
        req = req.json(&vars.fill(body));
    } else if let Some(form) = spec["form"].as_object() {
        let fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    vars.fill(v).as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        req = req.form(&fields);
    } else if let Some(parts) = spec["multipart"].as_array() {
        let mut form = Form::new();
        for p in parts {
            let field = p["field"].as_str().expect("a multipart field name").to_owned();
            if let Some(text) = p["text"].as_str() {
                form = form.text(field, vars.fill_text(text));
            } else {
                let kind = p["bytes"].as_str().expect("a multipart part has text or bytes");
                let bytes = vars
                    .files
                    .get(kind)
                    .unwrap_or_else(|| panic!("no file {kind} for {route_id}"))
                    .clone();
                let name = vars.fill_text(p["file_name"].as_str().expect("a file name"));
                let part = Part::bytes(bytes)
                    .file_name(name)
                    .mime_str("application/octet-stream")
                    .expect("a mime type");
                form = form.part(field, part);
            }
        }
        req = req.multipart(form);
    }
    req
}

/// Sends the route's request and holds the answer to the contract: the recorded status, then the
/// recorded shape. Panics with every violation, each naming the route and the JSON path.
pub async fn exchange<S: Store>(
    app: &TestApp<S>,
    who: Option<&Actor>,
    route_id: &str,
    variant: &str,
    vars: &Vars,
) -> Reply {
    let reply = send(request(app, who, route_id, variant, vars)).await;
    let r = route(route_id);
    let want = r["status"].as_u64().expect("a status");
    assert_eq!(
        u64::from(reply.status),
        want,
        "{route_id} ({} {}): status {} instead of {want}; body {}",
        r["method"],
        r["path"],
        reply.status,
        reply.body
    );
    let errors = violations(route_id, &reply);
    assert!(
        errors.is_empty(),
        "{route_id} ({} {}) breaks the contract:\n  {}\nbody: {}",
        r["method"],
        r["path"],
        errors.join("\n  "),
        reply.body
    );
    reply
}

/// The contract violations of `reply` as an answer of `route_id` (status aside).
pub fn violations(route_id: &str, reply: &Reply) -> Vec<String> {
    let shape = &route(route_id)["response"];
    let mut errors = Vec::new();
    if shape.get("$bytes").is_some() {
        if reply.bytes.is_empty() {
            errors.push("$: a file was expected, the body is empty".to_owned());
        }
        return errors;
    }
    if shape == "null" {
        if !reply.bytes.is_empty() {
            errors.push(format!("$: no body was expected, got {} bytes", reply.bytes.len()));
        }
        return errors;
    }
    if !reply
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        errors.push(format!(
            "$: a JSON answer was expected, content-type {:?}",
            reply.header("content-type")
        ));
    }
    check_shape(shape, &reply.body, "$", &mut errors);
    errors
}

// ---------------------------------------------------------------------------------------------
// The shape checker (grammar: the fixture's "grammar")

/// Checks `value` against `shape`, pushing one message per violation with its JSON path.
pub fn check_shape(shape: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    match shape {
        Value::String(s) => check_named(s, value, path, errors),
        Value::Array(items) => {
            let element = items.first().expect("an array shape names its element shape");
            check_array(element, 1, value, path, errors);
        }
        Value::Object(map) => check_object(map, value, path, errors),
        other => panic!("{path}: not a shape: {other}"),
    }
}

fn check_named(spec: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
    let alternatives: Vec<&str> = spec.split('|').collect();
    if alternatives.len() > 1 {
        // A union fits if one alternative fits. Otherwise a structured value is reported against
        // the named shape (what is wrong inside it), anything else by its kind.
        let mut inside = None;
        for alt in &alternatives {
            let mut errs = Vec::new();
            check_named(alt, value, path, &mut errs);
            if errs.is_empty() {
                return;
            }
            if alt.starts_with('@') && (value.is_object() || value.is_array()) {
                inside = Some(errs);
            }
        }
        match inside {
            Some(errs) => errors.extend(errs),
            None => errors.push(format!("{path}: expected {spec}, got {}", describe(value))),
        }
        return;
    }
    let ok = match spec {
        "any" => true,
        "null" => value.is_null(),
        "int" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "bool" => value.is_boolean(),
        "datetime" => value.as_str().is_some_and(is_datetime),
        named if named.starts_with('@') => {
            let shape = &fixture()["shapes"][&named[1..]];
            assert!(!shape.is_null(), "no shape {named} in the contract fixture");
            check_shape(shape, value, path, errors);
            true
        }
        other => panic!("{path}: unknown kind {other} in the contract fixture"),
    };
    if !ok {
        errors.push(format!("{path}: expected {spec}, got {}", describe(value)));
    }
}

fn check_array(element: &Value, min: usize, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(items) = value.as_array() else {
        errors.push(format!("{path}: expected an array, got {}", describe(value)));
        return;
    };
    if items.len() < min {
        errors.push(format!(
            "{path}: expected at least {min} element(s) to check, got {}",
            items.len()
        ));
    }
    for (i, item) in items.iter().enumerate() {
        check_shape(element, item, &format!("{path}[{i}]"), errors);
    }
}

fn check_object(map: &Map<String, Value>, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(element) = map.get("$array") {
        let min = map.get("$min").and_then(Value::as_u64).unwrap_or(1);
        check_array(element, usize::try_from(min).unwrap_or(usize::MAX), value, path, errors);
        return;
    }
    if let Some(allowed) = map.get("$enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!(
                "{path}: expected one of {}, got {}",
                Value::Array(allowed.clone()),
                value
            ));
        }
        return;
    }
    if let Some(prefix) = map.get("$prefix").and_then(Value::as_str) {
        if !value.as_str().is_some_and(|s| s.starts_with(prefix)) {
            errors.push(format!(
                "{path}: expected a string starting with {prefix:?}, got {value}"
            ));
        }
        return;
    }
    if let Some(inner) = map.get("$nullable") {
        if !value.is_null() {
            check_shape(inner, value, path, errors);
        }
        return;
    }
    if map.contains_key("$bytes") {
        return;
    }
    let Some(obj) = value.as_object() else {
        errors.push(format!("{path}: expected an object, got {}", describe(value)));
        return;
    };
    for (key, shape) in map {
        if key.starts_with('$') {
            continue;
        }
        let (name, optional) = match key.strip_suffix('?') {
            Some(n) => (n, true),
            None => (key.as_str(), false),
        };
        let at = format!("{path}.{name}");
        if let Some(why) = shape.get("$forbidden") {
            if obj.get(name).is_some_and(|v| !v.is_null()) {
                errors.push(format!("{at}: must not be sent ({})", why.as_str().unwrap_or("")));
            }
            continue;
        }
        match obj.get(name) {
            Some(v) => check_shape(shape, v, &at, errors),
            None if optional => {}
            None => errors.push(format!("{at}: missing")),
        }
    }
}

/// A date and time a browser's `Date()` reads: RFC 3339, or ISO 8601 without a zone.
fn is_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "number (fractional)",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let mut text = value.to_string();
    if text.len() > 80 {
        let cut = (0..=80).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    format!("{kind} {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(shape: Value, value: Value) -> Vec<String> {
        let mut e = Vec::new();
        check_shape(&shape, &value, "$", &mut e);
        e
    }

    #[test]
    fn the_checker_names_paths_and_kinds() {
        assert!(
            errs(
                json!({"a": "int", "b": "string|null"}),
                json!({"a": 1, "b": null, "c": 3})
            )
            .is_empty()
        );
        assert_eq!(
            errs(json!({"a": "int"}), json!({"a": "1"})),
            ["$.a: expected int, got string \"1\""]
        );
        assert_eq!(errs(json!({"a": "int"}), json!({})), ["$.a: missing"]);
        assert_eq!(errs(json!({"a?": "int"}), json!({})), Vec::<String>::new());
        assert_eq!(errs(json!([{"x": "int"}]), json!([])).len(), 1);
        assert!(errs(json!({"$array": {"x": "int"}, "$min": 0}), json!([])).is_empty());
        assert_eq!(
            errs(json!([{"x": "int"}]), json!([{"x": 1}, {"x": 1.5}])),
            ["$[1].x: expected int, got number (fractional) 1.5"]
        );
        assert_eq!(
            errs(json!({"u": "@Detail|null"}), json!({"u": {"x": 1}})),
            ["$.u.detail: missing"]
        );
        assert!(errs(json!({"u": "@Detail|null"}), json!({"u": null})).is_empty());
        assert_eq!(
            errs(json!({"u": "@Detail|null"}), json!({"u": 3})),
            ["$.u: expected @Detail|null, got int 3"]
        );
        assert_eq!(errs(json!({"$enum": ["a"]}), json!("b")).len(), 1);
        assert!(errs(json!({"k": {"$forbidden": "no"}}), json!({"k": null})).is_empty());
        assert_eq!(errs(json!({"k": {"$forbidden": "no"}}), json!({"k": 1})).len(), 1);
        assert!(errs(json!("datetime"), json!("2025-06-01T10:00:00.123456")).is_empty());
        assert!(errs(json!("datetime"), json!("2025-06-01T10:00:00Z")).is_empty());
        assert_eq!(errs(json!("datetime"), json!("yesterday")).len(), 1);
    }

    #[test]
    fn every_named_shape_and_route_of_the_fixture_is_well_formed() {
        for id in route_ids() {
            let r = route(id);
            for key in ["method", "path", "status", "requests", "response"] {
                assert!(!r[key].is_null(), "{id} has {key}");
            }
        }
        let mut names = Vec::new();
        collect_names(&fixture()["routes"], &mut names);
        collect_names(&fixture()["shapes"], &mut names);
        for n in names {
            assert!(fixture()["shapes"][&n].is_object(), "shape @{n} is defined");
        }
    }

    fn collect_names(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                for alt in s.split('|') {
                    if let Some(n) = alt.strip_prefix('@') {
                        out.push(n.to_owned());
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect_names(x, out)),
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| !k.starts_with('$') || *k == "$array" || *k == "$nullable")
                .for_each(|(_, x)| collect_names(x, out)),
            _ => {}
        }
    }
}
