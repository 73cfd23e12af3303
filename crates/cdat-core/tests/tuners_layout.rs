//! No import cycle in `crates/cdat-core/src/tuners/`: every file imports (via `super::…` or
//! `crate::tuners::…` paths in code, comments aside) only files before it in the module order
//! that `tuners/mod.rs` documents, restated here as [`ORDER`]. The `mod.rs` files only declare
//! and re-export.

use std::path::{Path, PathBuf};

/// Bottom to top; `base` is `base/mod.rs` (its re-exports), after the files of `base/`.
const ORDER: &[&str] = &[
    "error",
    "tuner",
    "base/direction",
    "base/clipping",
    "base/burn_base",
    "base/gradient_descent",
    "base/erased",
    "base/config",
    "base",
    "peers",
    "collective",
    "driver",
    "guards",
    "constant",
    "schedule",
    "linesearch",
    "polyak",
    "hypergradient",
    "greedy",
    "cdat",
    "sharpness",
    "registry",
];

fn tuners_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tuners")
}

/// Every `.rs` file under `tuners/` as its module key (`cdat`, `base/erased`, `base`, ``).
fn files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![tuners_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(tuners_dir()).unwrap().with_extension("");
            let key = rel.to_string_lossy().replace('\\', "/");
            let key = key
                .trim_end_matches("/mod")
                .trim_end_matches("mod")
                .to_string();
            out.push((key, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// The modules of `tuners/` that the code (not the comments) of a file in `dir` refers to.
fn references(dir: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Inside an inline `mod name { … }`, `super::` is the file itself: the brace depth at which
    // each open inline module started.
    let (mut depth, mut inline) = (0usize, Vec::<usize>::new());
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        let trimmed = code
            .trim_start()
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ");
        if trimmed.starts_with("mod ") && trimmed.trim_end().ends_with('{') {
            inline.push(depth);
        }
        depth += code.matches('{').count();
        depth -= code.matches('}').count().min(depth);
        while inline.last().is_some_and(|&d| depth <= d) && code.contains('}') {
            inline.pop();
        }
        let in_inline = !inline.is_empty();
        for (prefix, base) in [("crate::tuners::", ""), ("super::", dir)] {
            if in_inline && prefix == "super::" {
                continue;
            }
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                rest = &rest[at + prefix.len()..];
                let segments: Vec<&str> = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap()
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .collect();
                let Some(first) = segments.first() else {
                    continue;
                };
                let mut key = if base.is_empty() {
                    first.to_string()
                } else {
                    format!("{base}/{first}")
                };
                // `base::direction::X` names the file, `base::X` the re-exports.
                if let Some(second) = segments.get(1) {
                    let nested = format!("{key}/{second}");
                    if ORDER.contains(&nested.as_str()) {
                        key = nested;
                    }
                }
                out.push(key);
            }
        }
    }
    out
}

#[test]
fn tuner_files_import_only_files_below_them() {
    let files = files();
    let mut seen = 0;
    for (key, text) in &files {
        if key.is_empty() {
            // tuners/mod.rs: declarations and re-exports only.
            for line in text
                .lines()
                .filter(|l| !l.starts_with("//") && !l.trim().is_empty())
            {
                assert!(
                    line.starts_with("pub mod ")
                        || line.starts_with("pub use ")
                        || line.starts_with("    ")
                        || line == "};",
                    "tuners/mod.rs holds code: {line}"
                );
            }
            continue;
        }
        let rank = ORDER
            .iter()
            .position(|k| k == key)
            .unwrap_or_else(|| panic!("{key} is not in the documented order"));
        seen += 1;
        let dir = key.rsplit_once('/').map_or("", |(d, _)| d);
        for r in references(dir, text) {
            let target = ORDER
                .iter()
                .position(|k| *k == r)
                .unwrap_or_else(|| panic!("{key} refers to unknown module {r}"));
            assert!(
                target < rank,
                "{key} imports {r}, which is not below it in the module order"
            );
        }
    }
    assert_eq!(seen, ORDER.len(), "a file of the order is missing");
}

#[test]
fn the_order_is_the_one_mod_rs_documents() {
    let docs = std::fs::read_to_string(tuners_dir().join("mod.rs")).unwrap();
    let mut last = 0;
    for key in ORDER.iter().filter(|k| !k.contains('/')) {
        let at = docs
            .find(&format!("[`{key}`]"))
            .unwrap_or_else(|| panic!("mod.rs does not document {key}"));
        assert!(at >= last, "mod.rs documents {key} out of order");
        last = at;
    }
    let base_docs = std::fs::read_to_string(tuners_dir().join("base/mod.rs")).unwrap();
    let line = base_docs
        .lines()
        .skip_while(|l| !l.contains("Module order"))
        .take(2)
        .collect::<String>();
    let mut last = 0;
    for key in ORDER.iter().filter_map(|k| k.strip_prefix("base/")) {
        let at = line
            .find(&format!("`{key}`"))
            .unwrap_or_else(|| panic!("base/mod.rs does not list {key}: {line}"));
        assert!(at >= last, "base/mod.rs lists {key} out of order");
        last = at;
    }
}
