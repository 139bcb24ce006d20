//! What the repository says of itself.

use std::path::{Path, PathBuf};

/// Every file git would track under `dir`, skipping build output and VCS data.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Code and docs cite the project's own documents: no section of a design
/// document that is not here, no path outside the repository. The released
/// migrations are the exception migrations/README.md explains (they may
/// never change).
#[test]
fn the_repository_cites_only_its_own_documents() {
    let cited = ["DESIGN", " §"].concat();
    let outside = ["..", "/shared"].concat();
    let mut all = Vec::new();
    files(&root(), &mut all);
    let mut found = Vec::new();
    for path in &all {
        let rel = path.strip_prefix(root()).unwrap();
        if rel.starts_with("migrations") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // not text
        };
        for (n, line) in text.lines().enumerate() {
            if line.contains(&cited) || line.contains(&outside) {
                found.push(format!("{}:{}: {line}", rel.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Only the store asks which database it talks to (README, "Architecture").
#[test]
fn nothing_outside_the_store_matches_on_the_backend() {
    let mut all = Vec::new();
    files(&root().join("src"), &mut all);
    let store = root().join("src/core/store");
    let mut found = Vec::new();
    for path in all.iter().filter(|p| !p.starts_with(&store)) {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("Backend::") {
                found.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
