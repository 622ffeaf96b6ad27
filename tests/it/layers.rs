//! The house's rules, read from the source (README, "Architecture"): every `crate::` path of
//! every file under `src/` is an import of the file it names, and
//! - no files import each other in a loop, however long;
//! - no module imports one of a higher layer (the ground knows no capability, a capability
//!   knows nothing of the work that spans capabilities, and so on), but for the few imports
//!   listed in `KNOWN_UPWARD`, each with its reason.
//!
//! A new import that breaks a rule fails here with the files that make it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, from the ground up; a module may import its own layer and those below.
const LAYERS: [&[&str]; 6] = [
    // The ground: what every part uses and that knows no part of the application.
    &[
        "db",
        "error",
        "config",
        "time",
        "text",
        "phone",
        "json",
        "french",
        "patch",
        "idempotency",
        "i18n",
        "status",
    ],
    // Shared below the capabilities: the page and API plumbing, the report roll-ups the writers
    // keep, the message queue, the delivery loop every queue runs in, operations.
    &["web", "rollups", "outbox", "delivery", "ops"],
    // Who acts: accounts, sessions and guards, the audit log, organisations, API clients.
    &["auth", "audit", "organisations", "api_clients"],
    // The capabilities.
    &[
        "places",
        "programmes",
        "people",
        "booking",
        "equipment",
        "skills",
        "webhooks",
        "referrals",
        "mail",
        "channels",
        "reports",
        "reschedule",
        "home",
        "exports",
    ],
    // Work that spans capabilities, and the doors for people without an account.
    &[
        "privacy",
        "merge",
        "worker",
        "demo",
        "public",
        "sms",
        "beneficiary",
        "person_page",
    ],
    // The top: the routes mounted and the OpenAPI document assembled.
    &["lib", "main", "openapi"],
];

/// Imports that run up a layer today, as (importing file, imported file, why).
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

/// Every `.rs` file under `src/`, by path relative to the crate.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    walk(&root.join("src"), &mut out);
    let mut files: Vec<PathBuf> = out
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    files.sort();
    files
}

/// A file's module path: `src/booking/service/mod.rs` is `["booking", "service"]`.
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .strip_prefix("src")
        .unwrap()
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its unit tests.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    // Comment lines blanked, not removed: line numbers stay the file's.
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which file each file imports, through `crate::…` and `super::…` paths (a `use` group's
/// first level included).
fn imports() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let files = sources();
    let by_module: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| (module_of(f), f.clone()))
        .collect();
    let resolve = |path: &[String]| -> Option<&PathBuf> {
        (1..=path.len())
            .rev()
            .find_map(|n| by_module.get(&path[..n]))
    };
    let path_re =
        regex::Regex::new(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)(::\{([^}]*)\})?").unwrap();
    let mut out = BTreeMap::new();
    for file in files.iter().filter(|f| !f.ends_with("main.rs")) {
        let module = module_of(file);
        let mut targets = BTreeSet::new();
        for found in path_re.captures_iter(&code_of(file)) {
            let mut base: Vec<String> = if &found[1] == "crate" {
                Vec::new()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            base.extend(
                found[2]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
            let mut paths = vec![base.clone()];
            if let Some(group) = found.get(4) {
                for item in group.as_str().split(',') {
                    let first = item.trim().split("::").next().unwrap_or("");
                    if !first.is_empty()
                        && first.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && first != "self"
                    {
                        let mut path = base.clone();
                        path.push(first.to_string());
                        paths.push(path);
                    }
                }
            }
            for path in paths {
                if let Some(target) = resolve(&path) {
                    if target != file {
                        targets.insert(target.clone());
                    }
                }
            }
        }
        out.insert(file.clone(), targets);
    }
    out
}

/// The top-level module a file belongs to (`booking`, `lib`, `openapi`…).
fn top(file: &Path) -> String {
    let module = module_of(file);
    match module.first() {
        Some(first) => first.clone(),
        None => file.file_stem().unwrap().to_string_lossy().into_owned(),
    }
}

#[test]
fn no_files_import_each_other_in_a_loop() {
    let graph = imports();
    // Depth-first search; a back edge closes a loop, reported with the files on it.
    fn visit(
        file: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
        loops: &mut Vec<String>,
    ) {
        state.insert(file.clone(), 1);
        stack.push(file.clone());
        for next in graph.get(file).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, graph, state, stack, loops),
                1 => {
                    let at = stack.iter().position(|f| f == next).unwrap();
                    let ring: Vec<String> = stack[at..]
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect();
                    loops.push(format!("{} -> {}", ring.join(" -> "), next.display()));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(file.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut loops = Vec::new();
    for file in graph.keys() {
        if !state.contains_key(file) {
            visit(file, &graph, &mut state, &mut Vec::new(), &mut loops);
        }
    }
    assert!(
        loops.is_empty(),
        "files importing each other in a loop:\n{}",
        loops.join("\n")
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let layer_of = |module: &str| LAYERS.iter().position(|layer| layer.contains(&module));
    let mut unknown = BTreeSet::new();
    let mut upward = Vec::new();
    for (file, targets) in imports() {
        let from = top(&file);
        for target in targets {
            let to = top(&target);
            if from == to {
                continue;
            }
            match (layer_of(&from), layer_of(&to)) {
                (Some(a), Some(b)) if a < b => {
                    let (f, t) = (file.display().to_string(), target.display().to_string());
                    if !KNOWN_UPWARD.iter().any(|(kf, kt, _)| *kf == f && *kt == t) {
                        upward.push(format!("{f} -> {t}"));
                    }
                }
                (None, _) => {
                    unknown.insert(from.clone());
                }
                (_, None) => {
                    unknown.insert(to.clone());
                }
                _ => {}
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules in no layer (add them to LAYERS in tests/it/layers.rs and to the README's \
         Architecture): {unknown:?}"
    );
    assert!(
        upward.is_empty(),
        "imports of a higher layer:\n{}",
        upward.join("\n")
    );
}

/// The rule is alive: a known upward import that no longer exists is taken off the list.
#[test]
fn every_known_upward_import_still_exists() {
    let graph = imports();
    for (from, to, why) in KNOWN_UPWARD {
        assert!(
            graph
                .get(Path::new(from))
                .is_some_and(|targets| targets.contains(Path::new(to))),
            "{from} -> {to} ({why}) is gone: take it off KNOWN_UPWARD"
        );
    }
}

/// `participants` and `appointments` are written only by booking (the demo generator, which
/// fills every table of an empty database in bulk, aside).
#[test]
fn only_booking_writes_appointments_and_seats() {
    let writes = regex::Regex::new(
        r"(?i)(insert_into|update|delete)\(\s*(participants|appointments)::|\b(insert\s+into|update|delete\s+from)\s+(participants|appointments)\b",
    )
    .unwrap();
    let mut found = Vec::new();
    for file in sources() {
        if file.starts_with("src/booking") || file.starts_with("src/demo") {
            continue;
        }
        for (n, line) in code_of(&file).lines().enumerate() {
            if writes.is_match(line) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "written outside booking:\n{}",
        found.join("\n")
    );
}
