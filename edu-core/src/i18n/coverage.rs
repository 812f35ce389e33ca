//! Every message the code can show a person has its translations: the sources of edu-core and
//! edu-http are read for the places messages are written, and each one's template must be in
//! the catalog. A failure lists what is missing, ready to paste into `catalog.rs`.

use std::path::{Path, PathBuf};

use super::{CATALOG, Lang, has_template};

/// Where a message for people starts in the source: after one of these, an optional `format!(`
/// and a string literal. A message built some other way (from a variable) is not seen here; its
/// parts are.
const MARKERS: &[&str] = &[
    "Error::Unauthorized(",
    "Error::Forbidden(",
    "Error::NotFound(",
    "Error::Validation(",
    "Error::BadRequest(",
    "Error::Conflict(",
    "Error::UnsupportedMedia(",
    "FileError::Rejected(",
    "ApiError::MalformedBody(",
    "#[error(",
    "Err(",
    "problems.push(",
    "let message = ",
    "detail: ",
    "message: ",
    "detail(",
    "Detail::new(",
    "=> format!(",
    ": &str = ",
];

/// Calls whose second argument is the text: an error body's detail, a text rule's field name.
const SECOND_ARG: &[&str] = &[
    "body(",
    "text::line(",
    "text::optional_line(",
    "text::optional_block(",
    "text(",
];

/// Marker + literal pairs whose text is spliced into a template elsewhere.
const WRAPPERS: &[(&str, &str)] = &[("not_found(", "{} not found")];

/// Texts that never reach a person: logged, or only seen by operators on the command line.
const NOT_SHOWN: &[&str] = &[
    "{}",
    "conflict on {}",
    "internal error",
    "file storage failed: {}",
    "the file store is not configured correctly: {}",
    "could not write the spreadsheet: {}",
    "/files/download/",
    // Metric names, read by Prometheus.
    "edu_http_requests_total",
    "edu_http_request_duration_seconds",
    "edu_http_requests_in_flight",
    // `EDU_FILES_URL` problems, reported at start.
    "{} is not a URL; use file:///absolute/dir or s3://bucket[/prefix]",
    "{}: a file URL needs an absolute path (file:///srv/edu/files)",
    "{}: the prefix may not contain . or .. segments",
    "{}: the scheme {} is not supported; use file:///absolute/dir or s3://bucket[/prefix]",
    "{}: this build has no S3 support (build edu-core with the `s3` feature)",
    "{}: the bucket name must be 3-63 lower-case letters, digits, dots and hyphens",
];

/// Files whose texts are for operators (configuration, command line), not for people using edu.
const SKIP_FILES: &[&str] = &["config.rs", "coverage.rs", "catalog.rs"];

fn sources() -> Vec<PathBuf> {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("../edu-http/src");
    let mut files = Vec::new();
    for dir in [
        core.join("platform"),
        core.join("domain"),
        core.join("auth"),
        core.join("import"),
    ] {
        walk(&dir, &mut files);
    }
    for f in ["error.rs", "files/mod.rs", "files/sniff.rs"] {
        files.push(core.join(f));
    }
    walk(&http, &mut files);
    files.retain(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !SKIP_FILES.contains(&n))
    });
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without its unit tests (by convention at the end, after `#[cfg(test)]`).
fn without_tests(source: &str) -> &str {
    source.find("\n#[cfg(test)]").map_or(source, |at| &source[..at])
}

/// The string literal at the start of `s` (after blanks and an optional `format!(`), unescaped.
fn literal(s: &str) -> Option<String> {
    let s = s.trim_start();
    let s = s.strip_prefix("format!(").map_or(s, str::trim_start);
    let mut chars = s.strip_prefix('"')?.chars().peekable();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                // A continued line: the next line's leading blanks are not part of the text.
                '\n' => while chars.next_if(|c| c.is_whitespace()).is_some() {},
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A format string as a catalog template: each `{…}` becomes `{}`, `{{`/`}}` literal braces.
fn template(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push_str("{}");
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out
}

/// Every message template written in the sources, with where it was found.
fn written_messages() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for file in sources() {
        let Ok(source) = std::fs::read_to_string(&file) else {
            continue;
        };
        let source = without_tests(&source);
        let name = file.display().to_string();
        let mut scan = |marker: &str, wrap: &str| {
            for (at, _) in source.match_indices(marker) {
                if let Some(text) = literal(&source[at + marker.len()..]) {
                    let line = source[..at].lines().count();
                    found.push((wrap.replace("{}", &template(&text)), format!("{name}:{line}")));
                }
            }
        };
        for marker in MARKERS {
            scan(marker, "{}");
        }
        for (marker, wrap) in WRAPPERS {
            scan(marker, wrap);
        }
        for marker in SECOND_ARG {
            for (at, _) in source.match_indices(marker) {
                let args = &source[at + marker.len()..];
                let Some(comma) = args.find(',') else { continue };
                if args[..comma].contains([')', '"']) {
                    continue;
                }
                if let Some(text) = literal(&args[comma + 1..]) {
                    let line = source[..at].lines().count();
                    found.push((template(&text), format!("{name}:{line}")));
                }
            }
        }
    }
    found.retain(|(t, _)| !NOT_SHOWN.contains(&t.as_str()) && t.chars().any(char::is_alphabetic));
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

#[test]
fn every_message_has_a_translation() {
    let written = written_messages();
    assert!(written.len() > 100, "the scan found only {} messages", written.len());
    let missing: Vec<String> = written
        .iter()
        .filter(|(t, _)| !has_template(t))
        .map(|(t, at)| format!("    {t:?} => \"<Russian>\", \"<Kazakh>\"; // {at}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} message(s) have no entry in edu-core/src/i18n/catalog.rs:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Placeholders of a translation: `{n}`, `{n:tr}`, `{n:size}`, `{n:plural:…}`.
fn placeholders(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let spec = &after[..close];
        let (index, how) = spec.split_once(':').unwrap_or((spec, ""));
        out.push((index.parse().unwrap_or(usize::MAX), how.to_owned()));
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out
}

#[test]
fn catalog_entries_are_complete_and_well_formed() {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in CATALOG {
        if !seen.insert(e.en) {
            problems.push(format!("{:?} is in the catalog twice", e.en));
        }
        let args = e.en.matches("{}").count();
        if e.en.replace("{}", "").contains(['{', '}']) {
            problems.push(format!("{:?}: only {{}} may stand for a particular in English", e.en));
        }
        for (lang, text) in [(Lang::Ru, e.ru), (Lang::Kk, e.kk)] {
            if text.trim().is_empty() {
                problems.push(format!("{:?} has no {lang} text", e.en));
                continue;
            }
            if !text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
                problems.push(format!("{:?}: the {lang} text is not in Cyrillic: {text:?}", e.en));
            }
            for (i, how) in placeholders(text) {
                let known = how.is_empty() || how == "tr" || how == "size" || how.starts_with("plural:");
                if i >= args || !known {
                    problems.push(format!("{:?}: bad placeholder {{{i}:{how}}} in {lang}: {text:?}", e.en));
                }
            }
            let used: std::collections::HashSet<usize> = placeholders(text).into_iter().map(|(i, _)| i).collect();
            if used.len() != args {
                problems.push(format!("{:?}: the {lang} text drops a particular: {text:?}", e.en));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn kazakh_is_not_russian() {
    // Letters only Kazakh has; a Kazakh text without any is most likely Russian left in place.
    let kazakh = [
        'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'І',
    ];
    let suspicious: Vec<&str> = CATALOG
        .iter()
        .filter(|e| e.kk.split_whitespace().count() > 3 && (!e.kk.contains(kazakh) || e.kk == e.ru))
        .map(|e| e.en)
        .collect();
    assert!(suspicious.is_empty(), "Kazakh texts that look Russian: {suspicious:#?}");
}
