//! No file of the broker imports from a file that imports it, directly or around a longer loop.
//!
//! A file's imports are the `crate::…` paths it names anywhere (in `use` lines or inline) and
//! its top-level `use super::…`, `use self::…` and `use child::…` lines, each resolved to the
//! file of the longest module prefix it names. What a module declares (`mod x;`) is not an
//! import, and neither is a `use super::…` indented inside an inline module (a test module
//! importing its own file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every `.rs` file under `dir`, by the module path it defines.
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>, root: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut sub = prefix.clone();
            sub.push(name);
            modules(&path, &sub, out, root);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.clone();
            if !matches!(name.as_str(), "mod" | "lib" | "main") {
                module.push(name);
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            out.insert(module, rel);
        }
    }
}

/// The paths of a use tree (`a::{b, c::{d, e}}`), each prefixed by `base`.
fn expand(base: &Module, tree: &str) -> Vec<Module> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let mut path = base.clone();
        path.extend(
            tree.split("::")
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                .filter(|s| !s.is_empty() && s != "self" && s != "*"),
        );
        return vec![path];
    };
    let mut head = base.clone();
    head.extend(
        tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let (mut depth, mut start, mut paths) = (0, 0, Vec::new());
    for (i, ch) in inner.char_indices().chain([(inner.len(), ',')]) {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                if !inner[start..i].trim().is_empty() {
                    paths.extend(expand(&head, &inner[start..i]));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    paths
}

/// The files `file` (the source of `module`) imports from, as paths relative to `src/`.
fn imports(module: &Module, file: &str, files: &BTreeMap<Module, String>) -> BTreeSet<String> {
    let text: String = file
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("use ") {
        let line = &rest[rest[..at].rfind('\n').map_or(0, |i| i + 1)..at];
        let top_level = !line.starts_with(char::is_whitespace)
            && matches!(line.trim(), "" | "pub" | "pub(crate)" | "pub(super)");
        let word_start = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
        let tree = rest[at + 4..end].trim();
        let (first, after) = tree.split_once("::").unwrap_or((tree, ""));
        let base: Option<Module> = match first.trim() {
            _ if !word_start => None,
            "crate" => Some(Vec::new()),
            "super" if top_level => Some(module[..module.len().saturating_sub(1)].to_vec()),
            "self" if top_level => Some(module.clone()),
            child
                if top_level
                    && files.contains_key(&[&module[..], &[child.to_string()]].concat()) =>
            {
                Some([&module[..], &[child.to_string()]].concat())
            }
            _ => None,
        };
        match base {
            Some(base) => {
                paths.extend(expand(&base, after));
                rest = &rest[(end + 1).min(rest.len())..];
            }
            None => rest = &rest[at + 4..],
        }
    }
    for (at, _) in text.match_indices("crate::") {
        let mut path = Module::new();
        let mut tail = &text[at + "crate::".len()..];
        loop {
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if len == 0 {
                break;
            }
            path.push(tail[..len].to_string());
            match tail[len..].strip_prefix("::") {
                Some(next) => tail = next,
                None => break,
            }
        }
        paths.push(path);
    }
    paths
        .into_iter()
        .filter_map(|p| (0..=p.len()).rev().find_map(|n| files.get(&p[..n])))
        .cloned()
        .collect()
}

#[test]
fn no_file_imports_from_a_file_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    modules(&root, &Vec::new(), &mut files, &root);
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|(module, file)| {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let mut to = imports(module, &text, &files);
            to.remove(file);
            (file.clone(), to)
        })
        .collect();
    assert!(graph.len() > 40 && graph["codec.rs"].contains("kafka_apis.rs"));
    // Depth-first search; a file met again while still on the stack closes a loop.
    fn visit<'a>(
        file: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = stack.iter().position(|f| *f == file) {
            return Some([&stack[i..], &[file]].concat());
        }
        if !done.insert(file) {
            return None;
        }
        stack.push(file);
        for next in &graph[file] {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        if let Some(cycle) = visit(file, &graph, &mut Vec::new(), &mut done) {
            panic!("import loop: {}", cycle.join(" -> "));
        }
    }
}
