//! The source layout of cdat-train (issue 12): imports point one way and files stay small.
//!
//! What is checked, on every `src/**/*.rs` except `main.rs` (the binary, a separate crate):
//!
//! - **Size**: no file has more than [`MAX_LINES`] lines.
//! - **Module graph**: each file is a module (`a/b.rs` and `a/b/mod.rs` are `crate::a::b`,
//!   `lib.rs` is `crate`). Its dependencies are the paths it names, outside comments: `use`
//!   trees (groups expanded, `pub use` included), and `crate::…`, `super::…` and `self::…`
//!   paths in code. A path resolves to the longest module prefix that is a file (`crate::run::
//!   config::RunConfig` → `run/config.rs`; `crate::run::X` with `X` an item of `run/mod.rs` →
//!   `run/mod.rs`). `super::` inside an inline module (`mod tests { use super::*; }`, a `mod`
//!   block opened at column 0 and closed by a `}` at column 0) means the file itself; a file
//!   depending on itself is not an edge. Declaring a child (`mod x;`) is not an edge.
//! - **No cycle between files**: the graph of files has no cycle (so a `mod.rs` that calls
//!   its children holds nothing they import).
//! - **No cycle between siblings**: for every folder, and for the crate root, collapsing each
//!   file to the child of that folder it lies in (the folder's own `mod.rs`/`lib.rs` is a child
//!   of its own) leaves a graph without cycles. At the root these children are the layers
//!   (`cli`, `experiments`, `run`, `plot`).
//! - **Direction**: the lower layers name no higher one: `plot` names no other module, `run`
//!   names only `plot`, `cli` names only `run`.
//!
//! On the tree before issue 12 this test fails: `cli` ↔ `sweep`/`reproduce`/`simulate` and
//! `reproduce` ↔ `report` were cycles, and `report.rs` had 1,131 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file allowed, in lines.
const MAX_LINES: usize = 500;

/// A module path below `crate` (empty: the crate root).
type Module = Vec<String>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable src folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module a file defines.
fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// The source files (relative path → text), `main.rs` left out.
fn sources() -> BTreeMap<PathBuf, String> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable source");
            (p.strip_prefix(&src).expect("under src").to_path_buf(), text)
        })
        .filter(|(rel, _)| rel != Path::new("main.rs"))
        .collect()
}

/// The text without `//` comments (doc comments included) and the contents of string literals
/// (plain and raw, over several lines too), line by line, with whether each line lies inside an
/// inline `mod … {` block.
fn code_lines(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut inline = false;
    // Inside a string: `None` for a plain one, `Some(n)` for a raw one closed by `"` + n `#`.
    let mut string: Option<Option<usize>> = None;
    for line in text.lines() {
        if string.is_none() {
            if line.starts_with("mod ") || line.starts_with("pub mod ") {
                inline |= line.trim_end().ends_with('{');
            } else if line == "}" {
                inline = false;
            }
        }
        let chars: Vec<char> = line.chars().collect();
        let mut code = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match string {
                Some(None) => match c {
                    '\\' => i += 1,
                    '"' => string = None,
                    _ => {}
                },
                Some(Some(n)) => {
                    if c == '"' && chars[i + 1..].iter().take(n).filter(|h| **h == '#').count() == n
                    {
                        string = None;
                        i += n;
                    }
                }
                None => match c {
                    '/' if chars.get(i + 1) == Some(&'/') => break,
                    // The character literal '"' opens no string.
                    '\'' if chars.get(i + 1) == Some(&'"') => i += 2,
                    '"' => string = Some(None),
                    'r' if !chars[..i]
                        .last()
                        .is_some_and(|p| p.is_alphanumeric() || *p == '_') =>
                    {
                        let hashes = chars[i + 1..].iter().take_while(|h| **h == '#').count();
                        if chars.get(i + 1 + hashes) == Some(&'"') {
                            string = Some(Some(hashes));
                            i += 1 + hashes;
                        } else {
                            code.push(c);
                        }
                    }
                    _ => code.push(c),
                },
            }
            i += 1;
        }
        out.push((code, inline));
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d as e}}`) into its paths (`a::b`, `a::c::d`).
fn expand_use(tree: &str) -> Vec<String> {
    fn go(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head: String = tree[..open].split_whitespace().collect();
            let inner = &tree[open + 1..tree.rfind('}').expect("balanced use tree")];
            let mut depth = 0;
            let mut start = 0;
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            for p in parts.into_iter().filter(|p| !p.trim().is_empty()) {
                go(&format!("{prefix}{head}"), p, out);
            }
        } else if let Some(path) = tree.split_whitespace().next() {
            out.push(format!("{prefix}{path}"));
        }
    }
    let mut out = Vec::new();
    go("", tree, &mut out);
    out
}

/// Every path that starts with `crate`, `super` or `self`, from `use` items and from code.
fn named_paths(lines: &[(String, bool)]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut pending: Option<(String, bool)> = None;
    for (code, inline) in lines {
        let trimmed = code.trim();
        if let Some((acc, inl)) = pending.as_mut() {
            acc.push(' ');
            acc.push_str(trimmed);
            if trimmed.ends_with(';') {
                let tree = acc.trim_end_matches(';').to_string();
                let inl = *inl;
                pending = None;
                out.extend(expand_use(&tree).into_iter().map(|p| (p, inl)));
            }
            continue;
        }
        let rest = trimmed
            .strip_prefix("pub(crate) use ")
            .or_else(|| trimmed.strip_prefix("pub use "))
            .or_else(|| trimmed.strip_prefix("use "));
        if let Some(rest) = rest {
            if rest.ends_with(';') {
                out.extend(
                    expand_use(rest.trim_end_matches(';'))
                        .into_iter()
                        .map(|p| (p, *inline)),
                );
            } else {
                pending = Some((rest.to_string(), *inline));
            }
            continue;
        }
        // Paths in code: `crate::a::b`, `super::x`, `self::y`.
        for root in ["crate::", "super::", "self::"] {
            let mut from = 0;
            while let Some(i) = trimmed[from..].find(root) {
                let at = from + i;
                let before = trimmed[..at].chars().last();
                from = at + root.len();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let end = trimmed[at..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(trimmed.len(), |e| at + e);
                out.push((trimmed[at..end].trim_end_matches(':').to_string(), *inline));
            }
        }
    }
    out
}

/// The module a path names, from the file of module `me`: the longest prefix that is a file.
fn resolve(path: &str, me: &Module, inline: bool, modules: &BTreeSet<Module>) -> Option<Module> {
    let mut segs = path.split("::");
    let mut abs: Module = match segs.next()? {
        "crate" => Vec::new(),
        "self" => me.clone(),
        "super" if inline => me.clone(),
        "super" => me[..me.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    for s in segs {
        match s {
            "super" => {
                abs.pop();
            }
            "*" | "" | "self" => {}
            s => abs.push(s.to_string()),
        }
    }
    (0..=abs.len())
        .rev()
        .map(|n| abs[..n].to_vec())
        .find(|m| modules.contains(m))
}

/// The dependency graph between modules (each a file).
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let files = sources();
    let modules: BTreeSet<Module> = files.keys().map(|p| module_of(p)).collect();
    let mut g = BTreeMap::new();
    for (rel, text) in &files {
        let me = module_of(rel);
        let deps: BTreeSet<Module> = named_paths(&code_lines(text))
            .iter()
            .filter_map(|(p, inline)| resolve(p, &me, *inline, &modules))
            .filter(|m| *m != me)
            .collect();
        g.insert(me, deps);
    }
    g
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// A cycle of `g`, if it has one.
fn find_cycle<N: Ord + Clone>(g: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        n: &N,
        g: &BTreeMap<N, BTreeSet<N>>,
        state: &mut BTreeMap<N, u8>,
        stack: &mut Vec<N>,
    ) -> Option<Vec<N>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let i = stack.iter().position(|x| x == n).expect("on the stack");
                let mut c = stack[i..].to_vec();
                c.push(n.clone());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut state, &mut Vec::new()))
}

#[test]
fn no_source_file_is_longer_than_500_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(_, t)| t.lines().count() > MAX_LINES)
        .map(|(p, t)| format!("{} ({} lines)", p.display(), t.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn no_import_cycle_between_files() {
    let g = graph();
    if let Some(c) = find_cycle(&g) {
        let names: Vec<String> = c.iter().map(|m| name(m)).collect();
        panic!("import cycle between files: {}", names.join(" → "));
    }
}

#[test]
fn no_import_cycle_between_siblings_of_any_folder() {
    let g = graph();
    let folders: BTreeSet<Module> = g
        .keys()
        .flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec()))
        .collect();
    for folder in folders {
        // The child of `folder` that module `m` lies in (`None`: outside the folder); the
        // folder's own file is the child "".
        let child = |m: &Module| -> Option<String> {
            m.starts_with(&folder)
                .then(|| m.get(folder.len()).cloned().unwrap_or_default())
        };
        let mut collapsed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, deps) in &g {
            let Some(from) = child(m) else { continue };
            let entry = collapsed.entry(from.clone()).or_default();
            entry.extend(deps.iter().filter_map(&child).filter(|to| *to != from));
        }
        if let Some(c) = find_cycle(&collapsed) {
            panic!(
                "import cycle between the children of `{}`: {}",
                name(&folder),
                c.join(" → ")
            );
        }
    }
}

#[test]
fn lower_layers_name_no_higher_one() {
    let g = graph();
    let allowed: BTreeMap<&str, &[&str]> = [
        ("plot", &[][..]),
        ("run", &["plot"][..]),
        ("cli", &["run"][..]),
    ]
    .into_iter()
    .collect();
    let mut wrong = Vec::new();
    for (m, deps) in &g {
        let Some(layer) = m.first() else { continue };
        let Some(ok) = allowed.get(layer.as_str()) else {
            continue;
        };
        for d in deps {
            let to = d.first().map_or("crate", String::as_str);
            if to != layer && !ok.contains(&to) {
                wrong.push(format!("{} → {}", name(m), name(d)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports pointing upward: {wrong:?}");
}

/// The checks above see the imports they are meant to see.
#[test]
fn the_parser_finds_use_trees_paths_and_super() {
    let text = "//! Doc naming crate::doc::Thing.\nuse crate::a::{b::C, d};\nuse super::e;\nfn f() { crate::g::h(); let s = \"crate::in_string\"; }\nconst T: &str = \"two\\nuse crate::in_string;\";\nconst R: &str = r#\"crate::raw\"#;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
    let paths: Vec<(String, bool)> = named_paths(&code_lines(text));
    let plain: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        plain,
        [
            "crate::a::b::C",
            "crate::a::d",
            "super::e",
            "crate::g::h",
            "super::*"
        ]
    );
    assert!(
        paths[4].1,
        "`use super::*` inside `mod tests` is the file itself"
    );
    let modules: BTreeSet<Module> = [vec![], vec!["x".into()], vec!["x".into(), "y".into()]]
        .into_iter()
        .collect();
    let me: Module = vec!["x".into(), "y".into()];
    assert_eq!(
        resolve("super::Z", &me, false, &modules),
        Some(vec!["x".into()])
    );
    assert_eq!(resolve("super::*", &me, true, &modules), Some(me.clone()));
    assert_eq!(
        resolve("crate::x::y::Z", &me, false, &modules),
        Some(me.clone())
    );
    assert_eq!(resolve("crate::q", &me, false, &modules), Some(vec![]));
}
