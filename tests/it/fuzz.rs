//! API fuzzing from the OpenAPI document: for every documented operation, requests with
//! generated path parameters, query strings and JSON bodies (mostly of the documented shape,
//! with hostile strings, extreme numbers, impossible dates, wrong types, malformed JSON). No
//! answer may be a 5xx, and every refusal on the API is problem+json with a detail.
//!
//! Deterministic: a fixed seed; `PASSERELLE_FUZZ_CASES` sets the requests per operation (64),
//! `FUZZ_DEBUG=/path-part` prints the requests and answers of the matching operations, and
//! `--nocapture` shows a summary (statuses, operations that never accepted a request).

use chrono::Duration;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Strategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rocket::http::{ContentType, Header};
use serde_json::{json, Map, Value};

use crate::both_backends;
use crate::fixtures::{at, person, setup, today};
use crate::harness::{collect, urlencode};

/// Strings that have broken servers before.
fn hostile_string() -> BoxedStrategy<String> {
    let fixed: Vec<String> = [
        "",
        " ",
        "\u{0}",
        "a\u{0}b",
        "'; DROP TABLE people; --",
        "%",
        "_",
        "\\",
        "\"",
        "é",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉",
        "\u{202e}gauche",
        "\u{feff}",
        "-1",
        "0",
        "1e400",
        "NaN",
        "2147483648",
        "99999999999999999999",
        "2026-02-30",
        "+262142-12-31",
        "-262143-01-01",
        "0000-01-01",
        "9999-12-31",
        "2026-12-03T25:61:00+01:00",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00",
        "+262142-12-31T23:59:59Z",
        "2026-12-03T14:30:00+99:00",
        "24:00",
        "23:60",
        "00:00",
        "-01:00",
        "<script>alert(1)</script>",
        "true",
        "null",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        4 => prop::sample::select(fixed),
        2 => ".{0,30}",
        1 => "[a-z0-9 ]{0,12}",
        1 => (0usize..3).prop_map(|k| "x".repeat([300, 5_000, 70_000][k])),
    ]
    .boxed()
}

fn hostile_integer() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => -3i64..50,
        1 => Just(i64::from(i32::MAX)),
        1 => Just(i64::from(i32::MAX) + 1),
        1 => Just(i64::from(i32::MIN)),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => any::<i64>(),
    ]
    .boxed()
}

fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        hostile_integer().prop_map(Value::from),
        prop_oneof![
            Just(1.5f64),
            Just(-0.0),
            Just(1e300),
            Just(f64::MIN_POSITIVE)
        ]
        .prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// How to generate: `valid` bodies keep to the documented shape with plausible values and real
/// ids (so requests reach the code behind validation); the others are hostile anywhere.
#[derive(Clone, Copy)]
struct Gen<'a> {
    doc: &'a Value,
    valid: bool,
    ids: &'a Ids,
}

/// Real ids by the field names that carry them.
type Ids = std::collections::BTreeMap<&'static str, Vec<i64>>;

fn id_kind(field: &str) -> Option<&'static str> {
    Some(match field {
        "service_id" => "service",
        "mediator_id" | "actor_id" => "mediator",
        "place_id" => "place",
        "person_id" | "person_ids" | "entity_id" => "person",
        "programme_id" | "programme_ids" => "programme",
        "organisation_id" => "organisation",
        _ => return None,
    })
}

/// Values for a schema (`field`: the property's name, for ids).
fn from_schema(g: Gen, schema: &Value, field: &str, depth: u32) -> BoxedStrategy<Value> {
    let schema = resolve(g.doc, schema);
    if depth > 4 {
        return any_json();
    }
    let real = id_kind(field)
        .and_then(|kind| g.ids.get(kind))
        .filter(|ids| !ids.is_empty())
        .cloned();
    let shaped = match (g.valid, plausible(field)) {
        (true, Some(values)) => prop::sample::select(values).boxed(),
        (false, Some(values)) => prop_oneof![
            prop::sample::select(values),
            shaped(g, schema, field, depth)
        ]
        .boxed(),
        _ => shaped(g, schema, field, depth),
    };
    match (g.valid, real) {
        (true, Some(ids)) if schema["type"] == "array" => prop::collection::vec(prop::sample::select(ids), 0..3)
            .prop_map(Value::from)
            .boxed(),
        (true, Some(ids)) => prop::sample::select(ids).prop_map(Value::from).boxed(),
        (true, None) => shaped,
        (false, Some(ids)) => prop_oneof![3 => prop::sample::select(ids).prop_map(Value::from), 3 => shaped, 1 => any_json()].boxed(),
        (false, None) => prop_oneof![6 => shaped, 1 => any_json()].boxed(),
    }
}

/// Values the server accepts for fields whose rules the OpenAPI document does not spell out.
fn plausible(field: &str) -> Option<Vec<Value>> {
    Some(match field {
        "postal_code" => vec![json!("59100"), json!("75011")],
        "phone" | "phone_number" => vec![json!("06 12 34 56 78"), json!("+33 3 20 00 00 00")],
        "birth_year" => vec![json!(1950), json!(1987), json!(2004)],
        "start" => vec![json!("08:00"), json!("13:30")],
        "end" => vec![json!("12:00"), json!("19:45")],
        "weekday" => (1..=7).map(|d| json!(d)).collect(),
        "level" => (0..=3).map(|l| json!(l)).collect(),
        "skill_code" => vec![json!("A1"), json!("B2")],
        "code" => vec![json!("Z9"), json!("ZZ42")],
        "duration_minutes" => vec![json!(30), json!(60), json!(90)],
        "capacity" => vec![json!(1), json!(8)],
        "imei" => vec![json!("490154203237518")],
        "iccid" => vec![json!("89330123456789012342")],
        "password" => vec![json!("un-mot-de-passe-long")],
        _ => return None,
    })
}

fn shaped(g: Gen, schema: &Value, field: &str, depth: u32) -> BoxedStrategy<Value> {
    if let Some(all) = schema["allOf"].as_array() {
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for part in all {
            let part = resolve(g.doc, part);
            if let Some(props) = part["properties"].as_object() {
                for (k, v) in props {
                    merged["properties"][k] = v.clone();
                }
            }
            if let Some(req) = part["required"].as_array() {
                merged["required"]
                    .as_array_mut()
                    .unwrap()
                    .extend(req.iter().cloned());
            }
        }
        return shaped(g, &merged, field, depth);
    }
    if let Some(values) = schema["enum"].as_array() {
        let values = values.clone();
        if g.valid {
            return prop::sample::select(values).boxed();
        }
        return prop_oneof![
            4 => prop::sample::select(values),
            1 => hostile_string().prop_map(Value::from),
        ]
        .boxed();
    }
    let mut types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    if g.valid && types.len() > 1 {
        types.retain(|t| t != "null");
    }
    if types.is_empty() {
        return any_json();
    }
    let options: Vec<BoxedStrategy<Value>> = types
        .iter()
        .map(|t| match t.as_str() {
            "null" => Just(Value::Null).boxed(),
            "boolean" => any::<bool>().prop_map(Value::from).boxed(),
            "integer" if g.valid => {
                let min = schema["minimum"].as_i64().unwrap_or(0);
                let max = schema["maximum"].as_i64().unwrap_or(min + 120).max(min);
                (min..=max).prop_map(Value::from).boxed()
            }
            "integer" => hostile_integer().prop_map(Value::from).boxed(),
            "number" => prop_oneof![
                hostile_integer().prop_map(Value::from),
                prop_oneof![Just(0.5f64), Just(-1.25), Just(1e308)].prop_map(Value::from),
            ]
            .boxed(),
            "string" => string_for(g.valid, schema["format"].as_str()),
            "array" => {
                let items = from_schema(g, &schema["items"], field, depth + 1);
                prop::collection::vec(items, 0..4)
                    .prop_map(Value::from)
                    .boxed()
            }
            "object" => object_for(g, schema, depth),
            _ => any_json(),
        })
        .collect();
    Union::new(options).boxed()
}

fn string_for(valid_only: bool, format: Option<&str>) -> BoxedStrategy<Value> {
    let day = |d: i64| (today() + Duration::days(d)).to_string();
    let valid: BoxedStrategy<String> = match format {
        Some("date") => {
            prop::sample::select(vec![day(0), day(3), day(30), day(-400), day(20_000)]).boxed()
        }
        Some("date-time") => (0i64..20, 8u32..19, prop::sample::select(vec!["00", "30"]))
            .prop_map(|(d, h, m)| at(today() + Duration::days(d - 2), &format!("{h:02}:{m}")))
            .boxed(),
        Some("email") => "[a-z]{1,8}@example\\.org".boxed(),
        _ => "[A-Za-zé0-9 ]{1,20}".boxed(),
    };
    if valid_only {
        return valid.prop_map(Value::from).boxed();
    }
    prop_oneof![3 => valid, 2 => hostile_string()]
        .prop_map(Value::from)
        .boxed()
}

fn object_for(g: Gen, schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, sub)| {
                    let value = from_schema(g, sub, name, depth + 1);
                    let present = match (required.contains(name), g.valid) {
                        (true, true) => value.prop_map(Some).boxed(),
                        (true, false) => prop::option::weighted(0.9, value).boxed(),
                        (false, _) => prop::option::weighted(0.5, value).boxed(),
                    };
                    let name = name.clone();
                    present
                        .prop_map(move |v| v.map(|v| (name.clone(), v)))
                        .boxed()
                })
                .collect()
        })
        .unwrap_or_default();
    let extra = if g.valid {
        Just(None).boxed()
    } else {
        prop::option::weighted(0.1, ("[a-z_]{1,10}", any_json())).boxed()
    };
    (fields, extra)
        .prop_map(|(fields, extra)| {
            let mut map = Map::new();
            for (k, v) in fields.into_iter().flatten().chain(extra) {
                map.insert(k, v);
            }
            Value::Object(map)
        })
        .boxed()
}

/// A request: path, query, body (content type and text), and whose token.
#[derive(Debug, Clone)]
struct Call {
    uri: String,
    body: Option<(ContentType, String)>,
    caller: usize,
}

fn malformed_body() -> BoxedStrategy<String> {
    prop::sample::select(vec![
        String::new(),
        "{".into(),
        "null".into(),
        "[]".into(),
        "\"texte\"".into(),
        "{\"a\": 1} x".into(),
        "{\"given_name\": \"\\ud800\"}".into(),
        "\u{0}".into(),
        "{".repeat(5000),
    ])
    .boxed()
}

struct Fixture {
    ids: Vec<(&'static str, String)>,
}

impl Fixture {
    /// Real values for a path parameter, by what the path names.
    fn real(&self, path: &str, param: &str) -> Vec<String> {
        let kind = match (param, path) {
            ("person_id", _) => "person",
            ("code", _) => "skill",
            ("file", _) => "file",
            (_, p) if p.contains("/places/") => "place",
            (_, p) if p.contains("/people/") => "person",
            (_, p) if p.contains("/appointments/") => "appointment",
            (_, p) if p.contains("/equipment/") => "equipment",
            (_, p) if p.contains("/users/") => "mediator",
            (_, p) if p.contains("/opening-hours/") => "opening_hours",
            (_, p) if p.contains("/absences/") => "absence",
            (_, p) if p.contains("/messages/") => "message",
            _ => "",
        };
        self.ids
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn call_strategy(
    doc: &Value,
    ids: &Ids,
    fixture: &Fixture,
    path: &str,
    op: &Value,
) -> BoxedStrategy<Call> {
    let valid = Gen {
        doc,
        valid: true,
        ids,
    };
    let hostile = Gen {
        doc,
        valid: false,
        ids,
    };
    let params: Vec<Value> = op["parameters"].as_array().cloned().unwrap_or_default();
    let mut path_parts: Vec<BoxedStrategy<(String, String)>> = Vec::new();
    let mut query_parts: Vec<BoxedStrategy<Option<String>>> = Vec::new();
    for param in &params {
        let name = param["name"].as_str().unwrap_or_default().to_string();
        match param["in"].as_str() {
            Some("path") => {
                let mut real = fixture.real(path, &name);
                if real.is_empty() {
                    real.push("1".into());
                }
                let weird = prop::sample::select(vec![
                    "0",
                    "-1",
                    "2147483648",
                    "abc",
                    "1.5",
                    "999999",
                    "%00",
                    "%C3%A9",
                    "..",
                ])
                .prop_map(str::to_string);
                let n = name.clone();
                path_parts.push(
                    prop_oneof![4 => prop::sample::select(real), 1 => weird]
                        .prop_map(move |v| (n.clone(), v))
                        .boxed(),
                );
            }
            Some("query") => {
                let n = name.clone();
                let value = prop_oneof![
                    from_schema(valid, &param["schema"], &name, 1),
                    from_schema(hostile, &param["schema"], &name, 1),
                ];
                let presence = if param["required"] == true { 0.95 } else { 0.5 };
                query_parts.push(
                    prop::option::weighted(presence, value)
                        .prop_map(move |v| {
                            v.map(|v| {
                                let text = match v {
                                    Value::String(s) => s,
                                    other => other.to_string(),
                                };
                                format!("{}={}", n, urlencode(&text))
                            })
                        })
                        .boxed(),
                );
            }
            _ => {}
        }
    }
    let body: BoxedStrategy<Option<(ContentType, String)>> =
        match op["requestBody"]["content"].as_object() {
            Some(content) if content.contains_key("application/json") => {
                let schema = content["application/json"]["schema"].clone();
                prop_oneof![
                    4 => from_schema(valid, &schema, "", 0).prop_map(|v| Some((ContentType::JSON, v.to_string()))),
                    4 => from_schema(hostile, &schema, "", 0).prop_map(|v| Some((ContentType::JSON, v.to_string()))),
                    1 => malformed_body().prop_map(|b| Some((ContentType::JSON, b))),
                    1 => hostile_string().prop_map(|b| Some((ContentType::Plain, b))),
                ]
                .boxed()
            }
            Some(_) => prop_oneof![
                3 => prop::collection::vec(prop::collection::vec(hostile_string(), 0..5), 0..5).prop_map(|rows| {
                    let mut text = "kind;model;serial;imei;iccid;valid_until;programme\n".to_string();
                    for row in rows {
                        text.push_str(&row.join(";").replace(['\n', '\r'], " "));
                        text.push('\n');
                    }
                    Some((ContentType::CSV, text))
                }),
                1 => hostile_string().prop_map(|b| Some((ContentType::CSV, b))),
            ]
            .boxed(),
            None => prop_oneof![9 => Just(None), 1 => malformed_body().prop_map(|b| Some((ContentType::JSON, b)))].boxed(),
        };
    let path = path.to_string();
    (path_parts, query_parts, body, 0usize..10)
        .prop_map(move |(path_values, query, body, who)| {
            let mut uri = path.clone();
            for (name, value) in path_values {
                uri = uri.replace(&format!("{{{name}}}"), &value);
            }
            let query: Vec<String> = query.into_iter().flatten().collect();
            if !query.is_empty() {
                uri = format!("{uri}?{}", query.join("&"));
            }
            // Mostly a manager; sometimes a mediator or an admin.
            let caller = match who {
                0..=6 => 0,
                7 | 8 => 1,
                _ => 2,
            };
            Call { uri, body, caller }
        })
        .boxed()
}

both_backends! {
    async fn the_api_never_answers_5xx_to_generated_requests(app) {
        let cases: usize = std::env::var("PASSERELLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
        let s = setup(&app, "Emmaüs Connect").await;
        let admin = app.staff("admin", "Département").await;
        let p = person(&app, &s.manager.token, "Nadia").await;
        let mut people = vec![p];
        for name in ["Omar", "Léa", "Jules", "Awa"] {
            people.push(person(&app, &s.manager.token, name).await);
        }
        let past = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() - Duration::days(1), "11:00"), "person_ids": [p], "walk_in": true})).await.json();
        let workshop = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.workshop_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(6), "14:00"), "person_ids": [people[1], people[2]]})).await.json();
        let a = app.post_json("/api/v1/appointments", &s.manager.token, json!({
            "service_id": s.service_id, "mediator_id": s.mediator.user.id, "place_id": s.place_id,
            "starts_at": at(today() + Duration::days(2), "11:00"), "person_ids": [p]})).await.json();
        let e = app.post_json("/api/v1/equipment", &s.manager.token, json!({"kind": "tablet"})).await.json();
        let h = app.get(&format!("/api/v1/users/{}/opening-hours", s.mediator.user.id), Some(&s.mediator.token)).await.json();
        let ab = app.post_json(&format!("/api/v1/users/{}/absences", s.mediator.user.id), &s.mediator.token,
            json!({"starts_at": at(today() + Duration::days(90), "09:00"), "ends_at": at(today() + Duration::days(90), "10:00")})).await.json();
        let skills = app.get("/api/v1/skills", Some(&s.manager.token)).await.json();
        let fixture = Fixture { ids: vec![
            ("place", s.place_id.to_string()),
            ("person", p.to_string()),
            ("person", people[1].to_string()),
            ("person", people[2].to_string()),
            ("appointment", a["id"].to_string()),
            ("appointment", past["id"].to_string()),
            ("appointment", workshop["id"].to_string()),
            ("equipment", e["id"].to_string()),
            ("mediator", s.mediator.user.id.to_string()),
            ("opening_hours", h[0]["id"].to_string()),
            ("absence", ab["id"].to_string()),
            ("message", "1".to_string()),
            ("skill", skills[0]["skills"][0]["code"].as_str().unwrap_or("A1").to_string()),
            ("file", "people.csv".into()),
            ("file", "logs.csv".into()),
            ("file", "nothing.csv".into()),
        ]};
        let tokens = [s.manager.token.clone(), s.mediator.token.clone(), admin.token.clone()];
        let programme = app.post_json("/api/v1/programmes", &s.manager.token, json!({"name": "Dispositif"})).await.json();
        let ids: Ids = [
            ("service", vec![s.service_id, s.workshop_id]),
            ("mediator", vec![i64::from(s.mediator.user.id)]),
            ("place", vec![s.place_id]),
            ("person", people.clone()),
            ("programme", vec![programme["id"].as_i64().unwrap()]),
            ("organisation", vec![i64::from(s.manager.user.organisation_id)]),
        ]
        .into_iter()
        .collect();

        let doc: Value = passerelle::openapi::document().clone();
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        let mut failures: Vec<String> = Vec::new();
        let mut sent = 0;
        let mut statuses = std::collections::BTreeMap::new();
        let mut accepted = std::collections::BTreeSet::new();
        let mut operations = 0;
        let mut all_ops = Vec::new();
        // What cancels or erases the shared records goes last, so the rest finds them usable.
        let mut operations_in_order: Vec<(&String, &String, &Value)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| ops.as_object().unwrap().iter().map(move |(m, op)| (path, m, op)))
            .collect();
        operations_in_order.sort_by_key(|(path, method, _)| *method == "delete" || path.ends_with("/cancel"));
        {
            for (path, method, op) in operations_in_order {
                // Revoking the token in use would leave the rest unauthenticated.
                if path == "/api/v1/tokens/current" {
                    continue;
                }
                let strategy = call_strategy(&doc, &ids, &fixture, path, op);
                operations += 1;
                all_ops.push(format!("{} {path}", method.to_uppercase()));
                // Each login costs an argon2 hash.
                let n = if path == "/api/v1/tokens" { 4 } else { cases };
                for _ in 0..n {
                    let call = strategy.new_tree(&mut runner).unwrap().current();
                    let method_upper = method.to_uppercase();
                    let mut request = match method_upper.as_str() {
                        "GET" => app.client.get(call.uri.clone()),
                        "POST" => app.client.post(call.uri.clone()),
                        "PATCH" => app.client.patch(call.uri.clone()),
                        "DELETE" => app.client.delete(call.uri.clone()),
                        other => panic!("{other}"),
                    };
                    request = request.header(Header::new("Authorization", format!("Bearer {}", tokens[call.caller])));
                    if let Some((content_type, body)) = &call.body {
                        request = request.header(content_type.clone()).body(body.clone());
                    }
                    if method_upper == "POST" && path == "/api/v1/appointments" {
                        request = request.header(Header::new("Idempotency-Key", format!("k{sent}")));
                    }
                    let r = collect(request.dispatch().await).await;
                    sent += 1;
                    if std::env::var("FUZZ_DEBUG").is_ok_and(|d| path.contains(&d)) {
                        eprintln!("{} {:?} → {} {}", call.uri, call.body, r.status, r.body.chars().take(200).collect::<String>());
                    }
                    *statuses.entry(r.status.code).or_insert(0usize) += 1;
                    if r.status.code < 300 {
                        accepted.insert(format!("{method_upper} {path}"));
                    }
                    let show = |c: &Call| format!("{method_upper} {} body={:?}", c.uri.chars().take(300).collect::<String>(),
                        c.body.as_ref().map(|(_, b)| b.chars().take(300).collect::<String>()));
                    if r.status.code >= 500 {
                        failures.push(format!("{} ← {}", r.status, show(&call)));
                    } else if r.status.code >= 400 && (call.uri.starts_with("/api/") || call.uri.starts_with("/exports/")) {
                        let problem = r.header("content-type") == Some("application/problem+json")
                            && serde_json::from_str::<Value>(&r.body).is_ok_and(|v| v["detail"].as_str().is_some_and(|d| !d.is_empty()));
                        if !problem {
                            failures.push(format!("{} not problem+json ({:?}) ← {}", r.status, r.header("content-type"), show(&call)));
                        }
                    }
                }
            }
        }
        assert!(sent > 500, "only {sent} requests");
        let refused: Vec<_> = all_ops.iter().filter(|o| !accepted.contains(*o)).collect();
        eprintln!("fuzz: {sent} requests, statuses {statuses:?}, {} of {operations} operations accepted some; never: {refused:?}", accepted.len());
        // Not only refusals: most operations took some generated request.
        assert!(accepted.len() * 3 >= operations * 2, "only {} of {operations} operations ever accepted a request: {accepted:?}", accepted.len());
        failures.sort();
        failures.dedup();
        assert!(failures.is_empty(), "{} failing requests of {sent}:\n{}", failures.len(), failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
    }
}
