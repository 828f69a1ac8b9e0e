//! Lists the public history-tree test vectors of `core/tests/data/history/` (transparency-dev
//! probes) for the wasm-bindgen-test suites, which embed them with `include_str!` (a test
//! running in a browser cannot read files). Generates `$OUT_DIR/history_probes.rs`; the
//! package build ignores it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let data = manifest.join("../core/tests/data/history");
    println!("cargo:rerun-if-changed={}", data.display());
    let mut code = String::new();
    for kind in ["inclusion", "consistency"] {
        let mut files = Vec::new();
        json_files(&data.join(kind), &mut files);
        files.sort();
        let _ = writeln!(
            code,
            "/// Every `{kind}` probe: (path under history/, JSON text)."
        );
        let _ = writeln!(
            code,
            "pub const {}: &[(&str, &str)] = &[",
            kind.to_uppercase()
        );
        for f in &files {
            let name = f.strip_prefix(&data).unwrap_or(f).display().to_string();
            let _ = writeln!(
                code,
                "    ({name:?}, include_str!({:?})),",
                f.display().to_string()
            );
        }
        code.push_str("];\n");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("history_probes.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
