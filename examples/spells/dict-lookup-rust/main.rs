//! dict-lookup-rust: reads {"word": "..."} on stdin, looks it up in resources/dictionary.tsv
//! (read-only, granted by `fs_read: [resources/]`) and prints {"word": ..., "definition": ...}.
//! Standard library only, so it builds with Debian's rustc and no crates.

use std::fs;
use std::io::{self, Read, Write};
use std::process::ExitCode;

fn fail(why: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "dict-lookup: {why}");
    ExitCode::from(2)
}

/// The value of a top-level string field, without escapes (the schema allows only letters and '-').
fn string_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\"");
    let rest = &json[json.find(&key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() -> ExitCode {
    let mut input = String::new();
    if io::stdin().read_to_string(&mut input).is_err() {
        return fail("stdin is not UTF-8");
    }
    let word = match string_field(&input, "word") {
        Some(w) => w.to_lowercase(),
        None => return fail("input has no \"word\" string"),
    };
    let dictionary = match fs::read_to_string("/resources/dictionary.tsv") {
        Ok(text) => text,
        Err(err) => return fail(&format!("cannot read the dictionary: {err}")),
    };
    let definition = dictionary
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .find(|(w, _)| *w == word)
        .map(|(_, d)| quote(d))
        .unwrap_or_else(|| "null".to_string());
    println!("{{\"word\":{},\"definition\":{}}}", quote(&word), definition);
    ExitCode::SUCCESS
}
